package io.sluice.util;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long a failed attempt waits before the next: exponential in the attempt number, capped, with jitter so that
 * jobs that failed together (a webhook target was down) do not all return in the same instant.
 *
 * <p>The ceiling for attempt {@code n} (1-based: the attempt that just failed) is {@code min(cap, base * 2^(n-1))}.
 * {@link Jitter#FULL} picks uniformly in {@code [0, ceiling)}, {@link Jitter#EQUAL} in
 * {@code [ceiling/2, ceiling)} (never retries at once), {@link Jitter#NONE} takes the ceiling. {@link #delay(int,
 * double)} is a pure function of its arguments; the randomness is the caller's {@code u}.
 *
 * @param base   delay ceiling after the first attempt, > 0
 * @param cap    largest delay, >= base
 * @param jitter how the delay is spread below the ceiling
 */
public record Backoff(Duration base, Duration cap, Jitter jitter) {

    public enum Jitter {
        NONE,
        FULL,
        EQUAL
    }

    public Backoff {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(cap, "cap");
        Objects.requireNonNull(jitter, "jitter");
        if (base.isNegative() || base.isZero()) {
            throw new IllegalArgumentException("backoff base must be > 0, was " + base);
        }
        if (cap.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff cap " + cap + " must be >= base " + base);
        }
    }

    /** The delay ceiling after attempt {@code attempt} failed (attempts below 1 count as 1). */
    public Duration ceiling(int attempt) {
        long baseMs = base.toMillis();
        long capMs = cap.toMillis();
        int doublings = Math.max(0, attempt - 1);
        // base * 2^doublings, stopping as soon as it reaches the cap (so it cannot overflow).
        long ms = baseMs;
        for (int i = 0; i < doublings && ms < capMs; i++) {
            ms = ms > capMs / 2 ? capMs : ms * 2;
        }
        return Duration.ofMillis(Math.min(ms, capMs));
    }

    /**
     * The delay after attempt {@code attempt} failed, for a uniform random {@code u} in {@code [0, 1)}.
     */
    public Duration delay(int attempt, double u) {
        if (!(u >= 0 && u < 1)) {
            throw new IllegalArgumentException("u must be in [0, 1), was " + u);
        }
        long ceiling = ceiling(attempt).toMillis();
        long ms = switch (jitter) {
            case NONE -> ceiling;
            case FULL -> (long) (u * ceiling);
            case EQUAL -> ceiling / 2 + (long) (u * (ceiling - ceiling / 2));
        };
        return Duration.ofMillis(ms);
    }

    /** {@link #delay(int, double)} with a fresh random number. */
    public Duration delay(int attempt) {
        return delay(attempt, ThreadLocalRandom.current().nextDouble());
    }
}
