package io.sluice.upload;

import org.apache.tika.metadata.Metadata;
import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MimeTypes;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link CompiledMagic} must give exactly Tika's answer: for a head built from every byte clause of the registry
 * (the pattern at the start and at the end of its offset range, over random and over zero bytes, and cut one byte
 * short at either end), and for real samples, text, markup and random bytes of many lengths.
 */
class CompiledMagicTest {

    private static final MimeTypes TYPES = MimeTypes.getDefaultMimeTypes();
    private static final CompiledMagic COMPILED = CompiledMagic.of(TYPES).orElseThrow(
            () -> new AssertionError("tika-core's magic table could not be read: TypeDetector would fall back to "
                    + "Tika's slow path on every upload (a Tika upgrade changed its internals?)"));

    @Test
    void everyByteClauseOfTheRegistryGivesTikasAnswer() throws IOException {
        List<CompiledMagic.Match> matches = new ArrayList<>();
        COMPILED.forEachByteMatch(matches::add);
        assertThat(matches).hasSizeGreaterThan(1000);
        SplittableRandom random = new SplittableRandom(14);
        List<String> wrong = new ArrayList<>();
        int compared = 0;
        for (CompiledMagic.Match m : matches) {
            int size = Math.min(TYPES.getMinLength(), Math.max(m.end() + m.length() + 64, 2048));
            byte[] noise = new byte[size];
            random.nextBytes(noise);
            List<byte[]> heads = List.of(
                    place(noise, m, m.begin()),
                    place(noise, m, m.end()),
                    place(new byte[size], m, m.begin()),
                    Arrays.copyOf(place(noise, m, m.begin()), Math.max(1, m.begin() + m.length() - 1)),
                    // at the end of its range and cut inside it: the bytes past the head read as zeros
                    Arrays.copyOf(place(noise, m, m.end()), Math.max(1, m.end() + m.length() - 1)));
            for (byte[] head : heads) {
                compared += compare(head, wrong);
            }
        }
        assertThat(wrong).as("heads where CompiledMagic and Tika differ").isEmpty();
        assertThat(compared).as("heads CompiledMagic answered itself").isGreaterThan(matches.size());
    }

    @Test
    void samplesTextMarkupAndRandomBytesGiveTikasAnswer() throws IOException {
        List<byte[]> heads = new ArrayList<>(List.of(
                TypeDetectorTest.Samples.png(), TypeDetectorTest.Samples.gif(), TypeDetectorTest.Samples.pdf(),
                TypeDetectorTest.Samples.zip("a.txt"), TypeDetectorTest.Samples.zip("[Content_Types].xml", "xl/workbook.xml"),
                ascii("sku,name,stock\nA-1,Widget,3\n"), ascii("#!/bin/sh\necho hi\n"), ascii("<?php echo 1; ?>"),
                ascii("<!DOCTYPE html><html><head><title>t</title></head><body></body></html>"),
                ascii("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"), ascii("%!PS-Adobe-3.0\n"),
                ascii("%!PS-Adobe-3.0\n%%Creator: x\n%AI5_FileFormat 3\n"), ascii("%PDF-1.4\r%AI5_FileFormat 2\r"),
                ascii("{\"a\": 1}"), ascii("From: a@example.com\r\nSubject: hi\r\n\r\nbody"), ascii("BEGIN:VCARD\r\n"),
                "plain words ünïcödé\n".getBytes(StandardCharsets.UTF_8), new byte[]{0}, new byte[]{'P', 'K'}));
        SplittableRandom random = new SplittableRandom(15);
        for (int size : new int[]{1, 2, 7, 100, 511, 4096, 8191, 8192, 9000, 32_769, 65_536}) {
            for (int i = 0; i < 5; i++) {
                byte[] b = new byte[size];
                random.nextBytes(b);
                heads.add(b);
            }
        }
        // Around the text statistics' 10 % boundary, which CompiledMagic.certainlyBinary decides early.
        for (int high : new int[]{99, 100, 101, 5000}) {
            for (int top : new int[]{0xf8, 0xc3}) {
                byte[] b = new byte[1000];
                Arrays.fill(b, (byte) 'a');
                for (int i = 0; i < Math.min(high, b.length); i++) {
                    b[b.length - 1 - i * 7 % b.length] = (byte) (i == 0 ? top : 0x80 + i % 64);
                }
                heads.add(b);
            }
        }
        List<String> wrong = new ArrayList<>();
        for (byte[] head : heads) {
            compare(head, wrong);
        }
        assertThat(wrong).as("heads where CompiledMagic and Tika differ").isEmpty();
    }

