package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.Json;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import org.dhatim.fastexcel.Workbook;
import org.dhatim.fastexcel.Worksheet;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test files (generated, never checked in) and a runner over a real {@link FileContext}. */
final class Sheets {

    static final String XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    static final List<String> INVENTORY = List.of("sku", "name", "category", "stock", "reorder_level", "unit_cost",
            "supplier", "location");

    private Sheets() {
    }

    /** An inventory workbook written by fastexcel: a header and {@code rows} rows. */
    static Path inventory(Path file, int rows) throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
             Workbook wb = new Workbook(os, "sluice-test", "1.0")) {
            Worksheet ws = wb.newWorksheet("Inventory");
            for (int c = 0; c < INVENTORY.size(); c++) {
                ws.value(0, c, INVENTORY.get(c));
            }
            String[] categories = {"tools", "garden", "kitchen", "toys"};
            for (int r = 1; r <= rows; r++) {
                ws.value(r, 0, "SKU-%06d".formatted(r));
                ws.value(r, 1, "Item number " + r);
                ws.value(r, 2, categories[r % categories.length]);
                ws.value(r, 3, r % 500);
                ws.value(r, 4, 20 + r % 7);
                ws.value(r, 5, new BigDecimal("1.25").add(BigDecimal.valueOf(r % 100, 2)));
                ws.value(r, 6, "Supplier " + (r % 13));
                ws.value(r, 7, "A-" + (r % 40));
                if (r % 10_000 == 0) {
                    ws.flush();
                }
            }
            ws.finish();
        }
        return file;
    }

    /** Writes sheet XML (the {@code <sheetData>} content) into a hand-made workbook. */
    @FunctionalInterface
    interface SheetData {
        void write(Writer w) throws IOException;
    }

    /**
     * A minimal xlsx written with java.util.zip: content types, workbook, its relationships and one sheet whose
     * {@code <sheetData>} is {@code data}; inline strings, so no shared strings.
     */
    static Path handMade(Path file, SheetData data) throws IOException {
        return handMadeDocument(file, w -> {
            w.write("""
                    <?xml version="1.0" encoding="UTF-8"?>
                    <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>""");
            data.write(w);
            w.write("</sheetData></worksheet>");
        });
    }

    /** Like {@link #handMade} but {@code document} writes the sheet's whole XML document. */
    static Path handMadeDocument(Path file, SheetData document) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
            smallParts(zip);
            zip.putNextEntry(new ZipEntry("xl/worksheets/sheet1.xml"));
            Writer w = new java.io.OutputStreamWriter(zip, StandardCharsets.UTF_8) {
                @Override
                public void close() throws IOException {
                    flush(); // leave the zip open
                }
            };
            document.write(w);
            w.flush();
            zip.closeEntry();
        }
        return file;
    }

    private static void smallParts(ZipOutputStream zip) throws IOException {
        entry(zip, "[Content_Types].xml", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
                <Default Extension="xml" ContentType="application/xml"/>\
                <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
                <Override PartName="/xl/workbook.xml" \
                ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
                <Override PartName="/xl/worksheets/sheet1.xml" \
                ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
                </Types>""");
        entry(zip, "xl/workbook.xml", """
                <?xml version="1.0" encoding="UTF-8"?>
                <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
                xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
                <sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>""");
        entry(zip, "xl/_rels/workbook.xml.rels", """
                <?xml version="1.0" encoding="UTF-8"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" \
                Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
                Target="worksheets/sheet1.xml"/></Relationships>""");
    }

    /**
     * A zip bomb: a workbook whose sheet is {@code inflated} bytes of identical rows, which deflate about 1000:1
     * (so 2 GiB make a zip of about 2 MiB).
     */
    static Path bomb(Path file, long inflated) throws IOException {
        byte[] head = """
                <?xml version="1.0" encoding="UTF-8"?>
                <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>\
                <row><c t="inlineStr"><is><t>sku</t></is></c></row>""".getBytes(StandardCharsets.UTF_8);
        byte[] row = "<row><c t=\"inlineStr\"><is><t>aaaaaaaaaaaaaaaa</t></is></c></row>".getBytes(StandardCharsets.UTF_8);
        byte[] chunk = new byte[row.length * ((1 << 16) / row.length + 1)];
        for (int i = 0; i + row.length <= chunk.length; i += row.length) {
            System.arraycopy(row, 0, chunk, i, row.length);
        }
        try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
            smallParts(zip);
            zip.putNextEntry(new ZipEntry("xl/worksheets/sheet1.xml"));
            zip.write(head);
            for (long written = head.length; written < inflated; written += chunk.length) {
                zip.write(chunk);
            }
            zip.write("</sheetData></worksheet>".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        return file;
    }

    private static void entry(ZipOutputStream zip, String name, String text) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(text.getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
    }

    /** An inline-string cell. */
    static String text(String ref, String value) {
        return "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t>" + value + "</t></is></c>";
    }

    /** A number cell. */
    static String number(String ref, Object value) {
        return "<c r=\"" + ref + "\"><v>" + value + "</v></c>";
    }

    /**
     * Rewrites the central directory's uncompressed size of {@code entryName} to {@code declared}: the archive then
     * lies about how much the entry inflates to.
     */
    static void lieAboutSize(Path file, String entryName, int declared) throws IOException {
        byte[] name = entryName.getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer all = ByteBuffer.allocate((int) ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            while (all.hasRemaining() && ch.read(all) >= 0) {
                // read the whole (small) file
            }
            for (int p = all.capacity() - 46; p >= 0; p--) {
                if (all.getInt(p) == 0x02014b50 && (all.getShort(p + 28) & 0xFFFF) == name.length
                        && matches(all, p + 46, name)) {
                    ByteBuffer size = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, declared);
                    ch.write(size, p + 24);
                    return;
                }
            }
            throw new IllegalStateException("no central directory record for " + entryName);
        }
    }

    private static boolean matches(ByteBuffer b, int at, byte[] name) {
        for (int i = 0; i < name.length; i++) {
            if (b.get(at + i) != name[i]) {
                return false;
            }
        }
        return true;
    }

    /** What one run produced. */
    record Outcome(Processor.Result result, Exception failure, List<JsonNode> lines, List<Integer> progress,
                   List<String> stages) {

        Map<String, Object> summary() {
            if (failure != null) {
                throw new AssertionError("the run failed", failure);
            }
            return result.summary();
        }
    }

    /** Runs {@code task} over {@code file} in a real {@link FileContext}, recording progress. */
    static Outcome run(Processor.Task task, Path dir, Path file, String filename, String contentType,
                       Runnable checkpoint) throws IOException {
        Path out = dir.resolve("out-" + System.nanoTime() + ".ndjson");
        List<Integer> progress = new CopyOnWriteArrayList<>();
        List<String> stages = new CopyOnWriteArrayList<>();
        ProcessorContext.UploadInfo info = new ProcessorContext.UploadInfo("01TEST", filename, Files.size(file),
                "0".repeat(64), contentType, Map.of());
        Processor.Result result = null;
        Exception failure = null;
        try (FileContext ctx = new FileContext(info, file, dir.resolve("work"), out, (p, stage, eta) -> {
            progress.add(p);
            stages.add(stage);
        }, checkpoint)) {
            result = task.run(ctx);
        } catch (Exception e) {
            failure = e;
        }
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            lines.add(Json.mapper().readTree(line));
        }
        Files.delete(out);
        return new Outcome(result, failure, lines, progress, stages);
    }

    static Outcome run(Processor.Task task, Path dir, Path file, String filename, String contentType)
            throws IOException {
        return run(task, dir, file, filename, contentType, () -> {
        });
    }

    static Processor.Task task(Map<String, Object> options) {
        return new SpreadsheetProcessor().configure(options);
    }
}
