package io.sluice.http;

import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Cuts request bodies that arrive slower than {@code server.minRequestDataRate}, measured per request over
 * windows of {@link #WINDOW_NANOS}.
 *
 * <p>Not Jetty's {@code MinimumDataRateHandler}: in 12.1 it divides the handler's total bytes read (all requests
 * since start) by one request's elapsed time, and the multiplication by 10^9 overflows once the server has read
 * about 9.2 GB, after which every upload gets a 408. Measuring in windows (rather than since the first byte) also
 * catches a sender that starts fast and then trickles. A sender that stops completely is cut by the idle timeout.
 *
 * <p>A too-slow body surfaces to the handler as a failed read with a {@link TimeoutException}, which the upload
 * path answers {@code 408 request_timeout} and cleans up after.
 */
public final class MinimumDataRate extends Handler.Wrapper {

    /** Long enough that TCP slow start and a paused GC do not count as a slow client. */
    public static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final long minBytesPerSecond;

    public MinimumDataRate(Handler handler, long minBytesPerSecond) {
        super(handler);
        this.minBytesPerSecond = minBytesPerSecond;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        return super.handle(new RateRequest(request), response, callback);
    }

    /** read() and demand() come from the one thread that consumes the body, one after the other. */
    private final class RateRequest extends Request.Wrapper {
        private long windowStart;
        private long windowBytes;
        private Content.Chunk failure;

        RateRequest(Request wrapped) {
            super(wrapped);
        }

        @Override
        public Content.Chunk read() {
            if (failure != null) {
                return failure;
            }
            if (windowStart == 0) {
                windowStart = System.nanoTime();
            }
            Content.Chunk chunk = super.read();
            if (chunk != null) {
                windowBytes += chunk.remaining();
            }
            return chunk;
        }

        @Override
        public void demand(Runnable demandCallback) {
            if (failure == null && windowStart != 0) {
                long elapsed = System.nanoTime() - windowStart;
                if (elapsed >= WINDOW_NANOS) {
                    double rate = windowBytes * 1e9 / elapsed;
                    if (rate < minBytesPerSecond) {
                        failure = Content.Chunk.from(new TimeoutException(String.format(
                                "the body arrived at %.0f bytes/s, below the minimum of %d", rate, minBytesPerSecond)));
                        demandCallback.run();
                        return;
                    }
                    windowStart = System.nanoTime();
                    windowBytes = 0;
                }
            }
            super.demand(demandCallback);
        }
    }
}
