package io.sluice.docs;

import io.sluice.api.ErrorCode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites the README's error tables from {@link ErrorCode} (after {@code mvn test-compile}):
 * {@code java -cp target/classes:target/test-classes io.sluice.docs.RegenerateErrorTables}. The tables are the
 * README's blocks headed {@code | Status | Code | When |}, in the order of {@link ErrorCode.Table}.
 */
public final class RegenerateErrorTables {

    static final String HEADER = "| Status | Code | When |";

    private RegenerateErrorTables() {
    }

    public static void main(String[] args) throws IOException {
        Path readme = Path.of("README.md");
        Files.writeString(readme, regenerate(Files.readAllLines(readme)));
    }

    static String regenerate(List<String> lines) {
        ErrorCode.Table[] tables = ErrorCode.Table.values();
        List<String> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).equals(HEADER)) {
                out.add(lines.get(i));
                continue;
            }
            if (next == tables.length) {
                throw new IllegalStateException("the README has more error tables than ErrorCode.Table");
            }
            while (i + 1 < lines.size() && lines.get(i + 1).startsWith("|")) {
                i++;
            }
            out.addAll(ErrorCode.referenceTable(tables[next++]).lines().toList());
        }
        if (next != tables.length) {
            throw new IllegalStateException("the README has " + next + " error tables, ErrorCode.Table " + tables.length);
        }
        return String.join("\n", out) + "\n";
    }
}
