package io.sluice.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/reliability.md names, for every fault, the test that proves it. Each named {@code Class.method} must be a test
 * method in src/test/java, and every row must name at least one or say plainly that none exists, so the table cannot
 * point at a test that was renamed or removed.
 */
class ReliabilityDocTest {

    private static final Pattern TEST = Pattern.compile("`([A-Z][A-Za-z0-9]*Test)(?:\\.([a-z][A-Za-z0-9]*))?`");

    @Test
    void everyTestTheTableNamesExists() throws IOException {
        Map<String, String> sources = new HashMap<>();
        try (Stream<Path> files = Files.walk(Path.of("src/test/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith("Test.java")).toList()) {
                sources.put(f.getFileName().toString().replace(".java", ""), Files.readString(f));
            }
        }
        List<String> problems = new ArrayList<>();
        int rows = 0;
        int named = 0;
        for (String line : Files.readAllLines(Path.of("docs/reliability.md"))) {
            if (!line.startsWith("| ") || line.startsWith("| fault |")) {
                continue;
            }
            rows++;
            String[] cells = line.split(" \\| ");
            String proof = cells[cells.length - 1];
            Matcher m = TEST.matcher(proof);
            boolean any = false;
            while (m.find()) {
                any = true;
                named++;
                String source = sources.get(m.group(1));
                if (source == null) {
                    problems.add("no test class " + m.group(1));
                } else if (m.group(2) != null && !source.contains(" " + m.group(2) + "(")) {
                    problems.add("no method " + m.group(1) + "." + m.group(2));
                }
            }
            if (!any && !proof.contains("not provoked") && !proof.contains("code path only")) {
                problems.add("a row names no test and does not say why: " + line);
            }
        }
        assertThat(rows).as("rows in docs/reliability.md").isGreaterThan(30);
        assertThat(named).isGreaterThan(rows);
        assertThat(problems).isEmpty();
    }
}
