package io.sluice.processors.pdf;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The chunking contract on arbitrary text: exact substrings, overlap, bounds, page ranges, no split pairs. */
class ChunkerTest {

    /** Text appended page by page, with each character's page remembered. */
    private record Fed(String text, int[] pageOf) {
    }

    private static Fed feed(Chunker chunker, List<String> pages) throws IOException {
        StringBuilder all = new StringBuilder();
        List<Integer> pageOf = new ArrayList<>();
        for (int p = 0; p < pages.size(); p++) {
            chunker.append(pages.get(p), p + 1);
            all.append(pages.get(p));
            for (int i = 0; i < pages.get(p).length(); i++) {
                pageOf.add(p + 1);
            }
        }
        chunker.finish();
        return new Fed(all.toString(), pageOf.stream().mapToInt(Integer::intValue).toArray());
    }

    private static void assertContract(List<Chunk> chunks, Fed fed, int size, int overlap) {
        StringBuilder rebuilt = new StringBuilder();
        for (int n = 0; n < chunks.size(); n++) {
            Chunk c = chunks.get(n);
            assertThat(c.chunk()).isEqualTo(n);
            assertThat(c.chars()).isEqualTo(c.text().length()).isPositive();
            if (c.chars() > size) {
                // Only to keep a surrogate pair whole when the overlap leaves room for nothing else.
                assertThat(c.chars()).isEqualTo(size + 1);
                assertThat(overlap).isEqualTo(size - 1);
                assertThat(Character.isLowSurrogate(c.text().charAt(size))).isTrue();
            }
            int start;
            int carried = 0;
            if (n == 0) {
                start = 0;
            } else {
                String prev = chunks.get(n - 1).text();
                carried = overlap;
                // One fewer when the overlap would start inside a surrogate pair.
                if (overlap > 0 && Character.isLowSurrogate(prev.charAt(prev.length() - overlap))) {
                    carried--;
                }
                assertThat(c.text()).startsWith(prev.substring(prev.length() - carried));
                assertThat(c.text().length()).as("chunk %d brings new text", n).isGreaterThan(carried);
                start = rebuilt.length() - carried;
            }
            rebuilt.append(c.text(), carried, c.text().length());
            assertThat(fed.text().substring(start, start + c.chars())).isEqualTo(c.text());
            assertThat(Character.isHighSurrogate(c.text().charAt(c.chars() - 1))).isFalse();
            assertThat(Character.isLowSurrogate(c.text().charAt(0))).isFalse();
            int first = start;
            int last = start + c.chars() - 1;
            while (first < last && Character.isWhitespace(fed.text().charAt(first))) {
                first++;
            }
            while (last > first && Character.isWhitespace(fed.text().charAt(last))) {
                last--;
            }
            assertThat(c.pageStart()).isEqualTo(fed.pageOf()[first]);
            assertThat(c.pageEnd()).isEqualTo(fed.pageOf()[last]);
        }
        assertThat(rebuilt.toString()).isEqualTo(fed.text());
    }

    @RepeatedTest(300)
    void randomTextKeepsTheContract(RepetitionInfo info) throws IOException {
        Random rnd = new Random(info.getCurrentRepetition());
        int size = 100 + rnd.nextInt(400);
        int overlap = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(size);
        String[] pieces = {"a", "bb", "lorem", "ipsum", " ", " ", "\n", "\n\n", "\uD83D\uDE00", "é",
            "x".repeat(150), "\t"};
        List<String> pages = new ArrayList<>();
        for (int p = rnd.nextInt(12); p >= 0; p--) {
            StringBuilder sb = new StringBuilder();
            for (int k = rnd.nextInt(400); k > 0; k--) {
                sb.append(pieces[rnd.nextInt(pieces.length)]);
            }
            pages.add(sb.toString());
        }
        List<Chunk> chunks = new ArrayList<>();
        Chunker chunker = new Chunker(size, overlap, chunks::add);

        Fed fed = feed(chunker, pages);

        assertContract(chunks, fed, size, overlap);
        assertThat(chunker.chunks()).isEqualTo(chunks.size());
        assertThat(chunker.characters()).isEqualTo(fed.text().length());
    }

