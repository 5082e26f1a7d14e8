package io.sluice.upload;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * An index of the magics by necessary conditions on single bytes at fixed offsets. A byte clause with a fixed
 * offset ({@code begin == end}) matches only when the whole pattern lies inside the head (Tika pads nothing
 * there), so the head's byte at {@code begin + j} must be one of the values Tika's comparison accepts for
 * pattern byte {@code j}: the most selective {@code j} is the clause's key. An AND needs any one of its keys
 * (the most selective is used), an OR / min-should-match needs one of all its children's keys (so a child
 * without a key leaves the whole clause without one). A regular expression at a fixed offset is keyed by its
 * first characters when {@link CompiledMagic.FirstChars} can read them. Magics without a key (offset ranges, most
 * regular expressions) are always evaluated. On random bytes 67 of tika-core 3.3.2's 849 magics remain to
 * evaluate: a few dozen bytes looked up replace the evaluation of several hundred clauses.
 *
 * <p>Built once with the compiled table ({@link CompiledMagic}); read-only afterwards, so shared by all threads.
 *
 * @param always  bit set of the magics evaluated for every head
 * @param offsets the distinct key offsets, ascending
 * @param byByte  per offset (same index), per byte value, the magics with a key satisfied by it (null: none)
 */
record MagicIndex(long[] always, int[] offsets, int[][][] byByte) {

    /** A necessary condition: the head's byte at {@code offset} is one of {@code accepted}. */
    private record Key(int offset, boolean[] accepted, int count) {
    }

    static MagicIndex of(List<CompiledMagic.Entry> magics) {
        long[] always = new long[(magics.size() + 63) >>> 6];
        TreeMap<Integer, List<List<Integer>>> index = new TreeMap<>();
        for (int i = 0; i < magics.size(); i++) {
            List<Key> keys = keys(magics.get(i).clause());
            if (keys == null) {
                always[i >>> 6] |= 1L << i;
                continue;
            }
            for (Key k : keys) {
                List<List<Integer>> perByte = index.computeIfAbsent(k.offset(), o -> {
                    List<List<Integer>> l = new ArrayList<>(256);
                    for (int b = 0; b < 256; b++) {
                        l.add(new ArrayList<>());
                    }
                    return l;
                });
                for (int b = 0; b < 256; b++) {
                    if (k.accepted()[b]) {
                        perByte.get(b).add(i);
                    }
                }
            }
        }
        int[] offsets = new int[index.size()];
        int[][][] byByte = new int[index.size()][][];
        int o = 0;
        for (Map.Entry<Integer, List<List<Integer>>> e : index.entrySet()) {
            offsets[o] = e.getKey();
            byByte[o] = new int[256][];
            for (int b = 0; b < 256; b++) {
                List<Integer> l = e.getValue().get(b);
                byByte[o][b] = l.isEmpty() ? null : l.stream().mapToInt(Integer::intValue).toArray();
            }
            o++;
        }
        return new MagicIndex(always, offsets, byByte);
    }

    /** The magics that can match {@code head}, as a bit set over the registry's order. */
    long[] of(byte[] head) {
        long[] maybe = always.clone();
        for (int k = 0; k < offsets.length && offsets[k] < head.length; k++) {
            int[] hit = byByte[k][head[offsets[k]] & 0xff];
            if (hit != null) {
                for (int i : hit) {
                    maybe[i >>> 6] |= 1L << i;
                }
            }
        }
        return maybe;
    }

    /** A disjunction of keys necessary for {@code c} to match, or null when there is none to use. */
    private static List<Key> keys(CompiledMagic.Clause c) {
        return switch (c) {
            case CompiledMagic.Match m -> {
                if (m.begin() != m.end()) {
                    yield null;
                }
                if (m.regex() != null) {
                    yield regexKey(m);
                }
                Key best = null;
                for (int j = 0; j < m.length(); j++) {
                    boolean[] accepted = CompiledMagic.Reader.firstBytes(m.pattern()[j], m.mask()[j], m.ignoreCase());
                    int count = 0;
                    for (boolean a : accepted) {
                        count += a ? 1 : 0;
                    }
                    if (best == null || count < best.count()) {
                        best = new Key(m.begin() + j, accepted, count);
                    }
                }
                yield best == null || best.count() == 256 ? null : List.of(best);
            }
            case CompiledMagic.All a -> {
                List<Key> best = null;
                for (CompiledMagic.Clause x : a.clauses()) {
                    List<Key> k = keys(x);
                    if (k != null && (best == null || cost(k) < cost(best))) {
                        best = k;
                    }
                }
                yield best;
            }
            case CompiledMagic.AtLeast o -> {
                if (o.min() < 1 || o.clauses().isEmpty()) {
                    yield null;
                }
                List<Key> any = new ArrayList<>();
                for (CompiledMagic.Clause x : o.clauses()) {
                    List<Key> k = keys(x);
                    if (k == null) {
                        yield null;
                    }
                    any.addAll(k);
                }
                yield List.copyOf(any);
            }
        };
    }

    /**
     * A regular expression at a fixed offset matches from the window's first character, the head's byte at
     * {@code begin} (or a zero past the head, so a start that admits zero gets no key); its possible first
     * characters are {@link CompiledMagic.FirstChars}', when its source makes them plain and it is case-sensitive.
     */
    private static List<Key> regexKey(CompiledMagic.Match m) {
        if ((m.regex().flags() & Pattern.CASE_INSENSITIVE) != 0) {
            return null;
        }
        boolean[] first = CompiledMagic.FirstChars.of(m.regex().pattern());
        if (first == null || first[0]) {
            return null;
        }
        int count = 0;
        for (boolean a : first) {
            count += a ? 1 : 0;
        }
        return List.of(new Key(m.begin(), first, count));
    }

    private static int cost(List<Key> keys) {
        int sum = 0;
        for (Key k : keys) {
            sum += k.count();
        }
        return sum;
    }
}
