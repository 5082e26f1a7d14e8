package io.sluice.api;

import io.sluice.admission.AdmissionController;
import io.sluice.admission.Decision;
import io.sluice.admission.Rejection;
import io.sluice.admission.Ticket;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * One request as a blocking handler sees it: Jetty's request and response, the matched path parameters, and who
 * the client is. Handlers run on virtual threads, so every write here blocks until the bytes are handed to the
 * network; the router completes Jetty's callback after the handler returns.
 *
 * @param client the key admission counts per client: the authenticated key id, or the remote address
 */
public record Exchange(Request request, Response response, Map<String, String> params, String requestId,
                       String client) {

    /** Attribute holding the body chunk read while the request waited for admission (see {@link #clientGone()}). */
    private static final String EARLY_CHUNK = Exchange.class.getName() + ".earlyChunk";

    /** How many body bytes a handler reads before it lets other virtual threads run. */
    static final long YIELD_EVERY_BYTES = 256 * 1024;

    /**
     * The caller the router's {@link Guard} admitted; {@link Principal#OPEN} when the router has no guard (the
     * admin port, which is never public).
     */
    public Principal principal() {
        return request.getAttribute(Principal.ATTRIBUTE) instanceof Principal p ? p : Principal.OPEN;
    }

    /** 404 {@code not_found} for {@code what} unless a record owned by {@code owner} is visible to the caller. */
    public void requireVisible(String owner, String what) {
        if (!principal().canSee(owner)) {
            throw ApiException.notFound(what);
        }
    }

    public String param(String name) {
        return params.get(name);
    }

    public String header(HttpHeader header) {
        return request.getHeaders().get(header);
    }

    public String method() {
        return request.getMethod();
    }

    /** Writes {@code body} as the complete JSON response. */
    public void json(int status, Object body) throws IOException {
        byte[] bytes = Json.bytes(body);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        write(true, ByteBuffer.wrap(bytes));
    }

    /** Writes a complete plain-text response. */
    public void text(int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        write(true, ByteBuffer.wrap(bytes));
    }

    /** Status and headers only. */
    public void empty(int status) throws IOException {
        response.setStatus(status);
        write(true, null);
    }

    /**
     * Blocking write of one buffer (or none) to the response.
     *
     * @throws ClientGoneException when the write fails: the client closed, reset or stopped reading (a cancelled
     *                             download is routine, not a server error to log as one)
     */
    public void write(boolean last, ByteBuffer buffer) throws IOException {
        try (Blocker.Callback cb = Blocker.callback()) {
            response.write(last, buffer, cb);
            cb.block();
        } catch (ClientGoneException e) {
            throw e;
        } catch (IOException e) {
            throw new ClientGoneException(e);
        }
    }

    /**
     * Admits this request as one upload (waiting in the admission queue when it must), or throws what to answer.
     *
     * @throws ApiException        the refusal (429/503/507 with Retry-After)
     * @throws ClientGoneException the client went away while the request waited
     */
    public Ticket admit(AdmissionController admission, long declaredLength) throws ClientGoneException {
        return switch (admission.tryAdmit(client, declaredLength, this::clientGone, expectsContinue())) {
            case Decision.Admitted a -> a.ticket();
            case Decision.Rejected(Rejection r) ->
                    throw r.error().error(r.message(), Map.of(), r.retryAfter());
            case Decision.Abandoned ignored -> throw new ClientGoneException(
                    new EOFException("the client closed the connection while its upload waited for a slot"));
        };
    }

    /**
     * Whether the client has gone, for a request waiting in the admission queue: one non-blocking read of the
     * body. Jetty only notices a closed connection when it reads from it, and nothing reads while a request
     * waits. An error or an early end means gone. The first chunk that does arrive (body bytes, or the end of an
     * empty body) is kept for {@link #readBlocking()} to hand out first; after it, looking further would mean
     * buffering the body, so a client that has started sending is not watched any more (its wait still ends at
     * {@code admission.queueTimeout}, and a slot granted to it is returned on the first failed read).
     *
     * <p>Reads from the connection itself, under the wrappers: the access log's byte count and the minimum data
     * rate's window start when the handler reads, not while the request is only waiting. A request that expects
     * {@code 100-continue} is not read, which would invite its body before it is admitted.
     */
    boolean clientGone() {
        if (request.getAttribute(EARLY_CHUNK) != null || expectsContinue()) {
            return false;
        }
        Content.Chunk chunk = Request.unWrap(request).read();
        if (chunk == null) {
            return false;
        }
        AtomicReference<Content.Chunk> early = new AtomicReference<>(chunk);
        request.setAttribute(EARLY_CHUNK, early);
        // A request refused after its wait never reads its body: release the kept chunk with the request.
        Request.addCompletionListener(request, failure -> {
            Content.Chunk left = early.getAndSet(null);
            if (left != null) {
                left.release();
            }
        });
        return Content.Chunk.isFailure(chunk, true);
    }

    private boolean expectsContinue() {
        return request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString());
    }

    /** Receives request body bytes; the buffer is only valid during the call. */
    @FunctionalInterface
    public interface BodyConsumer {
        void accept(Content.Chunk chunk) throws IOException;
    }

    /**
     * Feeds the whole request body to {@code consumer} chunk by chunk, straight from Jetty's network buffers,
     * failing with {@code tooLarge} as soon as more than {@code maxBytes} arrive (whatever Content-Length said).
     * The last call receives the chunk flagged {@link Content.Chunk#isLast() last}, possibly empty.
     *
     * @throws ApiException 408 when the body arrives slower than the minimum data rate or times out
     * @throws ClientGoneException when the client disconnects
     */
    public long readBody(long maxBytes, Supplier<ApiException> tooLarge, BodyConsumer consumer)
            throws IOException {
        long total = 0;
        long sinceYield = 0;
        while (true) {
            if (sinceYield >= YIELD_EVERY_BYTES) {
                // A fast sender never makes this loop park, so it would keep its carrier thread (there are as many
                // as cores) and /health would queue behind a few big uploads. Yielding now and then bounds that.
                sinceYield = 0;
                Thread.yield();
            }
            Content.Chunk chunk = readBlocking();
            try {
                if (Content.Chunk.isFailure(chunk)) {
                    Throwable f = chunk.getFailure();
                    if (f instanceof TimeoutException) {
                        throw ErrorCode.REQUEST_TIMEOUT.error(
                                "the request body arrived too slowly (" + f.getMessage() + ")");
                    }
                    throw new ClientGoneException(f);
                }
                total += chunk.remaining();
                sinceYield += chunk.remaining();
                if (total > maxBytes) {
                    throw tooLarge.get();
                }
                consumer.accept(chunk);
                if (chunk.isLast()) {
                    return total;
                }
            } finally {
                chunk.release();
            }
        }
    }

    /** Reads the next request body chunk, blocking (on this virtual thread) until one is available. */
    public Content.Chunk readBlocking() throws IOException {
        if (request.getAttribute(EARLY_CHUNK) instanceof AtomicReference<?> early
                && early.getAndSet(null) instanceof Content.Chunk chunk) {
            return chunk;
        }
        while (true) {
            Content.Chunk chunk = request.read();
            if (chunk != null) {
                return chunk;
            }
            try (Blocker.Runnable blocker = Blocker.runnable()) {
                request.demand(blocker);
                blocker.block();
            }
        }
    }
}
