package io.sluice.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The error registry ({@link ErrorCode}) is the one list of JSON error codes: the README's error tables are generated
 * from it (regenerate them with {@link RegenerateErrorTables}, don't hand-edit), the OpenAPI {@code Error.code}
 * enum equals it, and no route writes a code or its status as a literal any more.
 */
class ErrorCodesDocTest {

    /** How codes were written before the registry: a status and a code literal, or a 400 factory with a literal. */
    private static final Pattern LITERAL = Pattern.compile(
            "ApiException\\(\\s*\\d{3}\\s*,|ApiException\\.badRequest\\(|Rejection\\(\\s*\\d{3}|reject\\(\\s*\\d{3}");

    @Test
    void readmeErrorTablesAreGeneratedFromTheRegistry() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        for (ErrorCode.Table table : ErrorCode.Table.values()) {
            assertThat(readme).as("README error table %s; regenerate: java -cp target/classes:target/test-classes "
                            + "io.sluice.docs.RegenerateErrorTables", table)
                    .contains(ErrorCode.referenceTable(table));
        }
        // Every error table in the README is one of the generated ones: none is left to go stale by hand.
        assertThat(readme.split(Pattern.quote(RegenerateErrorTables.HEADER + "\n"), -1))
                .hasSize(ErrorCode.Table.values().length + 1);
        assertThat(RegenerateErrorTables.regenerate(readme.lines().toList())).isEqualTo(readme);
    }

    @Test
    void everyCodeHasOneRowAndTheProcessorsRowSitsInStatusOrder() {
        String general = ErrorCode.referenceTable(ErrorCode.Table.GENERAL);
        assertThat(general).contains("| 422 | *(the processor's)* |");
        assertThat(general.indexOf("`range_not_satisfiable`")).isLessThan(general.indexOf("| 422 |"));
        assertThat(general.indexOf("| 422 |")).isLessThan(general.indexOf("`upload_locked`"));
        String all = Arrays.stream(ErrorCode.Table.values()).map(ErrorCode::referenceTable)
                .collect(Collectors.joining());
        for (ErrorCode e : ErrorCode.values()) {
            assertThat(all.split("`" + e.code() + "`", -1)).as(e.code()).hasSize(2);
            assertThat(e.status()).as(e.code()).isBetween(400, 599);
            assertThat(e.when()).as(e.code()).isNotBlank().doesNotContain("|").doesNotContain("\n");
        }
        // Rows shared by adjacent codes keep the README compact: the four list parameters are one row.
        assertThat(general).contains("| 400 | `invalid_limit`, `invalid_cursor`, `invalid_state`, `invalid_offset` | ");
    }

    @Test
    void openApiCodeEnumEqualsTheRegistry() throws IOException {
        JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(Path.of("docs/openapi.yaml").toFile());
        Set<String> inEnum = new TreeSet<>();
        doc.at("/components/schemas/Error/properties/error/properties/code/enum").forEach(n -> inEnum.add(n.asText()));
        Set<String> registry = Arrays.stream(ErrorCode.values()).map(ErrorCode::code)
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(inEnum).as("docs/openapi.yaml Error.code enum against ErrorCode").isEqualTo(registry);
    }

    @Test
    void noSourceWritesACodeOrItsStatusAsALiteral() throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    Matcher m = LITERAL.matcher(lines.get(i));
                    if (m.find()) {
                        found.add(f + ":" + (i + 1) + ": " + lines.get(i).strip());
                    }
                }
            }
        }
        assertThat(found).as("use ErrorCode.X.error(...) instead").isEmpty();
    }

    @Test
    void aCodeKeepsItsStatusUnlessRegisteredAsVarying() {
        ApiException tooLarge = ErrorCode.FILE_TOO_LARGE.error("m", Map.of("limit", 1));
        assertThat(tooLarge.status()).isEqualTo(413);
        assertThat(tooLarge.code()).isEqualTo("file_too_large");
        assertThat(tooLarge.is(ErrorCode.FILE_TOO_LARGE)).isTrue();
        assertThat(ErrorCode.SIZE_MISMATCH.error(413, "m", Map.of()).status()).isEqualTo(413);
        assertThat(ErrorCode.HOOK_REFUSED.error(451, "m", Map.of()).status()).isEqualTo(451);
        assertThatThrownBy(() -> ErrorCode.FILE_TOO_LARGE.error(400, "m", Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
        ApiException processor = ApiException.refusedByProcessor("missing_columns", "m", Map.of());
        assertThat(processor.status()).isEqualTo(422);
        assertThat(processor.code()).isEqualTo("missing_columns");
        assertThat(Arrays.stream(ErrorCode.values()).anyMatch(processor::is)).isFalse();
    }
}
