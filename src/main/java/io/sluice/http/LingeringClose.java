package io.sluice.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads and discards what is left of a request body after its refusal was sent, for a bounded time and size, before
 * the connection is closed (nginx's {@code lingering_close}).
 *
 * <p>Why: a refusal (413, 409, 503 ...) is usually sent while the client is still sending the body. Closing a TCP
 * connection with unread bytes in its receive buffer makes the kernel answer with a reset instead of a FIN, and a
 * reset that reaches the client before it has read the answer destroys the answer: the client reports "connection
 * reset" and never learns the status that told it what to do. Reading on for a moment lets the answer arrive first.
 *
 * <p>Bounded both ways so that it cannot be turned into work: at most {@link #MAX_TIME} in total and
 * {@link #MAX_BYTES} bytes, and no more than {@link #MAX_IDLE} between two reads; a client that sends more than
 * that, or stalls, is closed on as before. Runs on the request's own (virtual) thread, after the answer was written,
 * so it holds no admission slot.
 */
final class LingeringClose {

    /** Total time spent discarding after an answer: a client reads an answer within milliseconds on a live link. */
    static final Duration MAX_TIME = Duration.ofSeconds(2);
    /** How long to wait for the next bytes: a client that is sending sends within this; one that is not never will. */
    static final Duration MAX_IDLE = Duration.ofMillis(500);
    /** Bytes discarded at most: a whole default tus chunk (5 MiB) and some, not a whole large upload. */
    static final long MAX_BYTES = 8L * 1024 * 1024;

    private LingeringClose() {
    }

    /**
     * Discards what of the request's content has already arrived, without waiting and without failing the rest
     * (which {@code Request.consumeAvailable()} does, leaving nothing to drain).
     *
     * @return true when the content was read to its end (or the connection failed): there is nothing to linger for
     */
    static boolean readAvailable(Request request) {
        while (true) {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                return false;
            }
            try {
                if (Content.Chunk.isFailure(chunk) || chunk.isLast()) {
                    return true;
                }
            } finally {
                chunk.release();
            }
        }
    }

    /**
     * Discards the request's remaining content until its end, {@code maxTime} or {@code maxBytes}.
     *
     * @return true when the body was read to its end (the connection can then even be kept alive)
     */
    static boolean drain(Request request, Duration maxTime, long maxBytes) {
        if (request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString())) {
            return false; // told nothing to go on, the client sends no body: there is nothing to wait for
        }
        long deadline = System.nanoTime() + maxTime.toNanos();
        long discarded = 0;
        while (discarded <= maxBytes) {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                long left = Math.min(deadline - System.nanoTime(), MAX_IDLE.toNanos());
                if (left <= 0) {
                    return false;
                }
                CompletableFuture<Void> more = new CompletableFuture<>();
                request.demand(() -> more.complete(null));
                try {
                    more.get(left, TimeUnit.NANOSECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
                continue;
            }
            try {
                if (Content.Chunk.isFailure(chunk)) {
                    return false;
                }
                discarded += chunk.remaining();
                if (chunk.isLast()) {
                    return true;
                }
            } finally {
                chunk.release();
            }
        }
        return false;
    }
}
