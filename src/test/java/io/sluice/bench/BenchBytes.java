package io.sluice.bench;

import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Request bodies generated on the fly, never read from a file and never copied: every chunk handed to the HTTP
 * client is a slice of one shared read-only direct buffer.
 *
 * <p>Two contents: zeros (the same bytes {@code dd if=/dev/zero} writes), and a rolling pattern: a fixed 1 MiB
 * block of pseudo-random bytes, read from a per-upload starting offset and wrapping around. Different offsets give
 * different files (different SHA-256), so a server that mixed up or dropped bytes is caught, yet producing the
 * body costs nothing.
 */
public final class BenchBytes {

    /** Length of the pseudo-random block the rolling pattern repeats. */
    public static final int PATTERN_SIZE = 1 << 20;
    /** Largest slice handed to the HTTP client at once. */
    public static final int CHUNK_SIZE = 256 * 1024;

    /** The block twice in a row, so any slice of up to {@link #PATTERN_SIZE} bytes is contiguous. */
    private static final byte[] PATTERN_TWICE = patternTwice();
    private static final ByteBuffer PATTERN_DIRECT = direct(PATTERN_TWICE);
    private static final ByteBuffer ZEROS_DIRECT = ByteBuffer.allocateDirect(CHUNK_SIZE);

    private BenchBytes() {
    }

    /**
     * What one upload sends.
     *
     * @param size   bytes
     * @param zeros  all zero bytes; otherwise the rolling pattern starting at {@code offset}
     * @param offset where in the pattern block the body starts, 0..{@link #PATTERN_SIZE}-1
     */
    public record Body(long size, boolean zeros, int offset) {

        public static Body zeros(long size) {
            return new Body(size, true, 0);
        }

        /** The rolling pattern for upload number {@code n}: a distinct offset per upload. */
        public static Body pattern(long size, int n) {
            return new Body(size, false, Math.floorMod(n * 104_729L + 7_919L, PATTERN_SIZE));
        }

        /** A publisher with a known Content-Length; reusable, each subscription starts at byte 0. */
        public HttpRequest.BodyPublisher publisher() {
            return HttpRequest.BodyPublishers.fromPublisher(new Generated(this), size);
        }

        /** The slice holding bytes {@code [position, position + at most max)}. */
        ByteBuffer slice(long position, int max) {
            int n = (int) Math.min(Math.min(max, CHUNK_SIZE), size - position);
            if (zeros) {
                return ZEROS_DIRECT.slice(0, n).asReadOnlyBuffer();
            }
            int start = (int) ((offset + position) % PATTERN_SIZE);
            return PATTERN_DIRECT.slice(start, n).asReadOnlyBuffer();
        }

        /** SHA-256 of the whole body, computed the same way the bytes are produced. */
        public String sha256Hex() {
            MessageDigest md = sha256();
            byte[] zeroChunk = zeros ? new byte[CHUNK_SIZE] : null;
            long pos = 0;
            while (pos < size) {
                int n = (int) Math.min(CHUNK_SIZE, size - pos);
                if (zeros) {
                    md.update(zeroChunk, 0, n);
                } else {
                    md.update(PATTERN_TWICE, (int) ((offset + pos) % PATTERN_SIZE), n);
                }
                pos += n;
            }
            return HexFormat.of().formatHex(md.digest());
        }
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] patternTwice() {
        byte[] b = new byte[2 * PATTERN_SIZE];
        long x = 0x9E3779B97F4A7C15L; // xorshift64*, fixed seed: the same bytes on every run
        for (int i = 0; i < PATTERN_SIZE; i += 8) {
            x ^= x >>> 12;
            x ^= x << 25;
            x ^= x >>> 27;
            long v = x * 0x2545F4914F6CDD1DL;
            for (int k = 0; k < 8; k++) {
                b[i + k] = (byte) (v >>> (8 * k));
            }
        }
        System.arraycopy(b, 0, b, PATTERN_SIZE, PATTERN_SIZE);
        return b;
    }

    private static ByteBuffer direct(byte[] bytes) {
        ByteBuffer d = ByteBuffer.allocateDirect(bytes.length);
        d.put(bytes).flip();
        return d;
    }

    /** Reactive-streams publisher of a {@link Body}; honours demand and cancellation, never re-enters onNext. */
    private static final class Generated implements Flow.Publisher<ByteBuffer> {
        private final Body body;

        Generated(Body body) {
            this.body = body;
        }

        @Override
        public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
            subscriber.onSubscribe(new Subscription(body, subscriber));
        }
    }

    private static final class Subscription implements Flow.Subscription {
        private final Body body;
        private final Flow.Subscriber<? super ByteBuffer> subscriber;
        private final AtomicLong demand = new AtomicLong();
        private final AtomicInteger wip = new AtomicInteger();
        private volatile boolean cancelled;
        private long position;
        private boolean done;

        Subscription(Body body, Flow.Subscriber<? super ByteBuffer> subscriber) {
            this.body = body;
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                cancelled = true;
                subscriber.onError(new IllegalArgumentException("non-positive request: " + n));
                return;
            }
            demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            drain();
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        /** Trampoline: only one thread emits at a time; a request() from inside onNext just adds demand. */
        private void drain() {
            if (wip.getAndIncrement() != 0) {
                return;
            }
            do {
                while (!cancelled && !done) {
                    if (position >= body.size()) {
                        done = true;
                        subscriber.onComplete();
                        break;
                    }
                    if (demand.get() <= 0) {
                        break;
                    }
                    demand.decrementAndGet();
                    ByteBuffer chunk = body.slice(position, CHUNK_SIZE);
                    position += chunk.remaining();
                    subscriber.onNext(chunk);
                }
            } while (wip.decrementAndGet() != 0);
        }
    }
}
