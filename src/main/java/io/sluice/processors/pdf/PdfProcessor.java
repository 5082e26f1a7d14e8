package io.sluice.processors.pdf;

import io.sluice.processors.Processor;

import java.util.Map;

/**
 * {@code processor: pdf} — a PDF's text as NDJSON chunks ready for embeddings, with the document's metadata.
 *
 * <p>Options: {@code chunkSize} (characters, default 1000, at least 100), {@code chunkOverlap} (default 200, below
 * chunkSize), {@code maxPages} (default 2000), {@code password} (for encrypted documents). Output lines are
 * {@link Chunk}s; the summary has {@code pages, title, author, subject, creator, producer, creationDate} (those
 * present), {@code chunks, characters, encrypted, pagesWithoutText}. Failure codes, none retried: {@code encrypted_pdf},
 * {@code malformed_pdf}, {@code pdf_unreadable} (no page can be reached), {@code too_many_pages}.
 *
 * <p>Isolated by default: PDFBox parses hostile input, and its memory grows with a document's object count.
 */
public final class PdfProcessor implements Processor {

    @Override
    public String name() {
        return "pdf";
    }

    @Override
    public boolean isolatedByDefault() {
        return true;
    }

    @Override
    public Task configure(Map<String, Object> options) {
        return new PdfTask(PdfOptions.parse(options));
    }
}
