package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.Json;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static io.sluice.processors.spreadsheet.Sheets.XLSX;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The NDJSON bytes and the summary of the xlsx path, pinned: the expected files under
 * {@code src/test/resources/spreadsheet/} were written by the implementation before the streaming writer and the
 * cheaper cell path (ObjectNode per row, BigDecimal per number), so any change to what a row becomes fails here.
 * The workbook holds numbers of every shape (whole, decimal, exponent, past a long, signed, padded, unparseable),
 * dates by built-in and custom formats, booleans, inline and shared strings (rich text, phonetic runs, escapes,
 * non-ASCII), empty and absent cells, formulas' cached values, error cells, a duplicate and an empty header name,
 * values past the header and an all-empty row.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpreadsheetOutputGoldenTest {

    /** Set to write the expected files from the current implementation (only when pinning a new baseline). */
    private static final String WRITE_TO = System.getProperty("sluice.golden.write");

    @TempDir
    Path dir;

    /** Writes the expected files from the implementation on the class path (see {@link #WRITE_TO}). */
    public static void main(String[] args) throws Exception {
        SpreadsheetOutputGoldenTest t = new SpreadsheetOutputGoldenTest();
        t.dir = Files.createTempDirectory("golden-");
        t.everyKindOfCellBecomesTheSameBytesAsBefore();
        t.aWorkbookWrittenByFastexcelWithSharedStringsBecomesTheSameBytesAsBefore();
        t.theSameSharedStringsReadFromTheSpilledTableBecomeTheSameBytes();
        t.anInventoryWithInlineStringsBecomesTheSameBytesAsBefore();
    }

    @Test
    void everyKindOfCellBecomesTheSameBytesAsBefore() throws Exception {
        Path file = workbook(dir.resolve("kinds.xlsx"));
        check("kinds", file, Map.of());
    }

    @Test
    void aWorkbookWrittenByFastexcelWithSharedStringsBecomesTheSameBytesAsBefore() throws Exception {
        Path file = SpreadsheetSharedStringsTest.allShared(dir.resolve("shared.xlsx"), 3_000);
        check("fastexcel-shared", file, Map.of());
    }

    @Test
    void theSameSharedStringsReadFromTheSpilledTableBecomeTheSameBytes() throws Exception {
        Path file = SpreadsheetSharedStringsTest.allShared(dir.resolve("spilled.xlsx"), 3_000);
        // A cache of 1 KiB: the table goes to the memory-mapped file, strings come back through the cache.
        check("fastexcel-shared-spilled", file, Map.of("sharedStringsCacheSize", "1KiB"));
    }

    @Test
    void anInventoryWithInlineStringsBecomesTheSameBytesAsBefore() throws Exception {
        Path file = Sheets.inventory(dir.resolve("inventory.xlsx"), 3_000);
        check("fastexcel-inventory", file, Map.of());
    }

    private void check(String name, Path file, Map<String, Object> options) throws Exception {
        Path out = dir.resolve(name + "-" + System.nanoTime() + ".ndjson");
        ProcessorContext.UploadInfo info = new ProcessorContext.UploadInfo("01GOLDEN", name + ".xlsx",
                Files.size(file), "0".repeat(64), XLSX, Map.of());
        Processor.Result result;
        try (FileContext ctx = new FileContext(info, file, dir.resolve("work"), out, (p, s, e) -> {
        }, () -> {
        })) {
            result = Sheets.task(options).run(ctx);
        }
        byte[] ndjson = Files.readAllBytes(out);
        String summary = Json.mapper().writeValueAsString(result.summary());
        // Small outputs are kept whole (a failure shows the difference); large ones as their SHA-256.
        boolean whole = ndjson.length <= 64 * 1024;
        if (WRITE_TO != null) {
            Path to = Path.of(WRITE_TO);
            Files.createDirectories(to);
            if (whole) {
                Files.write(to.resolve(name + ".ndjson"), ndjson);
            } else {
                Files.writeString(to.resolve(name + ".ndjson.sha256"), sha256(ndjson) + "\n");
            }
            Files.writeString(to.resolve(name + ".summary.json"), summary + "\n");
            return;
        }
        if (whole) {
            assertThat(new String(ndjson, StandardCharsets.UTF_8))
                    .isEqualTo(new String(resource(name + ".ndjson"), StandardCharsets.UTF_8));
        } else {
            assertThat(sha256(ndjson)).as("SHA-256 of the NDJSON of " + name)
                    .isEqualTo(new String(resource(name + ".ndjson.sha256"), StandardCharsets.US_ASCII).strip());
        }
        // Summaries are maps without an order (Result copies them): compared as JSON trees.
        JsonNode want = Json.mapper().readTree(resource(name + ".summary.json"));
        assertThat(Json.mapper().readTree(summary)).isEqualTo(want);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = SpreadsheetOutputGoldenTest.class.getResourceAsStream("/spreadsheet/" + name)) {
            assertThat(in).as("test resource spreadsheet/" + name).isNotNull();
            return in.readAllBytes();
        }
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    // --- the workbook --------------------------------------------------------------------------------------

    private static final List<String> SHARED = List.of(
            "alpha",                                                        // 0
            "with \"quotes\" and \\ backslash",                            // 1
            "line\nbreak",                                                  // 2
            "naïve – 日本 😀",                                               // 3
            "<r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r>",          // 4 (raw XML)
            "<t>漢字</t><rPh sb=\"0\" eb=\"2\"><t>かんじ</t></rPh>",            // 5 (raw XML)
            "",                                                             // 6
            "  padded  ",                                                   // 7
            "tab&#9;and &amp; &lt;tag&gt;",                                 // 8 (escaped)
            "shared header",                                                // 9
            "   ",                                                          // 10
            "42");                                                          // 11

    /** Styles: 0 general, 1 date (14), 2 date-time (22), 3 time (21), 4 custom date-time, 5 percent, 6 [h]:mm, 7 text. */
    private static final String STYLES = """
            <?xml version="1.0" encoding="UTF-8"?>
            <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
            <numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd hh:mm"/>\
            <numFmt numFmtId="165" formatCode="0.00%"/><numFmt numFmtId="166" formatCode="[h]:mm"/></numFmts>\
            <cellXfs count="8"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="22"/><xf numFmtId="21"/>\
            <xf numFmtId="164"/><xf numFmtId="10"/><xf numFmtId="166"/><xf numFmtId="49"/></cellXfs></styleSheet>""";

    private static String sheetData() {
        StringBuilder s = new StringBuilder();
        // Header: a shared name, inline names, padding, an empty one (column_5), a duplicate (text_2).
        s.append("<row r=\"1\">").append(sh("A1", 9)).append(in("B1", "text")).append(in("C1", " num "))
                .append(in("D1", "date")).append(in("E1", "")).append(in("F1", "text")).append(in("G1", "flag"))
                .append(in("H1", "formula")).append(in("I1", "err")).append(in("J1", "mixed")).append("</row>");
        String[] numbers = {"0", "-0", "1", "-17", "42.0", "1.50", "3.14159", "1E3", "1.5E-7", "2.5E+10",
                "12345678901234567890", "123456789012345678", "9223372036854775807", "-9223372036854775808",
                "0.1", "-0.000", "00012", "+5", ".5", "5.", "1e5", "0.1234567890123456789", "1234567.000",
                "999999999999999999", "1000000000000000000", "-999999999999999999.5", "7E-2", "4.0E0",
                "NaN", "Infinity", "abc", " 7", "0x10", "1_000", "", "100000000000000000000000.0"};
        String[] dates = {"<c r=\"D%d\" s=\"1\"><v>45000</v></c>", "<c r=\"D%d\" s=\"2\"><v>45000.5</v></c>",
                "<c r=\"D%d\" s=\"3\"><v>0.75</v></c>", "<c r=\"D%d\" s=\"1\"><v>60</v></c>",
                "<c r=\"D%d\" s=\"1\"><v>61</v></c>", "<c r=\"D%d\" s=\"4\"><v>45123.25</v></c>",
                "<c r=\"D%d\" s=\"5\"><v>0.125</v></c>", "<c r=\"D%d\" s=\"6\"><v>1.5</v></c>",
                "<c r=\"D%d\" s=\"7\"><v>45000</v></c>", "<c r=\"D%d\" s=\"1\"><v>1E10</v></c>",
                "<c r=\"D%d\" s=\"1\"><v>-1</v></c>", "<c r=\"D%d\" s=\"2\"><v>45000.99999999</v></c>",
                "<c r=\"D%d\" s=\"1\" t=\"b\"><v>1</v></c>", "<c r=\"D%d\" s=\"1\" t=\"str\"><f>A1</f><v>x</v></c>",
                "<c r=\"D%d\" s=\"99\"><v>45000</v></c>", "<c r=\"D%d\" s=\"1\"><v>abc</v></c>",
                "<c r=\"D%d\" s=\"1\"/>", "<c r=\"D%d\" s=\"2\"><v>0</v></c>"};
        String[] flags = {"<c r=\"G%d\" t=\"b\"><v>1</v></c>", "<c r=\"G%d\" t=\"b\"><v>0</v></c>",
                "<c r=\"G%d\" t=\"b\"><v>true</v></c>", "<c r=\"G%d\" t=\"b\"/>", "<c r=\"G%d\" t=\"b\"><v></v></c>"};
        String[] formulas = {"<c r=\"H%d\"><f>A2*2</f><v>2</v></c>", "<c r=\"H%d\" t=\"str\"><f>B2</f><v>text</v></c>",
                "<c r=\"H%d\" t=\"b\"><f>TRUE()</f><v>1</v></c>", "<c r=\"H%d\" t=\"e\"><f>1/0</f><v>#DIV/0!</v></c>",
                "<c r=\"H%d\"><f>A1</f></c>", "<c r=\"H%d\"><f t=\"shared\" ref=\"H7:H9\" si=\"0\">A7+1</f><v>8.5</v></c>",
                "<c r=\"H%d\"><f t=\"shared\" si=\"0\"/><v>9</v></c>",
                "<c r=\"H%d\" t=\"inlineStr\"><f>\"a\"</f><is><t>a</t></is></c>",
                "<c r=\"H%d\"><f t=\"array\" ref=\"H11\">SUM(A1:A2)</f><v>3</v></c>",
                "<c r=\"H%d\" t=\"str\"><f>B2</f><v></v></c>", "<c r=\"H%d\" t=\"s\"><v>3</v></c>"};
        String[] errors = {"<c r=\"I%d\" t=\"e\"><v>#N/A</v></c>", "<c r=\"I%d\" t=\"e\"><v>#REF!</v></c>",
                "<c r=\"I%d\" t=\"e\"/>"};
        String[] mixed = {"<c r=\"J%d\" t=\"s\"><v>11</v></c>", "<c r=\"J%d\"><v>42</v></c>",
                "<c r=\"J%d\" t=\"s\"><v></v></c>", "<c r=\"J%d\" t=\"s\"/>", "<c r=\"J%d\" t=\"inlineStr\"/>",
                "<c r=\"J%d\" t=\"inlineStr\"><is><t></t></is></c>", "<c r=\"J%d\" t=\"s\"><v>10</v></c>",
                "<c r=\"J%d\" t=\"inlineStr\"><is><r><t>in</t></r><r><t>line</t></r></is></c>",
                "<c r=\"J%d\" t=\"inlineStr\"><is><t xml:space=\"preserve\"> x &amp; y </t></is></c>",
                "<c r=\"J%d\" t=\"inlineStr\"><is><t><![CDATA[<cdata> & more]]></t></is></c>"};
        int rows = numbers.length;
        for (int i = 0; i < rows; i++) {
            int r = i + 2;
            if (r == 9) {
                s.append("<row r=\"9\"><c r=\"A9\"/><c r=\"B9\" t=\"s\"><v>6</v></c></row>"); // all empty: skipped
                continue;
            }
            s.append(r % 5 == 0 ? "<row>" : "<row r=\"" + r + "\" spans=\"1:12\">");
            s.append(r % 7 == 0 ? "<c><v>" + r + "</v></c>" : "<c r=\"A" + r + "\"><v>" + r + "</v></c>");
            s.append(i % 3 == 0 ? in("B" + r, "inline " + r + " \"q\" ü")
                    : sh("B" + r, i % SHARED.size()));
            s.append("<c r=\"C").append(r).append("\"><v>").append(numbers[i]).append("</v></c>");
            s.append(dates[i % dates.length].formatted(r));
            if (i % 4 != 3) {
                s.append(sh("F" + r, (i * 5) % SHARED.size()));
            }
            s.append(flags[i % flags.length].formatted(r));
            s.append(formulas[i % formulas.length].formatted(r));
            s.append(errors[i % errors.length].formatted(r));
            s.append(mixed[i % mixed.length].formatted(r));
            if (i % 6 == 5) {
                s.append(in("L" + r, "past the header")).append("<c r=\"M").append(r).append("\"><v>1</v></c>");
            }
            if (i % 8 == 7) {
                s.append("<c r=\"K").append(r).append("\"/>");
            }
            s.append("</row>");
        }
        // A row far below, with only a few cells, and a row with nothing but empty cells at the end.
        s.append("<row r=\"100\"><c r=\"C100\"><v>-3.5</v></c><c r=\"J100\" t=\"b\"><v>0</v></c></row>");
        s.append("<row r=\"101\"><c r=\"A101\"/><c r=\"B101\" t=\"inlineStr\"><is><t> </t></is></c></row>");
        return s.toString();
    }

    private static String in(String ref, String text) {
        String escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
        return "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t>" + escaped + "</t></is></c>";
    }

    private static String sh(String ref, int index) {
        return "<c r=\"" + ref + "\" t=\"s\"><v>" + index + "</v></c>";
    }

    private static Path workbook(Path file) throws IOException {
        StringBuilder sst = new StringBuilder("""
                <?xml version="1.0" encoding="UTF-8"?>
                <sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">""");
        for (String s : SHARED) {
            sst.append(s.startsWith("<") ? "<si>" + s + "</si>" : "<si><t xml:space=\"preserve\">"
                    + (s.contains("&") ? s : s.replace("<", "&lt;")) + "</t></si>");
        }
        sst.append("</sst>");
        try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
            entry(zip, "[Content_Types].xml", """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
                    <Default Extension="xml" ContentType="application/xml"/>\
                    <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
                    <Override PartName="/xl/workbook.xml" \
                    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
                    <Override PartName="/xl/worksheets/sheet1.xml" \
                    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
                    <Override PartName="/xl/sharedStrings.xml" \
                    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>\
                    <Override PartName="/xl/styles.xml" \
                    ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
                    </Types>""");
            entry(zip, "xl/workbook.xml", """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
                    xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
                    <sheets><sheet name="Kinds" sheetId="1" r:id="rId1"/></sheets></workbook>""");
            entry(zip, "xl/_rels/workbook.xml.rels", """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                    <Relationship Id="rId1" \
                    Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
                    Target="worksheets/sheet1.xml"/></Relationships>""");
            entry(zip, "xl/styles.xml", STYLES);
            entry(zip, "xl/sharedStrings.xml", sst.toString());
            entry(zip, "xl/worksheets/sheet1.xml", """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"""
                    + sheetData() + "</sheetData></worksheet>");
        }
        return file;
    }

    private static void entry(ZipOutputStream zip, String name, String text) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(text.getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
    }
}
