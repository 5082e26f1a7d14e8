package io.sluice.processors.spreadsheet;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The inflated bytes of one zip entry, counted and checked as they are read, whatever the central directory
 * declared: against the workbook's {@link InflateBudget}, the entry's declared size (an archive that lies about its
 * sizes is a bomb), its inflate ratio (once past a 1 MiB grace, since small XML parts compress very well), an
 * optional per-part limit, and, for XML, the length of every tag.
 *
 * <p>Why tags: an XML parser buffers a whole start tag with its attributes before it reports anything, so a tag of
 * a gigabyte would exhaust the heap before any element-level check could run. Text, comments and CDATA are not
 * limited here: the parser skips them lazily unless asked for their text, and the places that ask are bounded by
 * element (rows, shared strings) by {@link #element}, which {@link SheetReader} and {@link SharedStrings} set. DTDs and entity declarations never occur in a workbook and
 * are refused outright.
 *
 * <p>A limit that trips throws {@link Tripped} (an {@link IOException}); parsers wrap it, so callers ask
 * {@link #throwIfTripped()} after catching whatever the parser threw.
 */
final class GuardedInputStream extends FilterInputStream implements GuardedInput {

    /** Longest start tag, end tag or processing instruction accepted. */
    static final int MAX_TAG_BYTES = 1 << 20;
    /** Inflated bytes an entry may produce before its ratio is checked. */
    static final long RATIO_GRACE_BYTES = 1L << 20;
    /** How often {@code tick} runs, in bytes read (a checkpoint during long passes). */
    static final long TICK_BYTES = 4L << 20;

    /** A guard's refusal, carrying the {@link SheetException} to report. */
    static final class Tripped extends IOException {
        Tripped(SheetException cause) {
            super(cause.getMessage(), cause);
        }

        SheetException refusal() {
            return (SheetException) getCause();
        }
    }

    private final String entry;
    private final long declaredSize;
    private final long compressedSize;
    private final double maxRatio;
    private final InflateBudget budget;
    private Runnable tick;
    private long partLimit = Long.MAX_VALUE;
    private Supplier<IOException> partLimitFailure;
    private long elementEnd = Long.MAX_VALUE;
    private Supplier<SheetException> elementFailure;
    private boolean xml;
    private long position;
    private long nextTick = TICK_BYTES;
    private IOException failure;
    private RuntimeException stop;

    // XML tokenizer state
    private static final int TEXT = 0, LT = 1, TAG = 2, QUOTED = 3, PI = 4, BANG = 5, COMMENT = 6, CDATA = 7;
    private int state = TEXT;
    private int quote;
    private long tagLength;
    private int bangLength;
    private final byte[] bang = new byte[7];
    private static final byte[] COMMENT_OPEN = {'-', '-'};
    private static final byte[] CDATA_OPEN = {'[', 'C', 'D', 'A', 'T', 'A', '['};
    private int last1;
    private int last2;

    /**
     * @param declaredSize   the central directory's uncompressed size, or -1 when unknown
     * @param compressedSize the central directory's compressed size (what the zip library will read)
     * @param tick           run every {@link #TICK_BYTES}; may throw to stop
     */
    GuardedInputStream(InputStream in, String entry, long declaredSize, long compressedSize, double maxRatio,
                       InflateBudget budget, Runnable tick) {
        super(in);
        this.entry = entry;
        this.declaredSize = declaredSize;
        this.compressedSize = compressedSize;
        this.maxRatio = maxRatio;
        this.budget = budget;
        this.tick = tick;
    }

    /** Adds a limit on this part's inflated bytes; {@code failure} is thrown past it. */
    GuardedInputStream limit(long bytes, Supplier<IOException> failure) {
        this.partLimit = bytes;
        this.partLimitFailure = failure;
        return this;
    }

    @Override
    public GuardedInputStream element(long bytes, Supplier<SheetException> failure) {
        this.elementEnd = position + bytes;
        this.elementFailure = failure;
        return this;
    }

    @Override
    public void endElement() {
        this.elementEnd = Long.MAX_VALUE;
    }

    /**
     * Hands the {@code tick} over to the caller and stops running it here: a {@link ReadAhead} reads this stream on
     * its own thread, where a checkpoint (which looks at the job thread's interrupt) must not run.
     */
    Runnable detachTick() {
        Runnable t = tick;
        tick = () -> { };
        return t;
    }

    /** Turns the XML tag check on or off (off for parts that turned out not to be XML). */
    GuardedInputStream xml(boolean on) {
        this.xml = on;
        return this;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public void throwIfTripped() throws SheetException, IOException {
        if (stop != null) {
            throw stop;
        }
        if (failure instanceof Tripped t) {
            throw t.refusal();
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (failure != null) {
            throw failure;
        }
        int n;
        try {
            n = super.read(b, off, len);
        } catch (IOException | RuntimeException e) {
            // A corrupt deflate stream, an unsupported method, a truncated entry: the file will not get better.
            throw trip(SheetException.malformed("entry " + entry + " cannot be inflated: " + e.getMessage(), e));
        }
        if (n > 0) {
            account(b, off, n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // Skipped bytes must be counted and tokenized too: read them.
        byte[] buf = new byte[(int) Math.min(8192, Math.max(n, 0))];
        long done = 0;
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) {
                break;
            }
            done += r;
        }
        return done;
    }

    /** Reads to the end of the entry, counting; returns the total inflated bytes. */
    long drain() throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (read(buf, 0, buf.length) >= 0) {
            // counting happens in read
        }
        return position;
    }

    private void account(byte[] b, int off, int n) throws IOException {
        position += n;
        try {
            budget.take(n);
        } catch (SheetException e) {
            throw trip(e);
        }
        if (declaredSize >= 0 && position > declaredSize) {
            throw trip(new SheetException(SheetException.ZIP_BOMB, "entry " + entry + " inflates past its declared size"
                    + " of " + declaredSize + " bytes: the archive lies about its sizes",
                    Map.of("entry", entry, "declaredSize", declaredSize)));
        }
        if (position > RATIO_GRACE_BYTES && position > maxRatio * Math.max(compressedSize, 1)) {
            throw trip(ratioExceeded(entry, maxRatio));
        }
        if (position > partLimit) {
            failure = partLimitFailure.get();
            throw failure;
        }
        if (position > elementEnd) {
            throw trip(elementFailure.get());
        }
        if (xml) {
            tokenize(b, off, n);
        }
        if (position >= nextTick) {
            nextTick = position + TICK_BYTES;
            try {
                tick.run();
            } catch (RuntimeException e) {
                // A cancellation: remembered so that it survives a parser wrapping it.
                stop = e;
                throw e;
            }
        }
    }

    static SheetException ratioExceeded(String entry, double maxRatio) {
        return new SheetException(SheetException.ZIP_BOMB, "entry " + entry + " inflates more than "
                + ratioText(maxRatio) + " times its compressed size (options.maxInflateRatio)",
                Map.of("entry", entry, "limit", maxRatio));
    }

    static String ratioText(double r) {
        return r == Math.rint(r) ? Long.toString((long) r) : Double.toString(r);
    }

    private Tripped trip(SheetException e) {
        Tripped t = new Tripped(e);
        failure = t;
        return t;
    }

    /**
     * Follows the XML's lexical state (text, start of a tag, tag, quoted attribute value, processing instruction,
     * markup declaration, comment, CDATA) across reads and counts each tag's bytes. The states most bytes are in
     * (text, tag, quoted) run as tight scans to the next byte that can change the state, with the state in locals;
     * a tag's length is checked after each scan, so within the same read as a check per byte would trip.
     */
    private void tokenize(byte[] b, int off, int n) throws IOException {
        int i = off;
        final int end = off + n;
        int st = state;
        long tl = tagLength;
        int q = quote;
        try {
            scan:
            while (i < end) {
                switch (st) {
                    case TEXT -> {
                        while (b[i] != '<') {
                            if (++i == end) {
                                break scan;
                            }
                        }
                        i++;
                        st = LT;
                        tl = 1;
                    }
                    case TAG -> {
                        int j = i;
                        byte x = 0;
                        while (j < end) {
                            x = b[j];
                            if (x == '>' || x == '"' || x == '\'') {
                                break;
                            }
                            j++;
                        }
                        tl += j - i;
                        if (j == end) {
                            i = end;
                        } else {
                            tl++;
                            i = j + 1;
                            if (x == '>') {
                                st = TEXT;
                            } else {
                                q = x;
                                st = QUOTED;
                            }
                        }
                        if (tl > MAX_TAG_BYTES) {
                            throw tagTooLong();
                        }
                    }
                    case QUOTED -> {
                        int j = i;
                        while (j < end && b[j] != q) {
                            j++;
                        }
                        tl += j - i;
                        if (j == end) {
                            i = end;
                        } else {
                            tl++;
                            i = j + 1;
                            st = TAG;
                        }
                        if (tl > MAX_TAG_BYTES) {
                            throw tagTooLong();
                        }
                    }
                    case LT -> {
                        int c = b[i++] & 0xFF;
                        tl++;
                        if (c == '!') {
                            st = BANG;
                            bangLength = 0;
                        } else if (c == '?') {
                            st = PI;
                            last2 = '<';
                            last1 = '?';
                        } else {
                            st = c == '>' ? TEXT : TAG;
                        }
                    }
                    case PI -> {
                        int c = b[i++] & 0xFF;
                        if (c == '>' && last1 == '?') {
                            st = TEXT;
                        }
                        if (++tl > MAX_TAG_BYTES) {
                            throw tagTooLong();
                        }
                        last2 = last1;
                        last1 = c;
                    }
                    case BANG -> {
                        // "<!--" opens a comment, "<![CDATA[" a CDATA section; anything else is a declaration (DTD).
                        bang[bangLength++] = b[i++];
                        boolean comment = startsWith(COMMENT_OPEN);
                        boolean cdata = startsWith(CDATA_OPEN);
                        if (comment && bangLength == COMMENT_OPEN.length || cdata && bangLength == CDATA_OPEN.length) {
                            st = comment ? COMMENT : CDATA;
                            last1 = 0;
                            last2 = 0;
                        } else if (!comment && !cdata) {
                            throw trip(SheetException.malformed("entry " + entry
                                    + " contains a DTD or another markup declaration, which workbooks never have",
                                    null));
                        }
                    }
                    case COMMENT, CDATA -> {
                        int c = b[i++] & 0xFF;
                        int close = st == COMMENT ? '-' : ']';
                        if (c == '>' && last1 == close && last2 == close) {
                            st = TEXT;
                        }
                        last2 = last1;
                        last1 = c;
                    }
                    default -> throw new IllegalStateException("tokenizer state " + st);
                }
            }
        } finally {
            state = st;
            tagLength = tl;
            quote = q;
        }
    }

    private boolean startsWith(byte[] prefix) {
        if (bangLength > prefix.length) {
            return false;
        }
        for (int i = 0; i < bangLength; i++) {
            if (bang[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private Tripped tagTooLong() {
        return trip(SheetException.malformed("entry " + entry + " has an XML tag longer than "
                + (MAX_TAG_BYTES >> 20) + " MiB", null));
    }
}
