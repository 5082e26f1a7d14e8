package io.sluice.processors.pdf;

import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.text.PDFTextStripper;

import java.io.IOException;
import java.io.StringWriter;

/**
 * One {@link PDFTextStripper#writeText} pass over a document that hands each page's text to a {@link PageSink} as
 * soon as the page is done, in page order, including pages without content (PDFBox skips those without calling the
 * page hooks, so they are reported, with empty text, before the next page that has some and at the end).
 *
 * <p>Why not {@code setStartPage(i); getText()} per page: each call walks the document from the start, which is
 * quadratic in the page count. Only the current page's text is held here; PDFBox drops each page's resources after
 * the page ({@code removePageResourceFromCache}).
 *
 * <p>Anything the sink throws leaves {@link #extract} as a {@link SinkFailure}, so the caller can tell its own
 * failures (cancellation, output I/O) from PDFBox's (a broken document).
 */
final class PageStripper extends PDFTextStripper {

    /** Receives pages in order. */
    @FunctionalInterface
    interface PageSink {
        /**
         * @param page 1-based page number
         * @param text the page's text, lines separated by {@code \n}; empty when the page has none
         */
        void page(int page, String text) throws Exception;
    }

    /** Wraps what the {@link PageSink} threw, to carry it through PDFBox unchanged. */
    static final class SinkFailure extends RuntimeException {
        SinkFailure(Exception cause) {
            super(cause.toString(), cause, false, false);
        }

        /** What the sink threw. */
        Exception sinkException() {
            return (Exception) getCause();
        }
    }

    private final PageSink sink;
    /** The current page's text: PDFTextStripper writes here, endPage takes it. */
    private final StringWriter pageText = new StringWriter();
    /** The last page handed to the sink. */
    private int delivered;

    PageStripper(PageSink sink) {
        this.sink = sink;
        setLineSeparator("\n");
        setWordSeparator(" ");
        setPageStart("");
        setPageEnd("");
    }

    /**
     * Extracts every page of {@code document} into the sink.
     *
     * @throws IOException  when PDFBox cannot read the document
     * @throws SinkFailure  when the sink threw
     */
    void extract(PDDocument document) throws IOException {
        delivered = 0;
        writeText(document, pageText);
    }

    @Override
    protected void startPage(PDPage page) throws IOException {
        deliverEmptyPagesBefore(getCurrentPageNo());
        pageText.getBuffer().setLength(0);
        super.startPage(page);
    }

    @Override
    protected void endPage(PDPage page) throws IOException {
        super.endPage(page);
        String text = pageText.toString();
        pageText.getBuffer().setLength(0);
        deliver(getCurrentPageNo(), text);
    }

    @Override
    protected void endDocument(PDDocument document) throws IOException {
        super.endDocument(document);
        // After the last page the counter stands one past it.
        deliverEmptyPagesBefore(getCurrentPageNo());
    }

    private void deliverEmptyPagesBefore(int page) {
        while (delivered < page - 1) {
            deliver(delivered + 1, "");
        }
    }

    private void deliver(int page, String text) {
        delivered = page;
        try {
            sink.page(page, text);
        } catch (Exception e) {
            throw new SinkFailure(e);
        }
    }
}
