package io.sluice.processors.pdf;

import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.io.MemoryUsageSetting;
import org.apache.pdfbox.io.RandomAccessRead;
import org.apache.pdfbox.io.RandomAccessReadBufferedFile;
import org.apache.pdfbox.io.RandomAccessStreamCache.StreamCacheCreateFunction;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDDocumentInformation;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;

import java.io.IOException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.Calendar;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The configured {@code pdf} processor: extracts a PDF's text page by page into overlapping chunks (see
 * {@link Chunker}) and reports the document's metadata. Stateless; every run keeps its state on its own stack.
 *
 * <p>Failures meant for the user, all not retryable: {@code encrypted_pdf} (no or wrong password, or a security
 * handler that needs a certificate), {@code malformed_pdf} (empty, not a PDF, truncated — see {@link PdfEnvelope} —
 * or PDFBox cannot parse the file or one of its pages), {@code pdf_unreadable} (no page can be reached: a page
 * tree that is empty or loops on itself, whatever its {@code /Count} says), {@code too_many_pages} (more than
 * {@code maxPages}, refused before any extraction). A job that fails keeps the stage it failed in: "opening", or
 * the page whose text could not be extracted.
 */
final class PdfTask implements Processor.Task {

    /** Metadata strings are user-controlled: keep the summary small whatever the file says. */
    private static final int MAX_METADATA_CHARS = 1000;
    private static final int MAX_REASON_CHARS = 300;
    /** Between two pages' texts in the document text: a paragraph break, which is also a good chunk boundary. */
    private static final String PAGE_SEPARATOR = "\n\n";
    /** A document from which no page can be reached: retrying cannot help, so the job fails at once. */
    static final String UNREADABLE = "pdf_unreadable";

    private final PdfOptions options;

    PdfTask(PdfOptions options) {
        this.options = options;
    }

    PdfOptions options() {
        return options;
    }

    @Override
    public Processor.Result run(ProcessorContext ctx) throws Exception {
        ctx.checkpoint();
        ctx.progress(0, "opening", null);
        Path file = ctx.file();
        PdfEnvelope.check(file);
        // PDFBox buffers streams it creates or decodes in a scratch file in the attempt's own directory (removed
        // with the attempt), never in memory: memory must not grow with the file.
        StreamCacheCreateFunction cache = MemoryUsageSetting.setupTempFileOnly()
                .setTempDir(ctx.workDir().toFile()).streamCache;
        try (RandomAccessReadBufferedFile source = new RandomAccessReadBufferedFile(file);
             PDDocument doc = open(source, cache)) {
            int pages = pageCount(doc);
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("pages", pages);
            summary.putAll(metadata(doc));

            Extraction extraction = new Extraction(ctx, pages);
            PageStripper stripper = new PageStripper(extraction::page);
            try {
                stripper.extract(doc);
            } catch (PageStripper.SinkFailure f) {
                throw f.sinkException();
            } catch (IOException | RuntimeException e) {
                // The job keeps its last stage: name the page that failed, not the one before it.
                int failed = extraction.pagesDone + 1;
                ctx.progress((int) (100L * extraction.pagesDone / pages), "page " + failed + " of " + pages, null);
                throw new ProcessorException("malformed_pdf", "cannot extract the text of page " + failed + ": "
                        + reason(e), false, e);
            }
            extraction.chunker.finish();

            summary.put("chunks", extraction.chunker.chunks());
            summary.put("characters", extraction.chunker.characters());
            summary.put("encrypted", doc.isEncrypted());
            summary.put("pagesWithoutText", extraction.pagesWithoutText);
            return Processor.Result.of(summary);
        }
    }

    private PDDocument open(RandomAccessRead source, StreamCacheCreateFunction cache) throws ProcessorException {
        String password = options.password() == null ? "" : options.password();
        try {
            return Loader.loadPDF(source, password, cache);
        } catch (InvalidPasswordException e) {
            throw new ProcessorException("encrypted_pdf", options.password() == null
                    ? "the PDF is encrypted; set options.password to read it"
                    : "the PDF is encrypted and options.password does not open it", false, e);
        } catch (IOException | RuntimeException e) {
            if (fromSecurityHandler(e)) {
                throw new ProcessorException("encrypted_pdf", "the PDF's encryption is not supported (it may need "
                        + "a certificate): " + reason(e), false, e);
            }
            throw new ProcessorException("malformed_pdf", "not a readable PDF: " + reason(e), false, e);
        }
    }

