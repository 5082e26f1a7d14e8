package io.sluice.processors.spreadsheet;

import io.sluice.api.ApiException;
import io.sluice.processors.Processor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.sluice.processors.spreadsheet.SpreadsheetXlsxTest.code;
import static io.sluice.processors.spreadsheet.SpreadsheetXlsxTest.rowProgress;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The csv path: separators, byte-order marks, strings with inferred column types, precheck, guards. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpreadsheetCsvTest {

    static final byte[] UTF8_BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    @TempDir
    static Path dir;

    @Test
    void semicolonSeparatedWithABomIsSniffedAndReadAsStrings() throws Exception {
        StringBuilder csv = new StringBuilder("sku;name;stock;unit_cost;active;since;note\r\n");
        for (int i = 1; i <= 3_000; i++) {
            csv.append("SKU-").append(i).append(";\"Näme; with \"\"quotes\"\"\";").append(i % 50).append(';')
                    .append(i % 3 == 0 ? "" : "1.5").append(';').append(i % 2 == 0).append(";2024-01-0")
                    .append(1 + i % 9).append(';').append(i % 100 == 0 ? "extra;cells" : "").append("\r\n");
        }
        Path file = write("semi.csv", UTF8_BOM, csv.toString());

        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of("requiredColumns", List.of("SKU", "stock"))), dir, file,
                "semi.csv", "text/csv");
        Map<String, Object> s = run.summary();
        assertThat(s).containsEntry("format", "csv").containsEntry("separator", ";").containsEntry("encoding", "UTF-8")
                .containsEntry("rows", 3_000L);
        assertThat(s.get("columns")).isEqualTo(List.of("sku", "name", "stock", "unit_cost", "active", "since", "note"));
        assertThat(s.get("types")).isEqualTo(Map.of("sku", "string", "name", "string", "stock", "integer",
                "unit_cost", "number", "active", "boolean", "since", "date", "note", "string"));
        assertThat(((Map<?, ?>) s.get("emptyCells")).get("unit_cost")).isEqualTo(1_000L);
        // "extra;cells" in the note column: one extra value beyond the header, on 30 rows.
        assertThat(s).containsEntry("errorCount", 30L);

        assertThat(run.lines()).hasSize(3_000);
        var first = run.lines().getFirst();
        assertThat(first.get("sku").asText()).isEqualTo("SKU-1"); // the BOM is not part of the first name
        assertThat(first.get("name").asText()).isEqualTo("Näme; with \"quotes\"");
        assertThat(first.get("stock").isTextual()).isTrue(); // csv values stay strings
        assertThat(first.get("stock").asText()).isEqualTo("1");
        assertThat(first.get("note").isNull()).isTrue();

        List<Integer> progress = rowProgress(run);
        assertThat(progress).isSortedAccordingTo(Integer::compare);
        assertThat(run.progress().getLast()).isEqualTo(100);
    }

    @Test
    void tabsAndUtf16AndAConfiguredSeparatorAndEncoding() throws Exception {
        byte[] utf16 = "id\tcity\n1\tZürich\n".getBytes(StandardCharsets.UTF_16LE);
        Path tab = write("tab.csv", new byte[]{(byte) 0xFF, (byte) 0xFE}, "");
        Files.write(tab, utf16, java.nio.file.StandardOpenOption.APPEND);
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of()), dir, tab, "tab.csv", "text/csv");
        assertThat(run.summary()).containsEntry("separator", "\t").containsEntry("encoding", "UTF-16LE");
        assertThat(run.lines().getFirst().get("city").asText()).isEqualTo("Zürich");

        Path latin = dir.resolve("latin.csv");
        Files.write(latin, "id|city\n1|Zürich\n".getBytes(StandardCharsets.ISO_8859_1));
        Sheets.Outcome l = Sheets.run(Sheets.task(Map.of("csvSeparator", "|", "encoding", "ISO-8859-1")), dir, latin,
                "latin.csv", "text/plain");
        assertThat(l.lines().getFirst().get("city").asText()).isEqualTo("Zürich");
    }

    @Test
    void precheckRefusesMissingColumnsAndReadsOnlyTheStartOfTheFile() throws Exception {
        // A header and a few rows, then 8 GiB that are never written (a sparse file) and would be garbage to a
        // parser: a precheck that read on would take minutes, or fail on the unclosed quote below.
        Path file = write("huge.csv", new byte[0], "sku,name,stock\nA,\"unclosed,1\nB,b,2\n");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(64 * 1024);
            raf.write("\"garbage\u0000".getBytes(StandardCharsets.UTF_8));
            raf.setLength(8L << 30);
        }
        Sheets.task(Map.of("requiredColumns", List.of("SKU", "Stock"))).precheck(file, "text/csv");

        Processor.Task task = Sheets.task(Map.of("requiredColumns", List.of("sku", "price")));
        ApiException e = catchThrowableOfType(ApiException.class, () -> task.precheck(file, "text/csv"));
        assertThat(e.status()).isEqualTo(422);
        assertThat(e.code()).isEqualTo("missing_columns");
        assertThat(e.details()).containsEntry("missing", List.of("price"))
                .containsEntry("found", List.of("sku", "name", "stock"));
        Files.delete(file);
    }

    @Test
    void maxRowsMaxColumnsAndMalformedCsvFail() throws Exception {
        StringBuilder csv = new StringBuilder("a,b\n");
        for (int i = 0; i < 50; i++) {
            csv.append(i).append(",x\n");
        }
        Path file = write("rows.csv", new byte[0], csv.toString());
        Sheets.Outcome rows = Sheets.run(Sheets.task(Map.of("maxRows", 49)), dir, file, "rows.csv", "text/csv");
        assertThat(code(rows.failure())).isEqualTo("too_many_rows");
        assertThat(rows.failure().getMessage()).contains("49", "maxRows");

        Path wide = write("wide.csv", new byte[0], "a,b,c\n1,2,3,4,5,6\n");
        Sheets.Outcome cols = Sheets.run(Sheets.task(Map.of("maxColumns", 5)), dir, wide, "wide.csv", "text/csv");
        assertThat(code(cols.failure())).isEqualTo("too_many_columns");
        assertThat(cols.failure().getMessage()).contains("row 2", "maxColumns");
        ApiException e = catchThrowableOfType(ApiException.class,
                () -> Sheets.task(Map.of("maxColumns", 2)).precheck(wide, "text/csv"));
        assertThat(e.code()).isEqualTo("too_many_columns");

        Path unclosed = write("unclosed.csv", new byte[0], "a,b\n1,\"never closed\n2,3\n");
        Sheets.Outcome bad = Sheets.run(Sheets.task(Map.of()), dir, unclosed, "u.csv", "text/csv");
        assertThat(code(bad.failure())).isEqualTo("malformed_file");

        Path empty = write("empty.csv", new byte[0], "\n\n");
        assertThat(code(Sheets.run(Sheets.task(Map.of()), dir, empty, "e.csv", "text/csv").failure()))
                .isEqualTo("no_header");

        // Random bytes: whatever they decode to, the run ends with rows or a refusal, never an unexpected error.
        byte[] noise = new byte[200_000];
        new Random(7).nextBytes(noise);
        Path random = dir.resolve("random.csv");
        Files.write(random, noise);
        Sheets.Outcome r = Sheets.run(Sheets.task(Map.of()), dir, random, "random.csv", "text/csv");
        if (r.failure() != null) {
            assertThat(code(r.failure())).isIn("malformed_file", "too_many_columns", "too_large");
        }
    }

    @Test
    void aCheckpointThatThrowsStopsTheRun() throws Exception {
        StringBuilder csv = new StringBuilder("n\n");
        for (int i = 0; i < 10_000; i++) {
            csv.append(i).append('\n');
        }
        Path file = write("n.csv", new byte[0], csv.toString());
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException stop = new IllegalStateException("lease lost");
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of()), dir, file, "n.csv", "text/csv", () -> {
            if (calls.incrementAndGet() == 3) {
                throw stop;
            }
        });
        assertThat(run.failure()).isSameAs(stop);
        assertThat(run.lines().size()).isLessThan(10_000);
    }

    private static Path write(String name, byte[] prefix, String text) throws Exception {
        Path file = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(prefix);
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }
}
