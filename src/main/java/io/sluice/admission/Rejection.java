package io.sluice.admission;

import java.time.Duration;

/**
 * Why work was not admitted, ready to be answered: HTTP status, stable JSON error code, a human message, and the
 * {@code Retry-After} to send (null for rejections that retrying soon will not fix).
 */
public record Rejection(int status, String code, String message, Duration retryAfter) {
}
