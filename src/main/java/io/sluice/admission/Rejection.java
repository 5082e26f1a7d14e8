package io.sluice.admission;


import io.sluice.api.ErrorCode;
import java.time.Duration;

/**
 * Why work was not admitted, ready to be answered: the registry's error (status and stable JSON code), a human
 * message, and the {@code Retry-After} to send (null for rejections that retrying soon will not fix).
 */
public record Rejection(ErrorCode error, String message, Duration retryAfter) {

    public int status() {
        return error.status();
    }

    public String code() {
        return error.code();
    }
}
