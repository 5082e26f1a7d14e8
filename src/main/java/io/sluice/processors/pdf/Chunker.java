package io.sluice.processors.pdf;

import java.io.IOException;
import java.util.Arrays;

/**
 * Cuts a stream of page texts into overlapping chunks, holding no more than the chunk being built.
 *
 * <p>Contract: every chunk is an exact substring of the text appended so far, at most {@code size} long. Chunk
 * {@code n+1} starts with the last {@code overlap} characters of chunk {@code n} and always brings new text, so
 * dropping those first characters of every chunk after the first and concatenating gives back the whole text. A
 * chunk ends just after the last whitespace in its final fifth when there is one (and beyond the overlap), otherwise
 * at exactly {@code size} characters (a word longer than that is cut). Surrogate pairs are never split: the overlap
 * is then one character shorter, and a cut one character earlier (or later, by one, in the degenerate case
 * {@code overlap == size - 1} where earlier would bring nothing new).
 * Chunks span pages; each records the pages of its first and last non-whitespace characters.
 *
 * <p>Not thread-safe: one per run.
 */
final class Chunker {

    /** Receives finished chunks in order. */
    @FunctionalInterface
    interface Sink {
        void accept(Chunk chunk) throws IOException;
    }

    private final int size;
    private final int overlap;
    private final Sink sink;
    private final StringBuilder buf = new StringBuilder();
    /** buf[offsets[i]..] came from pages[i]; offsets ascending, offsets[0] == 0 whenever buf is not empty. */
    private int[] offsets = new int[16];
    private int[] pages = new int[16];
    private int marks;
    /** Length of buf's prefix that was already emitted (the overlap carried over). */
    private int carried;
    private int chunks;
    private long characters;

    Chunker(int size, int overlap, Sink sink) {
        if (size < 1 || overlap < 0 || overlap >= size) {
            throw new IllegalArgumentException("size " + size + ", overlap " + overlap);
        }
        this.size = size;
        this.overlap = overlap;
        this.sink = sink;
    }

    /** Adds {@code text} from 1-based {@code page}; emits every chunk that is now complete. */
    void append(CharSequence text, int page) throws IOException {
        if (text.isEmpty()) {
            return;
        }
        mark(buf.length(), page);
        buf.append(text);
        characters += text.length();
        while (buf.length() > size) {
            emit(cutPoint());
        }
    }

    /** Emits the last, possibly short, chunk. */
    void finish() throws IOException {
        if (buf.length() > carried) {
            emit(buf.length());
        }
        buf.setLength(0);
        marks = 0;
        carried = 0;
    }

    /** Chunks emitted so far. */
    int chunks() {
        return chunks;
    }

    /** Characters appended so far (each counted once, not once per chunk that repeats it). */
    long characters() {
        return characters;
    }

    /** Where the next chunk ends (exclusive); called with buf longer than size. */
    private int cutPoint() {
        // Lowest acceptable end: the chunk must bring text beyond the carried overlap, and stay near the size.
        int lowest = Math.max(overlap + 1, size - size / 5);
        for (int end = size; end >= lowest; end--) {
            if (Character.isWhitespace(buf.charAt(end - 1))) {
                return end;
            }
        }
        int end = size;
        if (Character.isHighSurrogate(buf.charAt(end - 1))) {
            // Never split a surrogate pair: end before it, or (when that would bring nothing new) after it.
            end = end - 1 > carried ? end - 1 : end + 1;
        }
        return end;
    }

    private void emit(int end) throws IOException {
        String text = buf.substring(0, end);
        int first = 0;
        while (first < end - 1 && Character.isWhitespace(buf.charAt(first))) {
            first++;
        }
        int last = end - 1;
        while (last > first && Character.isWhitespace(buf.charAt(last))) {
            last--;
        }
        sink.accept(new Chunk(chunks++, text, pageAt(first), pageAt(last), text.length()));
        // The last chunk may be shorter than the overlap (a document shorter than it is one such chunk).
        int start = Math.max(0, end - overlap);
        if (start < end && Character.isLowSurrogate(buf.charAt(start))) {
            start++; // the overlap would begin with half a pair: one character fewer, so there is always progress
        }
        drop(start);
        carried = end - start;
    }

    private void mark(int offset, int page) {
        if (marks > 0 && pages[marks - 1] == page) {
            return;
        }
        if (marks == offsets.length) {
            offsets = Arrays.copyOf(offsets, marks * 2);
            pages = Arrays.copyOf(pages, marks * 2);
        }
        offsets[marks] = offset;
        pages[marks] = page;
        marks++;
    }

    private int pageAt(int offset) {
        int i = marks - 1;
        while (i > 0 && offsets[i] > offset) {
            i--;
        }
        return pages[i];
    }

    /** Removes buf[0, start) and the page marks wholly inside it. */
    private void drop(int start) {
        int keep = marks - 1;
        while (keep > 0 && offsets[keep] > start) {
            keep--;
        }
        // marks[keep] covers offset start: it becomes the first, at 0.
        int n = marks - keep;
        System.arraycopy(offsets, keep, offsets, 0, n);
        System.arraycopy(pages, keep, pages, 0, n);
        marks = n;
        offsets[0] = 0;
        for (int i = 1; i < marks; i++) {
            offsets[i] -= start;
        }
        buf.delete(0, start);
    }
}