    /**
     * Every text length from 0 to {@value #MAX_LENGTH} under chunk settings at the edges of what {@link PdfOptions}
     * allows (the smallest size, overlap 0, 1, size - 2, size - 1, ...) and the default: never an exception, and the
     * contract every time. The text mixes words, line breaks, long unbroken runs and surrogate pairs, and is fed as
     * pages of varying length, so cuts land on every kind of character.
     */
    @Test
    void everyLengthUnderEverySettingKeepsTheContract() throws IOException {
        String text = propertyText();
        int runs = 0;
        for (int[] setting : settings()) {
            int size = setting[0];
            int overlap = setting[1];
            for (int length = 0; length <= MAX_LENGTH; length++) {
                if (length > 0 && Character.isHighSurrogate(text.charAt(length - 1))) {
                    continue; // not a text: it would end in half a character
                }
                List<String> pages = pages(text.substring(0, length), length);
                List<Chunk> chunks = new ArrayList<>();
                Chunker chunker = new Chunker(size, overlap, chunks::add);

                Fed fed = feed(chunker, pages);

                String broken = brokenInvariant(chunks, fed.text(), size, overlap);
                if (broken != null) {
                    // Plain checks above (millions of chunks); the full contract, with its messages, on a failure.
                    assertContract(chunks, fed, size, overlap);
                    throw new AssertionError("size " + size + ", overlap " + overlap + ", length " + length + ": "
                            + broken);
                }
                assertThat(chunker.characters()).isEqualTo(length);
                runs++;
            }
        }
        assertThat(runs).isGreaterThan(settings().size() * MAX_LENGTH * 9 / 10);
    }

    private static final int MAX_LENGTH = 2000;

    /**
     * The contract in plain code, fast enough for every length: none for no text; one chunk equal to the text when
     * it fits; else each chunk at most {@code size} (one more only to keep a pair whole), in order, an exact
     * substring, starting with the configured overlap of the one before and bringing new text, the last ending
     * where the text ends. Returns what is broken, or null.
     */
    private static String brokenInvariant(List<Chunk> chunks, String text, int size, int overlap) {
        if (text.isEmpty()) {
            return chunks.isEmpty() ? null : "chunks of no text";
        }
        if (text.length() <= size && (chunks.size() != 1 || !chunks.getFirst().text().equals(text))) {
            return "a text that fits is not one chunk";
        }
        int start = 0;
        for (int n = 0; n < chunks.size(); n++) {
            Chunk c = chunks.get(n);
            String t = c.text();
            if (c.chunk() != n || c.chars() != t.length() || t.isEmpty()) {
                return "chunk " + n + " numbered or counted wrong";
            }
            if (t.length() > size && !(t.length() == size + 1 && overlap == size - 1)) {
                return "chunk " + n + " has " + t.length() + " characters";
            }
            if (n > 0) {
                String prev = chunks.get(n - 1).text();
                int carried = overlap;
                if (overlap > 0 && Character.isLowSurrogate(prev.charAt(prev.length() - overlap))) {
                    carried--;
                }
                if (!t.regionMatches(0, prev, prev.length() - carried, carried) || t.length() <= carried) {
                    return "chunk " + n + " does not start with the overlap or brings nothing new";
                }
                start += prev.length() - carried;
            }
            if (!text.regionMatches(start, t, 0, t.length())) {
                return "chunk " + n + " is not the text at " + start;
            }
        }
        return start + chunks.getLast().chars() == text.length() ? null : "the last chunk does not end the text";
    }

    /** (size, overlap) pairs: the limits of the options, their neighbours, and the default. */
    private static List<int[]> settings() {
        List<int[]> out = new ArrayList<>();
        // overlap = size - 1 (one new character per chunk) costs size x length per run: only at the smallest sizes.
        for (int size : new int[] {PdfOptions.MIN_CHUNK_SIZE, PdfOptions.MIN_CHUNK_SIZE + 1}) {
            for (int overlap : new int[] {0, 1, 2, size / 5, size / 2, size - size / 5, size - 1}) {
                out.add(new int[] {size, overlap});
            }
        }
        for (int overlap : new int[] {0, 1, 128, 206}) {
            out.add(new int[] {257, overlap});
        }
        out.add(new int[] {PdfOptions.DEFAULT_CHUNK_SIZE, PdfOptions.DEFAULT_CHUNK_OVERLAP});
        out.add(new int[] {PdfOptions.DEFAULT_CHUNK_SIZE, 0});
        out.add(new int[] {PdfOptions.DEFAULT_CHUNK_SIZE, PdfOptions.DEFAULT_CHUNK_SIZE / 2});
        out.add(new int[] {MAX_LENGTH, PdfOptions.DEFAULT_CHUNK_OVERLAP});
        out.add(new int[] {MAX_LENGTH + 1, MAX_LENGTH});
        return out;
    }

