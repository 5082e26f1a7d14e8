package io.sluice.processors.pdf;

/**
 * One NDJSON output line of the {@code pdf} processor:
 * {@code {"chunk":0,"text":"...","pageStart":1,"pageEnd":2,"chars":987}}.
 *
 * @param chunk     0-based position in the document
 * @param text      an exact substring of the document's extracted text
 * @param pageStart 1-based page of the chunk's first non-whitespace character
 * @param pageEnd   1-based page of its last non-whitespace character ({@code >= pageStart})
 * @param chars     {@code text.length()} (UTF-16 code units, the unit {@code chunkSize} counts in)
 */
public record Chunk(int chunk, String text, int pageStart, int pageEnd, int chars) {
}
