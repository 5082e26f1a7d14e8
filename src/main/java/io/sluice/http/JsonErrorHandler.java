package io.sluice.http;

import io.sluice.api.ErrorCode;
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
                code = ErrorCode.DRAINING.code();
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

    /** The registry's code for a status Jetty answers on its own; {@code http_<status>} for one it has none for. */
    static String codeFor(int status) {
        ErrorCode code = switch (status) {
            case 400 -> ErrorCode.BAD_REQUEST;
            case 404 -> ErrorCode.NOT_FOUND;
            case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
            case 408 -> ErrorCode.REQUEST_TIMEOUT;
            case 413 -> ErrorCode.REQUEST_TOO_LARGE;
            case 414 -> ErrorCode.URI_TOO_LONG;
            case 431 -> ErrorCode.HEADER_TOO_LARGE;
            case 500 -> ErrorCode.INTERNAL_ERROR;
            case 503 -> ErrorCode.UNAVAILABLE;
            default -> null;
        };
        return code == null ? "http_" + status : code.code();
    }
}
