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
