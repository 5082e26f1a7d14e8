package io.sluice.processors.spreadsheet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.sluice.processors.spreadsheet.Sheets.XLSX;
import static io.sluice.processors.spreadsheet.SpreadsheetXlsxTest.code;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cheap cell path (attributes and whole numbers read from the parser's characters, not Strings) reads every
 * cell as the String path did, including the values it hands back to that path; and the read-ahead thread that
 * inflates and checks a part ends with the run, however the run ends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpreadsheetCellPathTest {

    @TempDir
    Path dir;

    /** A sheet with the header {@code sku, qty} and one data row of {@code cells}. */
    private Sheets.Outcome row(String cells) throws Exception {
        Path file = Sheets.handMade(dir.resolve("s" + System.nanoTime() + ".xlsx"), w -> {
            w.write("<row r=\"1\">" + Sheets.text("A1", "sku") + Sheets.text("B1", "qty") + "</row>");
            w.write("<row r=\"2\">" + Sheets.text("A2", "X-1") + cells + "</row>");
        });
        return Sheets.run(Sheets.task(Map.of()), dir, file, "s.xlsx", XLSX);
    }

    @Test
    void attributeValuesWithSpacesAroundThemAreReadAsTheirStrings() throws Exception {
        // The typed read trims a value; the String does not. These read as the Strings always read them (the
        // expected outcomes are what the String path gave before the cheap path existed).
        Sheets.Outcome leading = row("<c r=\" B2\"><v>1</v></c>");
        assertThat(code(leading.failure())).isEqualTo("malformed_file");
        assertThat(leading.failure().getMessage()).contains("Unexpected char");
        Sheets.Outcome trailing = row("<c r=\"B2 \"><v>1</v></c>");
        assertThat(code(trailing.failure())).isEqualTo("malformed_file");
        assertThat(trailing.failure().getMessage()).contains("For input string: \"2 \"");
        Sheets.Outcome type = row("<c r=\"B2\" t=\" n\"><v>1</v></c>");
        assertThat(code(type.failure())).isEqualTo("malformed_file");
        assertThat(type.failure().getMessage()).contains("Unknown cell type :  n");
        Sheets.Outcome style = row("<c r=\"B2\" s=\"0 \"><v>1</v></c>");
        assertThat(code(style.failure())).isEqualTo("malformed_file");
        assertThat(style.failure().getMessage()).contains("For input string: \"0 \"");
        // An empty reference is column A (fastexcel's CellAddress), overwriting the sku.
        Sheets.Outcome empty = row("<c r=\"\"><v>1</v></c>");
        assertThat(empty.lines().getFirst().toString()).isEqualTo("{\"sku\":1,\"qty\":null}");
    }

    @Test
    void unusualButValidAttributesAndNumbersReadAsBefore() throws Exception {
        // A character reference in a reference, a type spelled out, a lower-case reference, an index-like style.
        Sheets.Outcome ref = row("<c r=\"&#66;2\" t=\"n\"><v>5</v></c>");
        assertThat(ref.lines().getFirst().get("qty").asLong()).isEqualTo(5);
        Sheets.Outcome lower = row("<c r=\"b2\"><v>6</v></c>");
        assertThat(lower.lines().getFirst().get("qty").asLong()).isEqualTo(6);
        // Whole numbers in every spelling the quick path takes, and ones it leaves to BigDecimal.
        Sheets.Outcome whole = row("<c r=\"B2\"><v>-0</v></c>");
        assertThat(whole.lines().getFirst().get("qty").toString()).isEqualTo("0");
        Sheets.Outcome dotZero = row("<c r=\"B2\"><v>42.000</v></c>");
        assertThat(dotZero.lines().getFirst().get("qty").toString()).isEqualTo("42");
        Sheets.Outcome big = row("<c r=\"B2\"><v>1234567890123456789</v></c>");
        assertThat(big.lines().getFirst().get("qty").toString()).isEqualTo("1234567890123456789");
        Sheets.Outcome exponent = row("<c r=\"B2\"><v>1E3</v></c>");
        assertThat(exponent.lines().getFirst().get("qty").toString()).isEqualTo("1000");
        Sheets.Outcome spaced = row("<c r=\"B2\"><v> 7</v></c>");
        assertThat(spaced.summary()).containsEntry("errorCount", 1L);
        assertThat(spaced.lines().getFirst().get("qty").asText()).isEqualTo(" 7");
        Sheets.Outcome split = row("<c r=\"B2\"><v>1<![CDATA[2]]>3</v></c>");
        assertThat(split.lines().getFirst().get("qty").asLong()).isEqualTo(123);
    }

    @Test
    void numbersInTheHeaderRowKeepTheirTextAndLaterOnesTheirValue() throws Exception {
        Path file = Sheets.handMade(dir.resolve("h.xlsx"), w -> {
            w.write("<row r=\"1\">" + Sheets.text("A1", "sku") + Sheets.number("B1", "42.000") + "</row>");
            w.write("<row r=\"2\">" + Sheets.text("A2", "X-1") + Sheets.number("B2", "7.0") + "</row>");
        });
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of()), dir, file, "h.xlsx", XLSX);
        assertThat(run.summary().get("columns")).isEqualTo(List.of("sku", "42.000"));
        assertThat(run.lines().getFirst().get("42.000").toString()).isEqualTo("7");
    }

    @Test
    void theReadAheadThreadEndsWithTheRunHoweverItEnds() throws Exception {
        Path file = Sheets.inventory(dir.resolve("inv.xlsx"), 30_000);
        Sheets.Outcome ok = Sheets.run(Sheets.task(Map.of()), dir, file, "inv.xlsx", XLSX);
        assertThat(ok.summary()).containsEntry("rows", 30_000L);
        assertThat(readAheadThreads()).isZero();

        // Cancelled at a checkpoint: the checkpoint's exception is the run's, and no reading thread is left.
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException cancel = new IllegalStateException("cancelled by the test");
        Sheets.Outcome cancelled = Sheets.run(Sheets.task(Map.of()), dir, file, "inv.xlsx", XLSX, () -> {
            if (calls.incrementAndGet() == 8) {
                throw cancel;
            }
        });
        assertThat(cancelled.failure()).isSameAs(cancel);
        assertThat(cancelled.lines()).isNotEmpty().hasSizeLessThan(30_000);
        assertThat(readAheadThreads()).isZero();

        // A guard that trips on the reading thread: the same refusal, after the rows before it.
        Sheets.Outcome tooMany = Sheets.run(Sheets.task(Map.of("maxRows", 20_000)), dir, file, "inv.xlsx", XLSX);
        assertThat(code(tooMany.failure())).isEqualTo("too_many_rows");
        assertThat(readAheadThreads()).isZero();
        Sheets.Outcome small = Sheets.run(Sheets.task(Map.of("maxUncompressedSize", "2MiB")), dir, file, "inv.xlsx",
                XLSX);
        assertThat(code(small.failure())).isEqualTo("too_large");
        assertThat(small.failure().getMessage()).contains("maxUncompressedSize");
        assertThat(readAheadThreads()).isZero();
    }


    private static long readAheadThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("xlsx-read-ahead"))
                .count();
    }
}
