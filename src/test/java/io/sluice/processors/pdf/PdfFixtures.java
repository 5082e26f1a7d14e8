package io.sluice.processors.pdf;

import io.sluice.processors.FileContext;
import io.sluice.processors.ProcessorContext;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.pdfwriter.compress.CompressParameters;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * PDFs generated with PDFBox for the {@code pdf} processor's tests and benchmark, and a {@link FileContext} over
 * them. Each text line starts with a token {@code [p<page>.l<line>]} so that a chunk's pages can be read off its
 * text.
 */
public final class PdfFixtures {

    /** Lines per generated page; at 10 pt with 12 pt leading they fit a Letter page. */
    public static final int LINES_PER_PAGE = 12;

    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
        "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"};

    private PdfFixtures() {
    }

    /** The known text of one generated page: {@link #LINES_PER_PAGE} lines of about 70 characters. */
    public static List<String> pageLines(int page) {
        List<String> lines = new ArrayList<>(LINES_PER_PAGE);
        for (int l = 1; l <= LINES_PER_PAGE; l++) {
            StringBuilder sb = new StringBuilder("[p").append(page).append(".l").append(l).append(']');
            for (int w = 0; sb.length() < 64; w++) {
                sb.append(' ').append(WORDS[(page * 7 + l * 3 + w) % WORDS.length]);
            }
            lines.add(sb.toString());
        }
        return lines;
    }

    /** What the processor should extract from a page: its lines joined by newlines. */
    public static String pageText(int page) {
        return String.join("\n", pageLines(page));
    }

    /**
     * Writes a PDF whose page {@code i} (1-based) carries {@code pages.get(i - 1)}: its lines, or no content
     * stream at all when null, or only a filled rectangle (no text) when empty.
     *
     * @param customize runs before saving (set metadata, protect, ...)
     */
    public static Path write(Path file, List<List<String>> pages, Consumer<PDDocument> customize) throws IOException {
        try (PDDocument doc = new PDDocument()) {
            PDType1Font helvetica = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
            for (List<String> lines : pages) {
                PDPage page = new PDPage();
                doc.addPage(page);
                if (lines == null) {
                    continue;
                }
                try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
                    if (lines.isEmpty()) {
                        cs.addRect(100, 100, 200, 300);
                        cs.fill();
                        continue;
                    }
                    cs.beginText();
                    cs.setFont(helvetica, 10);
                    cs.setLeading(12);
                    cs.newLineAtOffset(50, 740);
                    for (String line : lines) {
                        cs.showText(line);
                        cs.newLine();
                    }
                    cs.endText();
                }
            }
            customize.accept(doc);
            doc.save(file.toFile());
        }
        return file;
    }

    /** A PDF of {@code n} generated pages ({@link #pageLines}). */
    public static Path write(Path file, int n, Consumer<PDDocument> customize) throws IOException {
        List<List<String>> pages = new ArrayList<>(n);
        for (int p = 1; p <= n; p++) {
            pages.add(pageLines(p));
        }
        return write(file, pages, customize);
    }

    /**
     * Rewrites {@code pdf} without object streams or a cross-reference stream: every object in the open with a
     * classic xref table, as most producers other than PDFBox 3 write them. Returns the new file.
     */
    public static Path classic(Path pdf, Path out) throws IOException {
        try (PDDocument doc = Loader.loadPDF(pdf.toFile())) {
            doc.save(out.toFile(), CompressParameters.NO_COMPRESSION);
        }
        return out;
    }

    /**
     * A PDF written by hand, object by object, with a correct cross-reference table: for structures PDFBox refuses
     * to write. {@code objects.get(i)} is the body of object {@code i + 1}; object 1 must be the catalog.
     */
    public static Path handWritten(Path file, List<String> objects) throws IOException {
        StringBuilder pdf = new StringBuilder("%PDF-1.4\n");
        int[] offsets = new int[objects.size()];
        for (int i = 0; i < objects.size(); i++) {
            offsets[i] = pdf.length();
            pdf.append(i + 1).append(" 0 obj\n").append(objects.get(i)).append("\nendobj\n");
        }
        int xref = pdf.length();
        pdf.append("xref\n0 ").append(objects.size() + 1).append("\n0000000000 65535 f \n");
        for (int offset : offsets) {
            pdf.append("%010d 00000 n \n".formatted(offset));
        }
        pdf.append("trailer\n<< /Size ").append(objects.size() + 1).append(" /Root 1 0 R >>\nstartxref\n")
                .append(xref).append("\n%%EOF\n");
        return Files.writeString(file, pdf, java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** A page tree whose only node lists itself as its kid and claims 99,999,999 pages: no page can be reached. */
    public static Path loopingPageTree(Path file) throws IOException {
        return handWritten(file, List.of("<< /Type /Catalog /Pages 2 0 R >>",
                "<< /Type /Pages /Kids [2 0 R] /Count 99999999 >>"));
    }

    /** One progress report. */
    public record Report(int percent, String stage, Long eta) {
    }

    /** A context over {@code file}, writing to {@code dir/out.ndjson}, with {@code dir/work} as its work dir. */
    public static FileContext context(Path file, Path dir, List<Report> reports, Runnable checkpoint)
            throws IOException {
        var upload = new ProcessorContext.UploadInfo("u1", file.getFileName().toString(), Files.size(file), "0"
                .repeat(64), "application/pdf", Map.of());
        return new FileContext(upload, file, dir.resolve("work"), dir.resolve("out.ndjson"),
                (percent, stage, eta) -> reports.add(new Report(percent, stage, eta)), checkpoint);
    }
}
