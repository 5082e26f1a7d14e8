package io.sluice.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every JSON error code the server can answer is documented: each code written in the main sources (an
 * {@code ApiException} or an admission {@code Rejection}) has a row in one of the README's error tables, and the
 * OpenAPI document's {@code Error.code} enum lists exactly the codes of those tables.
 */
class ErrorCodesDocTest {

    private static final Pattern IN_SOURCE = Pattern.compile(
            "(?:ApiException\\(\\d{3}, |ApiException\\.[a-zA-Z]+\\(|Rejection\\(\\d{3}, |reject\\(\\d{3}, )\"([a-z][a-z_]*[a-z])\"");
    private static final Pattern TABLE_ROW = Pattern.compile("^\\| (\\d{3}(?: / \\d{3})*) \\| ([^|]+) \\|");
    private static final Pattern CODE = Pattern.compile("`([a-z][a-z_]*[a-z])`");

    @Test
    void everyCodeInTheSourcesIsInTheReadmeAndTheOpenApiEnumIsTheReadmes() throws IOException {
        Set<String> inSource = new TreeSet<>();
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = IN_SOURCE.matcher(Files.readString(f));
                while (m.find()) {
                    inSource.add(m.group(1));
                }
            }
        }
        Set<String> documented = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of("README.md"))) {
            Matcher row = TABLE_ROW.matcher(line);
            if (row.find()) {
                Matcher c = CODE.matcher(row.group(2));
                while (c.find()) {
                    documented.add(c.group(1));
                }
            }
        }
        assertThat(inSource).as("codes written in src/main/java").hasSizeGreaterThan(40);
        assertThat(documented).as("codes answered but missing from the README's error tables")
                .containsAll(inSource);

        JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(Path.of("docs/openapi.yaml").toFile());
        Set<String> inEnum = new TreeSet<>();
        doc.at("/components/schemas/Error/properties/error/properties/code/enum").forEach(n -> inEnum.add(n.asText()));
        assertThat(inEnum).as("docs/openapi.yaml Error.code enum against the README's error tables")
                .isEqualTo(documented);
    }
}