    /**
     * The pages the page tree really leads to, counted by walking it (at most {@code maxPages + 1}), never its
     * {@code /Count}: a tree whose node lists itself as its kid claims any count and holds no page (PDFBox's walk
     * visits each node once), and one whose count is too small hides pages.
     *
     * @throws ProcessorException {@code pdf_unreadable} when no page can be reached, {@code too_many_pages} over
     *                            {@code maxPages}, {@code malformed_pdf} when walking the tree fails
     */
    private int pageCount(PDDocument doc) throws ProcessorException {
        int declared;
        int reached = 0;
        try {
            declared = doc.getNumberOfPages();
            Iterator<PDPage> it = doc.getPages().iterator();
            while (reached <= options.maxPages() && it.hasNext()) {
                it.next();
                reached++;
            }
        } catch (RuntimeException e) {
            throw new ProcessorException("malformed_pdf", "the PDF's page tree is broken: " + reason(e), false, e);
        }
        if (reached == 0) {
            throw new ProcessorException(UNREADABLE, declared == 0 ? "the PDF has no pages"
                    : "the PDF has no readable page: its page tree claims " + declared + " page(s) but leads to "
                    + "none (it is empty or refers back to itself)");
        }
        if (reached > options.maxPages()) {
            throw new ProcessorException("too_many_pages", "the PDF has " + (declared > options.maxPages()
                    ? declared + "" : "more than " + options.maxPages()) + " pages; this pipeline accepts at most "
                    + options.maxPages() + " (options.maxPages)");
        }
        return reached;
    }

    /** Title, author, ... from the document information dictionary; absent or unreadable fields are left out. */
    private static Map<String, Object> metadata(PDDocument doc) {
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            PDDocumentInformation info = doc.getDocumentInformation();
            putText(m, "title", info.getTitle());
            putText(m, "author", info.getAuthor());
            putText(m, "subject", info.getSubject());
            putText(m, "creator", info.getCreator());
            putText(m, "producer", info.getProducer());
            Calendar created = info.getCreationDate();
            if (created != null) {
                m.put("creationDate", OffsetDateTime.ofInstant(created.toInstant(),
                        created.getTimeZone().toZoneId()).toString());
            }
        } catch (RuntimeException e) {
            // A broken information dictionary costs the metadata, not the text.
        }
        return m;
    }

    private static void putText(Map<String, Object> m, String key, String value) {
        if (value != null && !value.isBlank()) {
            String v = value.strip();
            m.put(key, v.length() > MAX_METADATA_CHARS ? v.substring(0, MAX_METADATA_CHARS) : v);
        }
    }

    /** Whether PDFBox failed inside decryption (public-key security handler without a key store, ...). */
    private static boolean fromSecurityHandler(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            for (StackTraceElement frame : t.getStackTrace()) {
                if (frame.getClassName().startsWith("org.apache.pdfbox.pdmodel.encryption.")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String reason(Throwable e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return msg.length() > MAX_REASON_CHARS ? msg.substring(0, MAX_REASON_CHARS) + "..." : msg;
    }

    /** One run's state: what the per-page hook does with each page. */
    private final class Extraction {
        private final ProcessorContext ctx;
        private final int pages;
        private final Chunker chunker;
        private final long started = System.nanoTime();
        private int pagesDone;
        private int pagesWithoutText;

        Extraction(ProcessorContext ctx, int pages) {
            this.ctx = ctx;
            this.pages = pages;
            ProcessorContext.Output out = ctx.output();
            this.chunker = new Chunker(options.chunkSize(), options.chunkOverlap(), out::write);
        }

        /** The per-page hook: chunk the page's text, report progress, stop here if the job must stop. */
        void page(int page, String text) throws Exception {
            if (page > options.maxPages()) {
                // The page tree holds more pages than its /Count said.
                throw new ProcessorException("too_many_pages", "the PDF has more than " + options.maxPages()
                        + " pages (options.maxPages)");
            }
            String t = text.strip();
            if (t.isEmpty()) {
                pagesWithoutText++;
            } else {
                chunker.append(chunker.characters() == 0 ? t : PAGE_SEPARATOR + t, page);
            }
            pagesDone = page;
            int total = Math.max(pages, page);
            ctx.progress((int) (100L * page / total), "page " + page + " of " + total, eta(page, total));
            ctx.checkpoint();
        }

        private Long eta(int done, int total) {
            long elapsed = System.nanoTime() - started;
            if (done == 0 || elapsed <= 0) {
                return null;
            }
            double secondsPerPage = elapsed / 1e9 / done;
            return (long) Math.ceil(secondsPerPage * (total - done));
        }
    }
}
