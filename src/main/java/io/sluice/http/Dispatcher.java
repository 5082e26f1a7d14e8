package io.sluice.http;

import io.sluice.api.Json;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * The boundary between Jetty's I/O threads and our blocking handlers. Liveness ({@code GET /health}) is answered
 * right here, on the thread that parsed the request; everything else is handed to a virtual thread.
 *
 * <p>Why: virtual threads share one carrier per core. Under a burst of uploads every carrier is busy copying and
 * hashing, and a probe dispatched to a virtual thread waits in the same queue: the benchmark measured a /health p99
 * of about 100 ms from outside while the handler itself took under 20 ms. Liveness must answer in constant time
 * whatever the load (invariant 4), so it never enters that queue. Declaring this handler non-blocking lets Jetty
 * run the cheap wrappers above it (request id, access log, guards, CORS) on the I/O thread as well.
 */
public final class Dispatcher extends Handler.Wrapper {

    public static final String LIVENESS_PATH = "/health";
    private static final byte[] LIVE = Json.bytes(Map.of("status", "UP"));

    private final Executor virtualThreads;

    /** @param blocking the handler chain that may block; it runs on {@code virtualThreads} */
    public Dispatcher(Handler blocking, Executor virtualThreads) {
        super(blocking);
        this.virtualThreads = virtualThreads;
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        if ("GET".equals(request.getMethod()) && LIVENESS_PATH.equals(request.getHttpURI().getPath())) {
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, LIVE.length);
            response.write(true, ByteBuffer.wrap(LIVE), callback);
            return true;
        }
        try {
            virtualThreads.execute(() -> {
                try {
                    if (!super.handle(request, response, callback)) {
                        Response.writeError(request, response, callback, 404);
                    }
                } catch (Throwable t) {
                    callback.failed(t);
                }
            });
        } catch (RejectedExecutionException e) {
            // Only while stopping: the executor is gone.
            callback.failed(e);
        }
        return true;
    }
}
