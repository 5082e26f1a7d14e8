package io.sluice.http;

import io.sluice.auth.Redaction;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Gives every request an id ({@code X-Request-Id}: the client's if it is sane, else a new one), echoes it on the
 * response, and logs one line per request when it completes: id, method, path, status, bytes in and out,
 * milliseconds, client address. Credentials in the query string are masked ({@link Redaction}); no request header
 * is logged, so {@code Authorization} and {@code Cookie} never are.
 */
public final class AccessLogHandler extends Handler.Wrapper {

    private static final Logger access = LoggerFactory.getLogger("sluice.access");
    private static final Pattern SANE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    public AccessLogHandler(Handler handler) {
        super(handler);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        long start = System.nanoTime();
        String given = request.getHeaders().get("X-Request-Id");
        String id = given != null && SANE_ID.matcher(given).matches() ? given : newId();
        request.setAttribute(RequestIds.ATTRIBUTE, id);
        response.getHeaders().put("X-Request-Id", id);
        CountingRequest counted = new CountingRequest(request);
        CountingResponse countedResponse = new CountingResponse(counted, response);
        Callback done = new Callback() {
            @Override
            public void succeeded() {
                log(counted, countedResponse, id, start, null);
                callback.succeeded();
            }

            @Override
            public void failed(Throwable x) {
                log(counted, countedResponse, id, start, x);
                callback.failed(x);
            }

            @Override
            public InvocationType getInvocationType() {
                return callback.getInvocationType();
            }
        };
        return super.handle(counted, countedResponse, done);
    }

    private void log(CountingRequest request, CountingResponse response, String id, long start, Throwable failure) {
        if (!access.isInfoEnabled()) {
            return;
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        int status = failure != null && !response.isCommitted() ? 0 : response.getStatus();
        StringBuilder line = new StringBuilder(128).append(id).append(' ').append(request.getMethod()).append(' ')
                .append(Redaction.redact(request.getHttpURI().getPathQuery())).append(' ').append(status)
                .append(" in=").append(request.bytesRead.get()).append(" out=").append(response.bytesWritten.get())
                .append(' ').append(ms).append("ms client=").append(Request.getRemoteAddr(request));
        if (failure != null) {
            line.append(" aborted=").append(failure.getClass().getSimpleName());
        }
        // One finished string, the same text the "{} {} ..." template gave: no argument array and no template
        // parsing per request; the JSON encoder writes only the formatted message, so its lines are unchanged too.
        access.info(line.toString());
    }

    /**
     * The access-log line for requests that never reached this handler: those Jetty answers itself before any
     * handler runs (a 431 for oversized headers, a 400 for an unparseable request line). Install it with
     * {@code Server.setRequestLog}; requests this handler saw are skipped, so every request gets exactly one line.
     */
    public static RequestLog unhandledRequests() {
        return (request, response) -> {
            if (RequestIds.get(request) != null || !access.isInfoEnabled()) {
                return;
            }
            long ms = (System.nanoTime() - request.getBeginNanoTime()) / 1_000_000;
            access.info("{} {} {} {} in={} out={} {}ms client={}", response.getHeaders().get("X-Request-Id"),
                    request.getMethod(),
                    request.getHttpURI() == null ? "-" : Redaction.redact(request.getHttpURI().getPathQuery()),
                    response.getStatus(), 0, Response.getContentBytesWritten(response), ms,
                    Request.getRemoteAddr(request));
        };
    }

    /**
     * Request ids only need to be unique, not secret: ThreadLocalRandom. One shared SecureRandom serialised every
     * request behind its lock, and under 1,000 concurrent uploads /health waited seconds for it.
     */
    private static String newId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return HexFormat.of().toHexDigits(r.nextLong()) + HexFormat.of().toHexDigits(r.nextInt());
    }

    private static final class CountingRequest extends Request.Wrapper {
        final AtomicLong bytesRead = new AtomicLong();

        CountingRequest(Request wrapped) {
            super(wrapped);
        }

        @Override
        public Content.Chunk read() {
            Content.Chunk chunk = super.read();
            if (chunk != null) {
                bytesRead.addAndGet(chunk.remaining());
            }
            return chunk;
        }
    }

    private static final class CountingResponse extends Response.Wrapper {
        final AtomicLong bytesWritten = new AtomicLong();

        CountingResponse(Request request, Response wrapped) {
            super(request, wrapped);
        }

        @Override
        public void write(boolean last, ByteBuffer byteBuffer, Callback callback) {
            if (byteBuffer != null) {
                bytesWritten.addAndGet(byteBuffer.remaining());
            }
            super.write(last, byteBuffer, callback);
        }
    }
}
