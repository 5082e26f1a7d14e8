package io.sluice.upload;

import io.sluice.api.ApiException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TypeDetectorTest {

    static final String XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    /** Tika's registry takes a while to load; one detector serves every test, as in production. */
    private static final TypeDetector ANY = new TypeDetector(List.of());

    @Test
    void pngNamedPngIsPng() {
        assertThat(ANY.detect(buf(Samples.png()), "photo.png")).isEqualTo("image/png");
    }

    @Test
    void pngNamedJpgIsRefused() {
        assertRefused(() -> ANY.detect(buf(Samples.png()), "photo.jpg"), "type_mismatch");
    }

    @Test
    void zipNamedXlsxIsAcceptedAsXlsx() throws IOException {
        // What Excel writes: [Content_Types].xml first.
        assertThat(ANY.detect(buf(Samples.xlsx(true)), "stock.xlsx")).isEqualTo(XLSX);
    }

    @Test
    void zipWithContentTypesLastNamedXlsxIsAcceptedAsXlsx() throws IOException {
        // openpyxl (pandas' default engine) and workbooks with sensitivity labels do not start with
        // [Content_Types].xml: Tika's magic only sees a zip. The name may narrow zip to xlsx.
        assertThat(ANY.detect(buf(Samples.xlsx(false)), "export.xlsx")).isEqualTo(XLSX);
    }

    @Test
    void anyZipNamedXlsxIsAcceptedAsXlsx() throws IOException {
        // Only the zip signature is checked here; whether it holds a workbook is the spreadsheet processor's job.
        assertThat(ANY.detect(buf(Samples.zip("data/one.txt", "two.bin")), "export.xlsx")).isEqualTo(XLSX);
    }

    @Test
    void plainZipNamedZipIsZip() throws IOException {
        assertThat(ANY.detect(buf(Samples.zip("a.txt")), "archive.zip")).isEqualTo("application/zip");
    }

    @Test
    void shellScriptNamedXlsxIsRefused() {
        byte[] script = "#!/bin/sh\nrm -rf / --no-preserve-root\n".getBytes(StandardCharsets.US_ASCII);
        assertRefused(() -> ANY.detect(buf(script), "report.xlsx"), "type_mismatch");
    }

    @Test
    void pdfNamedXlsxIsRefused() {
        assertRefused(() -> ANY.detect(buf(Samples.pdf()), "sheet.xlsx"), "type_mismatch");
    }

    @Test
    void csvTextIsCsv() {
        byte[] csv = "sku,name,qty\nA-1,Widget,4\nB-2,\"Gadget, large\",10\n".getBytes(StandardCharsets.UTF_8);
        assertThat(ANY.detect(buf(csv), "stock.csv")).isEqualTo("text/csv");
    }

    @Test
    void utf8TextIsText() {
        byte[] text = "héllo wörld — ünïcode text\n".getBytes(StandardCharsets.UTF_8);
        assertThat(ANY.detect(buf(text), "notes.txt")).isEqualTo("text/plain");
    }

    @Test
    void binaryNamedTxtIsRefused() {
        assertRefused(() -> ANY.detect(buf(Samples.random(4096, 7)), "notes.txt"), "type_mismatch");
    }

    @Test
    void binaryNamedCsvIsRefused() {
        assertRefused(() -> ANY.detect(buf(Samples.random(4096, 8)), "data.csv"), "type_mismatch");
    }

    @Test
    void withoutAKnownExtensionTheBytesDecide() {
        assertThat(ANY.detect(buf(Samples.png()), "photo")).isEqualTo("image/png");
        assertThat(ANY.detect(buf(Samples.random(1000, 1)), "blob.bin")).isEqualTo("application/octet-stream");
        assertThat(ANY.detect(buf("plain words\n".getBytes(StandardCharsets.US_ASCII)), "README"))
                .isEqualTo("text/plain");
    }

    @Test
    void detectionDoesNotConsumeTheBuffer() {
        ByteBuffer b = buf(Samples.png());
        int before = b.remaining();
        ANY.detect(b, "photo.png");
        assertThat(b.remaining()).isEqualTo(before);
        assertThat(b.position()).isZero();
    }

    @Test
    void imageWildcardAllowsImagesOnly() {
        TypeDetector images = new TypeDetector(List.of("image/*"));
        assertThat(images.detect(buf(Samples.png()), "photo.png")).isEqualTo("image/png");
        assertThat(images.detect(buf(Samples.gif()), "anim.gif")).isEqualTo("image/gif");
        assertRefused(() -> images.detect(buf(Samples.pdf()), "doc.pdf"), "type_not_allowed");
        assertRefused(() -> images.detect(buf("just text\n".getBytes(StandardCharsets.US_ASCII)), "a.txt"),
                "type_not_allowed");
    }

    @Test
    void anExactTypeAllowsOnlyItselfAndSubtypesOnlyWhenAskedFor() {
        byte[] csv = "a,b\n1,2\n".getBytes(StandardCharsets.US_ASCII);
        TypeDetector exact = new TypeDetector(List.of("text/plain", "application/pdf"));
        assertRefused(() -> exact.detect(buf(csv), "t.csv"), "type_not_allowed");
        assertThat(exact.detect(buf(Samples.pdf()), "doc.pdf")).isEqualTo("application/pdf");

        TypeDetector texts = new TypeDetector(List.of("text/plain+subtypes", "application/pdf"));
        assertThat(texts.detect(buf(csv), "t.csv")).isEqualTo("text/csv");
        assertThat(texts.detect(buf(Samples.pdf()), "doc.pdf")).isEqualTo("application/pdf");
        assertRefused(() -> texts.detect(buf(Samples.png()), "photo.png"), "type_not_allowed");
    }

    @Test
    void aMismatchIsReportedBeforeTheAllowList() {
        TypeDetector images = new TypeDetector(List.of("image/*"));
        assertRefused(() -> images.detect(buf(Samples.png()), "photo.jpg"), "type_mismatch");
    }

    @Test
    void refusalsNameTheTypes() {
        assertThatThrownBy(() -> ANY.detect(buf(Samples.png()), "photo.jpg"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.details())
                        .containsEntry("detectedType", "image/png")
                        .containsEntry("extensionType", "image/jpeg"));
    }

    private static ByteBuffer buf(byte[] bytes) {
        return ByteBuffer.wrap(bytes);
    }

    private static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String code) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.status()).isEqualTo(415);
            assertThat(e.code()).isEqualTo(code);
        });
    }

    /** Small files of known types, built in memory. */
    static final class Samples {
        private Samples() {
        }

        static byte[] png() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            // IHDR: length 13, 1x1 pixel, 8-bit RGBA; CRC bytes are not checked by sniffing.
            out.writeBytes(new byte[]{0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
                    0x1f, 0x15, (byte) 0xc4, (byte) 0x89});
            out.writeBytes(random(200, 3));
            return out.toByteArray();
        }

        static byte[] gif() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes("GIF89a".getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(random(64, 4));
            return out.toByteArray();
        }

        static byte[] pdf() {
            return "%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
                    .getBytes(StandardCharsets.ISO_8859_1);
        }

        static byte[] random(int n, long seed) {
            byte[] b = new byte[n];
            new SplittableRandom(seed).nextBytes(b);
            return b;
        }

        static byte[] zip(String... names) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(out)) {
                for (String n : names) {
                    zip.putNextEntry(new ZipEntry(n));
                    zip.write(("content of " + n).getBytes(StandardCharsets.UTF_8));
                    zip.closeEntry();
                }
            }
            return out.toByteArray();
        }

        /**
         * A minimal workbook's zip structure. {@code contentTypesFirst}: the entry order Excel usually writes;
         * otherwise openpyxl's order (docProps/app.xml first, [Content_Types].xml last), which Tika's magic sees
         * as a plain zip.
         */
        static byte[] xlsx(boolean contentTypesFirst) throws IOException {
            if (contentTypesFirst) {
                return zip("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "xl/workbook.xml",
                        "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml");
            }
            return zip("docProps/app.xml", "docProps/core.xml", "xl/theme/theme1.xml", "xl/worksheets/sheet1.xml",
                    "xl/styles.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels",
                    "[Content_Types].xml");
        }
    }
}
