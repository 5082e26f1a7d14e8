package io.sluice.http;

import io.sluice.api.Json;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.Graceful;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * Errors that Jetty itself produces before or around our handlers (a 431 for oversized headers, a 400 for an
 * unparseable request line, a 503 during graceful shutdown) get the same JSON shape as ours.
 */
public final class JsonErrorHandler extends ErrorHandler {

    private final Duration retryAfter;

    /** @param retryAfter sent with Jetty's own 503s, like every other 503 */
    public JsonErrorHandler(Duration retryAfter) {
        this.retryAfter = retryAfter;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = response.getStatus();
        String message = request.getAttribute(ERROR_MESSAGE) instanceof String s ? s : HttpStatus.getMessage(status);
        String id = RequestIds.get(request);
        if (id == null) {
            id = UUID.randomUUID().toString();
            response.getHeaders().put("X-Request-Id", id);
        }
        String code = codeFor(status);
        if (status == 503) {
            // Jetty's 503 comes from GracefulHandler refusing new requests on kept-alive connections while
            // draining: say so, with the same code admission uses, and when to come back.
            if (request.getConnectionMetaData().getConnector() instanceof Graceful g && g.isShutdown()) {
                code = "draining";
                message = "the server is shutting down";
            }
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Math.max(1, retryAfter.toSeconds()));
        }
        byte[] body = Json.error(code, message, Map.of(), id);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(Json.error(codeFor(status), reason == null ? HttpStatus.getMessage(status) : reason,
                Map.of(), null));
    }

    static String codeFor(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 408 -> "request_timeout";
            case 413 -> "request_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "header_too_large";
            case 500 -> "internal_error";
            case 503 -> "unavailable";
            default -> "http_" + status;
        };
    }
}
