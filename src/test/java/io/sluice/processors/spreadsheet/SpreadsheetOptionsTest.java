package io.sluice.processors.spreadsheet;

import io.sluice.processors.Processor;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Options are validated at configure time with messages naming the option; the processor is found by name. */
class SpreadsheetOptionsTest {

    @Test
    void theProcessorIsRegisteredForTheServiceLoader() {
        List<Processor> found = ServiceLoader.load(Processor.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("spreadsheet")).toList();
        assertThat(found).hasSize(1).first().isInstanceOf(SpreadsheetProcessor.class);
    }

    @Test
    void defaultsAndAcceptedForms() {
        SpreadsheetOptions d = SpreadsheetOptions.defaults();
        assertThat(d.requiredColumns()).isEmpty();
        assertThat(d.sheet()).isNull();
        assertThat(d.headerRow()).isEqualTo(1);
        assertThat(d.maxRows()).isEqualTo(1_000_000);
        assertThat(d.maxColumns()).isEqualTo(1_000);
        assertThat(d.maxUncompressedSize()).isEqualTo(1L << 30);
        assertThat(d.maxInflateRatio()).isEqualTo(100);
        assertThat(d.maxSharedStringsSize()).isEqualTo(1L << 30);
        assertThat(d.sharedStringsCacheSize()).isEqualTo(4L << 20);
        assertThat(d.csvSeparator()).isNull();
        assertThat(d.encoding()).isEqualTo(StandardCharsets.UTF_8);

        SpreadsheetOptions o = SpreadsheetOptions.parse(Map.of("requiredColumns", List.of(" sku "), "sheet", 2,
                "headerRow", "3", "maxUncompressedSize", "512MiB", "maxSharedStringsSize", 1_048_576,
                "maxInflateRatio", 250.5, "csvSeparator", "tab", "encoding", "windows-1252"));
        assertThat(o.requiredColumns()).containsExactly("sku");
        assertThat(o.sheet()).isEqualTo("2");
        assertThat(o.headerRow()).isEqualTo(3);
        assertThat(o.maxUncompressedSize()).isEqualTo(512L << 20);
        assertThat(o.maxSharedStringsSize()).isEqualTo(1L << 20);
        assertThat(o.maxInflateRatio()).isEqualTo(250.5);
        assertThat(o.csvSeparator()).isEqualTo('\t');
        assertThat(o.encoding().name()).isEqualTo("windows-1252");
        assertThat(SpreadsheetOptions.parse(Map.of("csvSeparator", "auto")).csvSeparator()).isNull();
    }

    @Test
    void badOptionsAreRefusedNamingTheOption() {
        Map<String, Object> bad = new HashMap<>();
        bad.put("requiredColumns", "sku");
        bad.put("sheet", 0);
        bad.put("headerRow", -1);
        bad.put("maxRows", "lots");
        bad.put("maxColumns", 20_000);
        bad.put("maxUncompressedSize", "12 parsecs");
        bad.put("maxInflateRatio", 0.5);
        bad.put("maxSharedStringsSize", 0);
        bad.put("csvSeparator", ";;");
        bad.put("encoding", "klingon-8");
        bad.put("colour", "blue");
        bad.forEach((key, value) -> assertThatThrownBy(() -> new SpreadsheetProcessor().configure(Map.of(key, value)))
                .as(key).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("options." + key + ":"));
        assertThatThrownBy(() -> SpreadsheetOptions.parse(Map.of("requiredColumns", List.of("a", " "))))
                .hasMessageStartingWith("options.requiredColumns:");
    }

    @Test
    void dateFormatsAreRecognised() {
        assertThat(DateFormats.kind(14, null)).isEqualTo(DateFormats.Kind.DATE);
        assertThat(DateFormats.kind(22, null)).isEqualTo(DateFormats.Kind.DATE_TIME);
        assertThat(DateFormats.kind(21, null)).isEqualTo(DateFormats.Kind.TIME);
        assertThat(DateFormats.kind(164, "yyyy-mm-dd")).isEqualTo(DateFormats.Kind.DATE);
        assertThat(DateFormats.kind(165, "dd/mm/yyyy hh:mm:ss")).isEqualTo(DateFormats.Kind.DATE_TIME);
        assertThat(DateFormats.kind(166, "[h]:mm:ss")).isEqualTo(DateFormats.Kind.TIME);
        assertThat(DateFormats.kind(167, "mmm yy;@")).isEqualTo(DateFormats.Kind.DATE);
        assertThat(DateFormats.kind(168, "[Red]#,##0.00")).isEqualTo(DateFormats.Kind.NOT_DATE);
        assertThat(DateFormats.kind(169, "0.00\" days\"")).isEqualTo(DateFormats.Kind.NOT_DATE);
        assertThat(DateFormats.kind(0, "General")).isEqualTo(DateFormats.Kind.NOT_DATE);
        assertThat(DateFormats.kind(null, null)).isEqualTo(DateFormats.Kind.NOT_DATE);
    }

    @Test
    void headerNamesAreUniqueAndRequiredColumnsIgnoreCase() {
        Header h = Header.of(java.util.Arrays.asList(" Name ", null, "name", "Name", "", null));
        assertThat(h.names()).containsExactly("Name", "column_2", "name", "Name_2");
        assertThat(h.found()).containsExactly("Name", "name", "Name");
        assertThat(h.missing(List.of("NAME", "sku"))).containsExactly("sku");
    }
}
