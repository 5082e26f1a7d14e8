package io.sluice.api;

import java.time.Duration;
import java.util.Map;

/**
 * A client-facing failure: the HTTP status, a stable machine-readable code, a human message, optional details and
 * an optional {@code Retry-After}. Rendered as {@code {"error":{"code":..,"message":..,...details}}}.
 *
 * <p>Throw it for anything the client can act on; anything else that escapes a handler is a logged 500. Routes
 * build it from the registry, {@link ErrorCode}; only a processor's own refusal codes (not in the registry) use the
 * string constructor.
 */
public final class ApiException extends RuntimeException {

    /** The status of a pipeline precheck's refusal, whose code is the processor's. */
    public static final int PROCESSOR_REFUSAL = 422;

    private final int status;
    private final String code;
    private final ErrorCode errorCode;
    private final Map<String, Object> details;
    private final Duration retryAfter;

    /** A refusal with a code outside the registry: a processor's (e.g. {@code missing_columns}). */
    public ApiException(int status, String code, String message, Map<String, Object> details, Duration retryAfter) {
        this(null, status, code, message, details, retryAfter);
    }

    ApiException(ErrorCode errorCode, int status, String message, Map<String, Object> details, Duration retryAfter) {
        this(errorCode, status, errorCode.code(), message, details, retryAfter);
    }

    private ApiException(ErrorCode errorCode, int status, String code, String message, Map<String, Object> details,
                         Duration retryAfter) {
        super(message, null, false, false);
        this.errorCode = errorCode;
        this.status = status;
        this.code = code;
        this.details = Map.copyOf(details);
        this.retryAfter = retryAfter;
    }

    /** A pipeline precheck refused the file: 422 with the processor's code. */
    public static ApiException refusedByProcessor(String code, String message, Map<String, Object> details) {
        return new ApiException(PROCESSOR_REFUSAL, code, message, details, null);
    }

    public static ApiException notFound(String what) {
        return ErrorCode.NOT_FOUND.error(what + " not found");
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** Whether this is {@code e} of the registry (false for a processor's code). */
    public boolean is(ErrorCode e) {
        return errorCode == e;
    }

    public Map<String, Object> details() {
        return details;
    }

    /** Null when retrying will not help. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
