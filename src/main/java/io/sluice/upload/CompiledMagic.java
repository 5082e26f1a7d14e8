package io.sluice.upload;

import org.apache.tika.detect.MagicDetector;
import org.apache.tika.detect.TextDetector;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MimeType;
import org.apache.tika.mime.MimeTypeException;
import org.apache.tika.mime.MimeTypes;

import java.io.ByteArrayInputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tika's magic table, read once and evaluated in place: the answer {@code MimeTypes.detect(head)} gives, without
 * its per-call cost.
 *
 * <p>Why: {@code MimeTypes.getMimeType(byte[])} (tika-core 3.3.2) evaluates its magics in priority order through
 * {@code MagicMatch.eval}, which for every clause takes a lock, allocates a stream, a {@code Metadata} and a copy of
 * the clause's window, and for the regular-expression clauses compiles the pattern and decodes an 8 KiB window to
 * characters. Bytes that no magic matches (compressed or encrypted payloads, the small-upload benchmark's bodies)
 * pay that for every clause of the registry: 41 % of the server's CPU per small upload (docs/benchmarks.md). Here
 * each clause is a record holding the same pattern, mask and offset range, regular expressions compiled once, and
 * the window is read from the head where it lies.
 *
 * <p>The clause tree is package-private in tika-core, so it is read by reflection when the registry loads;
 * {@link #of} returns empty when its shape is not the one this class knows (another Tika version), and
 * {@link TypeDetector} then asks Tika as before. The semantics copied (offset windows padded with zeros past the
 * head, {@code Character.toLowerCase} of the masked byte for case-insensitive strings, {@code lookingAt} over
 * {@code region(i, i + length)} for regular expressions, same-priority matches kept, the first one returned) are
 * checked against Tika itself for a head built from every byte clause of the registry by CompiledMagicTest.
 */
final class CompiledMagic {

    /** One clause of a magic: a byte match, or a combination of clauses. */
    sealed interface Clause permits Match, All, AtLeast {
        boolean eval(Head head);

        default boolean eval(byte[] head) {
            return eval(new Head(head));
        }
    }

    /**
     * The head being detected, and the same bytes as a Latin-1 string made on first use: offset-range clauses find
     * the offsets where their first byte occurs with {@code String.indexOf}, a vectorised search, instead of
     * testing every offset of a window of up to 8 KiB (about 20 such windows per head no magic matches).
     */
    static final class Head {
        private final byte[] bytes;
        private String latin1;

        Head(byte[] bytes) {
            this.bytes = bytes;
        }

        byte[] bytes() {
            return bytes;
        }

        String latin1() {
            if (latin1 == null) {
                latin1 = new String(bytes, StandardCharsets.ISO_8859_1);
            }
            return latin1;
        }
    }

    /**
     * A byte pattern (or regular expression) somewhere in {@code [begin, end]}, as Tika's {@link MagicDetector}
     * with the same fields: {@code pattern} is already masked, {@code length} is the window per offset (8 KiB for
     * a regular expression). {@code first}, for a clause with an offset range: which byte values (index
     * {@code b & 0xff}) can start a match, so that the scan skips offsets that cannot; null to try every offset.
     * {@code starts}: the same values listed, when there are at most {@link #MAX_STARTS} and zero (the padding past
     * the head) is not one of them, so that only offsets inside the head where one occurs need trying; else null.
     */
    record Match(byte[] pattern, byte[] mask, int length, int begin, int end, boolean ignoreCase, Pattern regex,
                 boolean[] first, char[] starts) implements Clause {

        static final int MAX_STARTS = 4;

        @Override
        public boolean eval(Head h) {
            byte[] head = h.bytes();
            int n = head.length;
            if (begin > n) {
                return false; // Tika cannot skip to the window: no match
            }
            int windowLength = length + (end - begin);
            int available = Math.min(n - begin, windowLength);
            if (starts != null && (regex != null || available >= length)) {
                return evalAtStarts(h, available, windowLength);
            }
            if (regex != null) {
                Matcher m = regex.matcher(new Window(head, begin, available, windowLength));
                for (int i = 0; i <= end - begin; i++) {
                    if (first != null && !first[i < available ? head[begin + i] & 0xff : 0]) {
                        continue;
                    }
                    m.region(i, length + i);
                    if (m.lookingAt()) {
                        return true;
                    }
                }
                return false;
            }
            if (available < length) {
                return false;
            }
            for (int i = 0; i <= end - begin; i++) {
                if (first != null && !first[i < available ? head[begin + i] & 0xff : 0]) {
                    continue;
                }
                if (matchesAt(head, i, available)) {
                    return true;
                }
            }
            return false;
        }

        /**
         * The same answer as trying every offset of the window, trying only those where a start value occurs: an
         * offset whose first byte is past the head reads zero, which is not a start, so the last offset to try is
         * the last whose first byte is inside the head. Which offset matches does not matter, only whether one does.
         */
        private boolean evalAtStarts(Head h, int available, int windowLength) {
            int last = Math.min(end - begin, available - 1);
            if (last < 0) {
                return false;
            }
            String text = h.latin1();
            Matcher m = regex == null ? null : regex.matcher(new Window(h.bytes(), begin, available, windowLength));
            for (char c : starts) {
                int to = begin + last + 1;
                for (int p = text.indexOf(c, begin, to); p >= 0; p = text.indexOf(c, p + 1, to)) {
                    int i = p - begin;
                    if (m == null ? matchesAt(h.bytes(), i, available) : m.region(i, length + i).lookingAt()) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** Tika's comparison at one offset of the window, bytes past the head read as zero. */
        private boolean matchesAt(byte[] head, int i, int available) {
            for (int j = 0; j < length; j++) {
                int at = i + j;
                int masked = (at < available ? head[begin + at] : 0) & mask[j];
                if (ignoreCase) {
                    masked = Character.toLowerCase(masked);
                }
                if (masked != pattern[j]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Tika's {@code AndClause}. */
    record All(List<Clause> clauses) implements Clause {
        @Override
        public boolean eval(Head head) {
            for (Clause c : clauses) {
                if (!c.eval(head)) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Tika's {@code OrClause} ({@code min} 1) and {@code MinShouldMatchClause}. */
    record AtLeast(int min, List<Clause> clauses) implements Clause {
        @Override
        public boolean eval(Head head) {
            int matched = 0;
            for (Clause c : clauses) {
                if (c.eval(head) && ++matched >= min) {
                    return true;
                }
            }
            return false;
        }
    }

    /** One magic of the registry, in the registry's order. */
    record Entry(MimeType type, int priority, Clause clause) {
    }

    private final MimeTypes types;
    private final List<Entry> magics;
    /** {@code types.forName("application/octet-stream")}, looked up once: forName is synchronized and parses. */
    private final MediaType octets;
    /** Which magics a head can match, from a few of its bytes: see {@link MagicIndex}. */
    private final MagicIndex candidates;

    private CompiledMagic(MimeTypes types, List<Entry> magics) throws MimeTypeException {
        this.types = types;
        this.magics = magics;
        this.octets = types.forName(MediaType.OCTET_STREAM.toString()).getType();
        this.candidates = MagicIndex.of(magics);
    }

    /** The registry's magics compiled, or empty when Tika's internals are not as expected. */
    static Optional<CompiledMagic> of(MimeTypes types) {
        try {
            Reader r = new Reader();
            List<Entry> entries = new ArrayList<>();
            for (Object magic : (List<?>) r.field(MimeTypes.class, "magics").get(types)) {
                Class<?> c = magic.getClass();
                entries.add(new Entry((MimeType) r.field(c, "type").get(magic),
                        (int) r.field(c, "priority").get(magic), r.clause(r.field(c, "clause").get(magic))));
            }
            return Optional.of(new CompiledMagic(types, List.copyOf(entries)));
        } catch (ReflectiveOperationException | MimeTypeException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The type {@code types.detect(head, new Metadata())} returns for this head (at most
     * {@code types.getMinLength()} bytes), or null when it takes Tika's own path: an empty head, or a first match
     * of {@code application/xml} or {@code text/html}, whose root element Tika inspects.
     */
    MediaType detect(byte[] head) {
        if (head.length == 0) {
            return null;
        }
        MimeType first = null;
        int priority = -1;
        // Only candidates are evaluated, in the registry's order: a magic outside them cannot match this head, so
        // skipping it changes neither the first match nor the priority at which Tika's loop stops.
        long[] maybe = candidates.of(head);
        Head h = new Head(head);
        scan:
        for (int w = 0; w < maybe.length; w++) {
            for (long bits = maybe[w]; bits != 0; bits &= bits - 1) {
                Entry e = magics.get((w << 6) + Long.numberOfTrailingZeros(bits));
                if (priority > 0 && priority > e.priority()) {
                    break scan;
                }
                if (e.clause().eval(h)) {
                    if (first == null) {
                        first = e.type();
                    }
                    priority = e.priority();
                }
            }
        }
        if (first != null) {
            String name = first.getName();
            return name.equals("application/xml") || name.equals("text/html") ? null : first.getType();
        }
        try {
            if (certainlyBinary(head, Math.min(head.length, types.getMinLength()))) {
                return octets;
            }
            MediaType text = new TextDetector(types.getMinLength()).detect(new ByteArrayInputStream(head), new Metadata());
            return types.forName(text.toString()).getType();
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * Whether Tika's {@link TextDetector} answers octet-stream for the first {@code total} bytes, decided before
     * reading them all. It answers text when {@code TextStatistics.isMostlyAscii()} (more than 90 % of the bytes
     * below 0x80) or {@code looksLikeUTF8()} (which requires no byte 0xF8-0xFF); both counts only grow, so once a
     * byte 0xF8-0xFF and a tenth of {@code total} at 0x80 or above have been seen, neither can hold. Opaque bytes
     * show both within the first few KiB, where the statistics would read all 64.
     */
    static boolean certainlyBinary(byte[] head, int total) {
        int enough = (total + 9) / 10;
        int high = 0;
        boolean notUtf8 = false;
        for (int i = 0; i < total; i++) {
            int b = head[i] & 0xff;
            if (b >= 0x80) {
                high++;
                notUtf8 |= b >= 0xf8;
                if (notUtf8 && high >= enough) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The magics (indexes into the registry's order) that are evaluated for this head; every magic whose clause
     * matches it must be among them, which CompiledMagicTest checks over many heads.
     */
    BitSet candidatesFor(byte[] head) {
        return BitSet.valueOf(candidates.of(head));
    }

    /** The registry's magics in priority order, for tests that evaluate every one of them. */
    List<Entry> magics() {
        return magics;
    }

    /** Every byte-pattern clause (not regular expressions), for the test that builds a head from each. */
    void forEachByteMatch(Consumer<Match> each) {
        for (Entry e : magics) {
            visit(e.clause(), each);
        }
    }

    private static void visit(Clause c, Consumer<Match> each) {
        switch (c) {
            case Match m -> {
                if (m.regex() == null) {
                    each.accept(m);
                }
            }
            case All a -> a.clauses().forEach(x -> visit(x, each));
            case AtLeast o -> o.clauses().forEach(x -> visit(x, each));
        }
    }

    /** Tika's clause objects to records. */
    static final class Reader {

        Field field(Class<?> owner, String name) throws NoSuchFieldException {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        }

        Clause clause(Object c) throws ReflectiveOperationException {
            Class<?> k = c.getClass();
            return switch (k.getName()) {
                case "org.apache.tika.mime.MagicMatch" -> {
                    Method get = k.getDeclaredMethod("getDetector");
                    get.setAccessible(true);
                    yield match((MagicDetector) get.invoke(c));
                }
                case "org.apache.tika.mime.AndClause" -> new All(clauses(Arrays.asList((Object[]) field(k, "clauses").get(c))));
                case "org.apache.tika.mime.OrClause" -> new AtLeast(1, clauses((List<?>) field(k, "clauses").get(c)));
                case "org.apache.tika.mime.MinShouldMatchClause" ->
                        new AtLeast((int) field(k, "min").get(c), clauses((List<?>) field(k, "clauses").get(c)));
                default -> throw new IllegalStateException("unknown Tika clause " + k.getName());
            };
        }

        private List<Clause> clauses(List<?> list) throws ReflectiveOperationException {
            List<Clause> out = new ArrayList<>(list.size());
            for (Object o : list) {
                out.add(clause(o));
            }
            return List.copyOf(out);
        }

        private Match match(MagicDetector d) throws ReflectiveOperationException {
            Class<?> k = MagicDetector.class;
            byte[] pattern = (byte[]) field(k, "pattern").get(d);
            byte[] mask = (byte[]) field(k, "mask").get(d);
            int length = (int) field(k, "length").get(d);
            int patternLength = (int) field(k, "patternLength").get(d);
            int begin = (int) field(k, "offsetRangeBegin").get(d);
            int end = (int) field(k, "offsetRangeEnd").get(d);
            boolean regex = (boolean) field(k, "isRegex").get(d);
            boolean ignoreCase = (boolean) field(k, "isStringIgnoreCase").get(d);
            if (pattern.length != patternLength || mask.length != patternLength || (!regex && length != patternLength)
                    || begin < 0 || end < begin) {
                throw new IllegalStateException("unexpected MagicDetector fields");
            }
            String source = new String(pattern, StandardCharsets.UTF_8);
            Pattern compiled = regex ? Pattern.compile(source, ignoreCase ? Pattern.CASE_INSENSITIVE : 0) : null;
            boolean[] first = null;
            if (end > begin) {
                first = regex ? (ignoreCase ? null : FirstChars.of(source)) : firstBytes(pattern[0], mask[0], ignoreCase);
            }
            return new Match(pattern, mask, length, begin, end, ignoreCase, compiled, first, starts(first));
        }

        /** The values {@code first} admits, when few and not zero (see {@link Match}); else null. */
        private static char[] starts(boolean[] first) {
            if (first == null || first[0]) {
                return null;
            }
            StringBuilder values = new StringBuilder();
            for (int b = 0; b < 256; b++) {
                if (first[b]) {
                    values.append((char) b);
                }
            }
            return values.length() <= Match.MAX_STARTS ? values.toString().toCharArray() : null;
        }

        /** The byte values for which Tika's comparison of a pattern byte succeeds, by that same expression. */
        static boolean[] firstBytes(byte pattern, byte mask, boolean ignoreCase) {
            boolean[] ok = new boolean[256];
            for (int b = 0; b < 256; b++) {
                int masked = (byte) b & mask;
                if (ignoreCase) {
                    masked = Character.toLowerCase(masked);
                }
                ok[b] = masked == pattern;
            }
            return ok;
        }
    }

    /**
     * The characters a regular expression's match must start with, when its source makes that plain: a first
     * atom that is a literal character or a bracket class of literal characters, which no quantifier can skip
     * ({@code ?}, {@code *}, <code>{</code>) and no alternation can bypass (no {@code |} anywhere). Anything else
     * (groups, flags, escapes other than \r \n \t, negated classes): null, every offset is tried.
     */
    static final class FirstChars {

        private FirstChars() {
        }

        static boolean[] of(String regex) {
            if (regex.isEmpty() || regex.indexOf('|') >= 0) {
                return null;
            }
            boolean[] set = new boolean[256];
            int next;
            char c = regex.charAt(0);
            if (c == '[') {
                int i = 1;
                if (i < regex.length() && regex.charAt(i) == '^') {
                    return null;
                }
                boolean any = false;
                while (i < regex.length() && regex.charAt(i) != ']') {
                    int lit = literal(regex, i);
                    if (lit < 0) {
                        return null;
                    }
                    i += regex.charAt(i) == '\\' ? 2 : 1;
                    if (i + 1 < regex.length() && regex.charAt(i) == '-' && regex.charAt(i + 1) != ']') {
                        int to = literal(regex, i + 1);
                        if (to < lit) {
                            return null;
                        }
                        i += regex.charAt(i + 1) == '\\' ? 3 : 2;
                        for (int x = lit; x <= to; x++) {
                            set[x] = true;
                        }
                    } else {
                        set[lit] = true;
                    }
                    any = true;
                }
                if (i >= regex.length() || !any) {
                    return null;
                }
                next = i + 1;
            } else {
                int lit = literal(regex, 0);
                if (lit < 0) {
                    return null;
                }
                set[lit] = true;
                next = c == '\\' ? 2 : 1;
            }
            if (next < regex.length() && "?*{".indexOf(regex.charAt(next)) >= 0) {
                return null;
            }
            return set;
        }

        /** The character at {@code i} when it stands for itself (or is \r, \n, \t), below 256; else -1. */
        private static int literal(String regex, int i) {
            char c = regex.charAt(i);
            if (c == '\\') {
                if (i + 1 >= regex.length()) {
                    return -1;
                }
                return switch (regex.charAt(i + 1)) {
                    case 'r' -> '\r';
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    default -> -1;
                };
            }
            if (c >= 256 || ".$^()[]{}|?*+&-".indexOf(c) >= 0) {
                return -1;
            }
            return c;
        }
    }

    /**
     * The characters Tika's regular-expression clauses see: the window's bytes as ISO-8859-1, zeros past the
     * head, without decoding a copy per clause.
     */
    private record Window(byte[] head, int from, int available, int length) implements CharSequence {

        @Override
        public int length() {
            return length;
        }

        @Override
        public char charAt(int index) {
            if (index < 0 || index >= length) {
                throw new IndexOutOfBoundsException(index);
            }
            return index < available ? (char) (head[from + index] & 0xff) : '\0';
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            StringBuilder b = new StringBuilder(end - start);
            for (int i = start; i < end; i++) {
                b.append(charAt(i));
            }
            return b.toString();
        }

        @Override
        public String toString() {
            return subSequence(0, length).toString();
        }
    }
}