    /** Deterministic text with every kind of cut point: spaces, newlines, 150-character words, surrogate pairs. */
    private static String propertyText() {
        Random rnd = new Random(13);
        String[] pieces = {"a", "bb", "lorem", "ipsum", " ", " ", "\n", "\n\n", "\uD83D\uDE00", "é",
            "x".repeat(150), "\t"};
        StringBuilder sb = new StringBuilder();
        while (sb.length() < MAX_LENGTH + 200) {
            sb.append(pieces[rnd.nextInt(pieces.length)]);
        }
        return sb.toString();
    }

    /** {@code text} cut into pages whose lengths depend on the text's length (never splitting a pair). */
    private static List<String> pages(String text, int seed) {
        Random rnd = new Random(seed);
        List<String> pages = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int to = Math.min(text.length(), from + 1 + rnd.nextInt(700));
            if (to < text.length() && Character.isHighSurrogate(text.charAt(to - 1))) {
                to++;
            }
            pages.add(text.substring(from, to));
            from = to;
        }
        return pages;
    }

    @Test
    void aWordLongerThanTheSizeIsCut() throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        Chunker chunker = new Chunker(100, 10, chunks::add);

        feed(chunker, List.of("y".repeat(250)));

        assertThat(chunks).extracting(Chunk::chars).containsExactly(100, 100, 70);
    }

    @Test
    void chunksBreakAfterTheLastWhitespaceInTheirFinalFifth() throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        Chunker chunker = new Chunker(100, 0, chunks::add);
        // Spaces at 49 (too early: before the final fifth) and 84: the chunk ends after the space at 84.
        String text = "a".repeat(49) + " " + "b".repeat(34) + " " + "c".repeat(60);

        feed(chunker, List.of(text));

        assertThat(chunks).extracting(Chunk::text).containsExactly(text.substring(0, 85), text.substring(85));
    }

    @Test
    void whitespaceAtPageEdgesDoesNotCountForPageRanges() throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        Chunker chunker = new Chunker(100, 0, chunks::add);

        feed(chunker, List.of("one", "\n\ntwo\n\n", "   "));

        assertThat(chunks).containsExactly(new Chunk(0, "one\n\ntwo\n\n   ", 1, 2, 13));
    }

    @Test
    void surrogatePairsAreNeverSplit() throws IOException {
        String smiley = "\uD83D\uDE00";
        // A hard cut that would fall inside the pair ends before it.
        List<Chunk> cut = new ArrayList<>();
        feed(new Chunker(100, 0, cut::add), List.of("x".repeat(99) + smiley + "y".repeat(20)));
        assertThat(cut).extracting(Chunk::text).containsExactly("x".repeat(99), smiley + "y".repeat(20));

        // An overlap that would start inside the pair is one character shorter.
        List<Chunk> overlapped = new ArrayList<>();
        feed(new Chunker(100, 3, overlapped::add), List.of("x".repeat(96) + smiley + "zz" + "y".repeat(20)));
        assertThat(overlapped).extracting(Chunk::text)
                .containsExactly("x".repeat(96) + smiley + "zz", "zz" + "y".repeat(20));

        // With overlap = size - 1 the only new character would be half the pair: the chunk takes it whole.
        List<Chunk> degenerate = new ArrayList<>();
        feed(new Chunker(100, 99, degenerate::add), List.of("x".repeat(100) + smiley + "y"));
        assertThat(degenerate).extracting(Chunk::chars).containsExactly(100, 101, 100);
        assertThat(degenerate.get(1).text()).endsWith(smiley);
    }
}
