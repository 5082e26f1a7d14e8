package io.sluice.api;

import java.time.Duration;
import java.util.Map;

/**
 * A client-facing failure: the HTTP status, a stable machine-readable code, a human message, optional details and
 * an optional {@code Retry-After}. Rendered as {@code {"error":{"code":..,"message":..,...details}}}.
 *
 * <p>Throw it for anything the client can act on; anything else that escapes a handler is a logged 500.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String code;
    private final Map<String, Object> details;
    private final Duration retryAfter;

    public ApiException(int status, String code, String message) {
        this(status, code, message, Map.of(), null);
    }

    public ApiException(int status, String code, String message, Map<String, Object> details, Duration retryAfter) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.details = Map.copyOf(details);
        this.retryAfter = retryAfter;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public Map<String, Object> details() {
        return details;
    }

    /** Null when retrying will not help. */
    public Duration retryAfter() {
        return retryAfter;
    }

    public static ApiException badRequest(String code, String message) {
        return new ApiException(400, code, message);
    }

    public static ApiException notFound(String what) {
        return new ApiException(404, "not_found", what + " not found");
    }
}