    /**
     * The candidate index may only skip magics that cannot match: over random heads of many lengths, zero heads,
     * text, samples and a head built from each magic's own byte clauses (all of them placed, over random and zero
     * bytes), every magic whose clause matches must be a candidate, and each magic's own head must give Tika's
     * answer.
     */
    @Test
    void everyMagicThatMatchesIsACandidate() throws IOException {
        List<CompiledMagic.Entry> magics = COMPILED.magics();
        List<byte[]> heads = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(16);
        for (int size : new int[]{1, 2, 3, 4, 8, 16, 64, 257, 1024, 2100, 8200, 32_800, 65_536}) {
            for (int i = 0; i < 4; i++) {
                byte[] b = new byte[size];
                random.nextBytes(b);
                heads.add(b);
            }
            heads.add(new byte[size]);
            byte[] text = new byte[size];
            String letters = " etaoinshrdlu\n,;<>/=\"ETAOIN0123456789";
            for (int i = 0; i < size; i++) {
                text[i] = (byte) letters.charAt(random.nextInt(letters.length()));
            }
            heads.add(text);
        }
        heads.addAll(List.of(TypeDetectorTest.Samples.png(), TypeDetectorTest.Samples.gif(),
                TypeDetectorTest.Samples.pdf(), TypeDetectorTest.Samples.zip("a.txt"),
                ascii("BZh91AY&SY"), ascii("FCS3.0    "), ascii("JAVA PROFILE 1.0.2\0"), ascii("function y = f(x)\n")));
        List<String> wrong = new ArrayList<>();
        int own = 0;
        for (CompiledMagic.Entry e : magics) {
            List<CompiledMagic.Match> clauses = new ArrayList<>();
            collect(e.clause(), clauses);
            int size = 64;
            for (CompiledMagic.Match m : clauses) {
                size = Math.max(size, m.begin() + m.length() + 64);
            }
            size = Math.min(size, TYPES.getMinLength());
            byte[] noise = new byte[size];
            random.nextBytes(noise);
            for (byte[] background : List.of(noise, new byte[size])) {
                byte[] head = background.clone();
                for (CompiledMagic.Match m : clauses) {
                    head = place(head, m, m.begin());
                }
                heads.add(head);
                if (e.clause().eval(head)) {
                    own++;
                    compare(head, wrong);
                }
            }
        }
        List<String> missed = new ArrayList<>();
        for (byte[] head : heads) {
            BitSet candidates = COMPILED.candidatesFor(head);
            for (int i = 0; i < magics.size(); i++) {
                if (!candidates.get(i) && magics.get(i).clause().eval(head)) {
                    missed.add(magics.get(i).type() + " (magic " + i + ") matches " + head.length + " bytes starting "
                            + HexPrefix.of(head) + " but is not a candidate");
                }
            }
        }
        assertThat(missed).as("magics the index skipped although they match").isEmpty();
        assertThat(wrong).as("heads where CompiledMagic and Tika differ").isEmpty();
        assertThat(own).as("magics matched by the head built from their own bytes").isGreaterThan(magics.size() / 2);
    }

    /** The index is in use: bytes no magic matches leave only a small part of the registry to evaluate. */
    @Test
    void randomBytesLeaveFewCandidates() {
        byte[] head = new byte[65_536];
        new SplittableRandom(17).nextBytes(head);
        assertThat(COMPILED.candidatesFor(head).cardinality()).isLessThan(COMPILED.magics().size() / 5);
    }

    @Test
    void firstCharactersAreReadOnlyFromPlainStarts() {
        boolean[] ai = CompiledMagic.FirstChars.of("[\r\n]%AI5_FileFormat [1-4][\r\n]");
        assertThat(ai).isNotNull();
        for (int c = 0; c < 256; c++) {
            assertThat(ai[c]).as("char %d", c).isEqualTo(c == '\r' || c == '\n');
        }
        assertThat(CompiledMagic.FirstChars.of("BEGIN:VCARD")[0x42]).isTrue();
        assertThat(CompiledMagic.FirstChars.of("(?s)^\\s*graph")).isNull();
        assertThat(CompiledMagic.FirstChars.of("a|b")).isNull();
        assertThat(CompiledMagic.FirstChars.of("x?y")).isNull();
        assertThat(CompiledMagic.FirstChars.of("[a-c]*d")).isNull();
        assertThat(CompiledMagic.FirstChars.of("[^a]b")).isNull();
        assertThat(CompiledMagic.FirstChars.of("\\s+x")).isNull();
    }

    /** Adds a description to {@code wrong} when the answers differ; 1 when CompiledMagic answered, 0 when it deferred. */
    private static int compare(byte[] head, List<String> wrong) throws IOException {
        MediaType fast = COMPILED.detect(head);
        if (fast == null) {
            return 0;
        }
        MediaType tika = TYPES.detect(new ByteArrayInputStream(head), new Metadata());
        if (!fast.equals(tika)) {
            wrong.add(head.length + " bytes starting " + HexPrefix.of(head) + ": compiled " + fast + ", Tika " + tika);
        }
        return 1;
    }

    private static void collect(CompiledMagic.Clause c, List<CompiledMagic.Match> out) {
        switch (c) {
            case CompiledMagic.Match m -> {
                if (m.regex() == null) {
                    out.add(m);
                }
            }
            case CompiledMagic.All a -> a.clauses().forEach(x -> collect(x, out));
            case CompiledMagic.AtLeast o -> o.clauses().forEach(x -> collect(x, out));
        }
    }

    private static byte[] place(byte[] background, CompiledMagic.Match m, int at) {
        byte[] b = background.clone();
        for (int j = 0; j < m.length() && at + j < b.length; j++) {
            b[at + j] = (byte) ((b[at + j] & ~m.mask()[j]) | m.pattern()[j]);
        }
        return b;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static final class HexPrefix {
        static String of(byte[] b) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < Math.min(16, b.length); i++) {
                s.append(String.format("%02x", b[i]));
            }
            return s.toString();
        }
    }
}
