package io.sluice.processors.spreadsheet;

import io.sluice.api.ApiException;
import io.sluice.processors.Processor;
import org.dhatim.fastexcel.Workbook;
import org.dhatim.fastexcel.Worksheet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static io.sluice.processors.spreadsheet.Sheets.XLSX;
import static io.sluice.processors.spreadsheet.SpreadsheetXlsxTest.code;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Hostile xlsx files: each fails with its code and a message naming the limit, before fastexcel-reader builds
 * anything in proportion to the file, at upload time (422) as in the job. Memory stays flat by construction:
 * nothing is inflated except through a counting stream that stops at the limit, and the XML is parsed lazily.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SpreadsheetGuardsTest {

    static final long GIB = 1L << 30;

    @TempDir
    static Path dir;
    /** About 2 MiB that inflate to 2 GiB. */
    static Path bomb;

    @BeforeAll
    static void files() throws Exception {
        bomb = Sheets.bomb(dir.resolve("bomb.xlsx"), 2 * GIB);
    }

    @Test
    void aZipBombFailsFastWithItsReason() throws Exception {
        assertThat(Files.size(bomb)).isLessThan(8L << 20);

        // Default options: the central directory declares a ratio of about 1000.
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of()), dir, bomb, "bomb.xlsx", XLSX);
        assertThat(code(run.failure())).isEqualTo("zip_bomb");
        assertThat(run.failure().getMessage()).contains("xl/worksheets/sheet1.xml", "100 times", "maxInflateRatio");
        assertThat(run.lines()).isEmpty();

        // A generous ratio: the declared total is past maxUncompressedSize.
        Map<String, Object> generous = Map.of("maxInflateRatio", 10_000, "maxUncompressedSize", "50MiB");
        Sheets.Outcome big = Sheets.run(Sheets.task(generous), dir, bomb, "bomb.xlsx", XLSX);
        assertThat(code(big.failure())).isEqualTo("too_large");
        assertThat(big.failure().getMessage()).contains("50MiB", "maxUncompressedSize");

        ApiException e = catchThrowableOfType(ApiException.class,
                () -> Sheets.task(Map.of()).precheck(bomb, XLSX));
        assertThat(e.status()).isEqualTo(422);
        assertThat(e.code()).isEqualTo("zip_bomb");
    }

    @Test
    void aCentralDirectoryThatLiesAboutSizesIsCaughtWhileInflating() throws Exception {
        Path liar = dir.resolve("liar.xlsx");
        Files.copy(bomb, liar);
        Sheets.lieAboutSize(liar, "xl/worksheets/sheet1.xml", 4_096);

        Map<String, Object> options = Map.of("maxInflateRatio", 10_000, "maxUncompressedSize", "50MiB");
        Sheets.Outcome run = Sheets.run(Sheets.task(options), dir, liar, "liar.xlsx", XLSX);
        assertThat(code(run.failure())).isEqualTo("zip_bomb");
        assertThat(run.failure().getMessage()).contains("declared size of 4096 bytes");
        // Caught while streaming: only rows from the declared 4 KiB were read before it (the failed attempt's
        // output is discarded by the worker).
        assertThat(run.lines()).hasSizeLessThan(4_096 / 16);

        // The upload-time check reads only the first rows, which sit inside the declared 4 KiB: it has no reason
        // to refuse, and it does not inflate the rest to find out.
        Sheets.task(options).precheck(liar, XLSX);
        Files.delete(liar);
    }

    @Test
    void aCellReferenceBeyondColumnXfdIsRefusedBeforeFastexcelSizesARowByIt() throws Exception {
        // Without the scan, fastexcel would allocate a list of ~321 million slots for this one cell.
        Path file = Sheets.handMade(dir.resolve("far.xlsx"), w -> {
            w.write("<row r=\"1\">" + Sheets.text("A1", "sku") + "</row>");
            w.write("<row r=\"2\">" + Sheets.number("AAAAAAA2", 1) + "</row>");
        });
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of()), dir, file, "far.xlsx", XLSX);
        assertThat(code(run.failure())).isEqualTo("too_many_columns");
        assertThat(run.failure().getMessage()).contains("XFD", "16384");
    }

    @Test
    void aHandMadeWorkbookWithoutStylesOrSharedStringsIsRead() throws Exception {
        // The control for the hand-made hostile files below: the same package shape, well-behaved, reads fine.
        Path file = Sheets.handMade(dir.resolve("plain.xlsx"), w -> {
            w.write("<row r=\"1\">" + Sheets.text("A1", "sku") + Sheets.text("B1", "qty") + "</row>");
            w.write("<row r=\"2\">" + Sheets.text("A2", "X-1") + Sheets.number("B2", 3) + "</row>");
            w.write("<row>" + Sheets.text("A3", "X-2") + Sheets.number("B3", "4.5") + "</row>");
        });
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of("requiredColumns", List.of("qty"))), dir, file, "p.xlsx",
                XLSX);
        assertThat(run.summary()).containsEntry("rows", 2L);
        assertThat(run.lines().get(1).get("qty").decimalValue()).isEqualByComparingTo("4.5");
        Sheets.task(Map.of("requiredColumns", List.of("qty"))).precheck(file, XLSX);
    }

    @Test
    void aRowWithMoreCellsThanExcelAllowsIsRefused() throws Exception {
        Path file = Sheets.handMade(dir.resolve("wide.xlsx"), w -> {
            w.write("<row>");
            for (int i = 0; i < 20_000; i++) {
                w.write("<c><v>1</v></c>");
            }
            w.write("</row>");
        });
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of("maxColumns", 16_384)), dir, file, "w.xlsx", XLSX);
        assertThat(code(run.failure())).isEqualTo("too_many_columns");
    }

    @Test
    void deepNestingLongTagsAndDtdsAreRefused() throws Exception {
        Path deep = Sheets.handMade(dir.resolve("deep.xlsx"), w -> {
            w.write("<row>" + Sheets.text("A1", "sku") + "</row>");
            w.write("<x>".repeat(500) + "</x>".repeat(500));
        });
        assertThat(code(Sheets.run(Sheets.task(Map.of()), dir, deep, "d.xlsx", XLSX).failure()))
                .isEqualTo("too_complex");

        Path longTag = Sheets.handMade(dir.resolve("tag.xlsx"), w -> {
            w.write("<row>" + Sheets.text("A1", "sku") + "</row>");
            w.write("<row><c r=\"A2\" t=\"inlineStr\" x=\"" + "a".repeat(2 << 20) + "\"><is><t>x</t></is></c></row>");
        });
        // (a long run of one letter deflates extremely well: allow that ratio to reach the tag check)
        Sheets.Outcome tag = Sheets.run(Sheets.task(Map.of("maxInflateRatio", 100_000)), dir, longTag, "t.xlsx", XLSX);
        assertThat(code(tag.failure())).isEqualTo("malformed_file");
        assertThat(tag.failure().getMessage()).contains("tag longer than 1 MiB");

        Path dtd = Sheets.handMadeDocument(dir.resolve("dtd.xlsx"), w -> w.write("""
                <?xml version="1.0"?>
                <!DOCTYPE lol [<!ENTITY lol "lol">]>
                <worksheet><sheetData><row><c t="inlineStr"><is><t>&lol;</t></is></c></row></sheetData></worksheet>"""));
        Sheets.Outcome d = Sheets.run(Sheets.task(Map.of()), dir, dtd, "dtd.xlsx", XLSX);
        assertThat(code(d.failure())).isEqualTo("malformed_file");
        assertThat(d.failure().getMessage()).contains("DTD");
    }

    @Test
    void sharedStringsPastTheirLimitAreRefused() throws Exception {
        Path file = dir.resolve("strings.xlsx");
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
             Workbook wb = new Workbook(os, "sluice-test", "1.0")) {
            Worksheet ws = wb.newWorksheet("S");
            ws.value(0, 0, "name");
            for (int r = 1; r <= 2_000; r++) {
                ws.value(r, 0, "distinct string number " + r);
            }
        }
        Map<String, Object> options = Map.of("maxSharedStringsSize", "16KiB");
        Sheets.Outcome run = Sheets.run(Sheets.task(options), dir, file, "s.xlsx", XLSX);
        assertThat(code(run.failure())).isEqualTo("shared_strings_too_large");
        assertThat(run.failure().getMessage()).contains("16KiB", "maxSharedStringsSize");
        ApiException e = catchThrowableOfType(ApiException.class, () -> Sheets.task(options).precheck(file, XLSX));
        assertThat(e.code()).isEqualTo("shared_strings_too_large");

        assertThat(Sheets.run(Sheets.task(Map.of()), dir, file, "s.xlsx", XLSX).summary()).containsEntry("rows", 2_000L);
    }

    @Test
    void randomBytesAndZipsThatAreNotWorkbooksAreMalformed() throws Exception {
        Path random = dir.resolve("random.xlsx");
        byte[] bytes = new byte[100_000];
        new Random(42).nextBytes(bytes);
        Files.write(random, bytes);
        Processor.Task task = Sheets.task(Map.of());
        assertThat(code(Sheets.run(task, dir, random, "random.xlsx", XLSX).failure())).isEqualTo("malformed_file");
        ApiException e = catchThrowableOfType(ApiException.class, () -> task.precheck(random, XLSX));
        assertThat(e.status()).isEqualTo(422);
        assertThat(e.code()).isEqualTo("malformed_file");

        Path zip = dir.resolve("notes.xlsx");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new ZipEntry("notes.txt"));
            out.write("hello".getBytes());
            out.closeEntry();
        }
        Sheets.Outcome notWorkbook = Sheets.run(task, dir, zip, "notes.xlsx", XLSX);
        assertThat(code(notWorkbook.failure())).isEqualTo("malformed_file");
        assertThat(notWorkbook.failure().getMessage()).contains("[Content_Types].xml");

        // A zip truncated in the middle of the sheet: no central directory.
        Path inventory = Sheets.inventory(dir.resolve("inv.xlsx"), 100);
        Path cut = dir.resolve("cut.xlsx");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(inventory), (int) Files.size(inventory) / 2));
        assertThat(code(Sheets.run(task, dir, cut, "cut.xlsx", XLSX).failure())).isEqualTo("malformed_file");
    }

    @Test
    void otherFormatsAreUnsupported() throws Exception {
        Path pdf = Files.writeString(dir.resolve("doc.pdf"), "%PDF-1.7");
        Processor.Task task = Sheets.task(Map.of());
        Sheets.Outcome run = Sheets.run(task, dir, pdf, "doc.pdf", "application/pdf");
        assertThat(code(run.failure())).isEqualTo("unsupported_format");
        assertThat(run.failure().getMessage()).contains("application/pdf");
        ApiException e = catchThrowableOfType(ApiException.class, () -> task.precheck(pdf, "application/pdf"));
        assertThat(e.status()).isEqualTo(415);
        assertThat(e.code()).isEqualTo("unsupported_format");
        assertThat(code(Sheets.run(task, dir, pdf, "notes.txt", "text/plain").failure()))
                .isEqualTo("unsupported_format");
    }
}
