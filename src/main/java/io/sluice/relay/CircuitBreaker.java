package io.sluice.relay;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Per-target circuit breaker. Closed: every request may try the target. After {@code threshold} consecutive
 * failures it opens: the target is skipped for {@code coolDown}. Then it is half-open: exactly one request may
 * probe it; success closes the breaker, failure opens it for another cool-down. Thread-safe.
 */
final class CircuitBreaker {

    enum State { CLOSED, OPEN, HALF_OPEN }

    private final int threshold;
    private final long coolDownNanos;
    private final LongSupplier nanoTime;
    private int failures;
    private long openedAt;
    private State state = State.CLOSED;
    private boolean probing;

    CircuitBreaker(int threshold, Duration coolDown, LongSupplier nanoTime) {
        this.threshold = threshold;
        this.coolDownNanos = coolDown.toNanos();
        this.nanoTime = nanoTime;
    }

    /**
     * Whether this request may try the target now. A true answer in the half-open state makes the caller the
     * probe: it must report {@link #success()} or {@link #failure()}.
     */
    synchronized boolean tryAcquire() {
        switch (state) {
            case CLOSED -> {
                return true;
            }
            case OPEN -> {
                if (nanoTime.getAsLong() - openedAt < coolDownNanos) {
                    return false;
                }
                state = State.HALF_OPEN;
                probing = true;
                return true;
            }
            default -> {
                if (probing) {
                    return false;
                }
                probing = true;
                return true;
            }
        }
    }

    synchronized void success() {
        failures = 0;
        probing = false;
        state = State.CLOSED;
    }

    synchronized void failure() {
        probing = false;
        failures++;
        if (state == State.HALF_OPEN || failures >= threshold) {
            state = State.OPEN;
            openedAt = nanoTime.getAsLong();
        }
    }

    /** A probe that ended without a verdict (the caller gave up first) frees the half-open slot. */
    synchronized void release() {
        probing = false;
    }

    synchronized State state() {
        return state;
    }
}
