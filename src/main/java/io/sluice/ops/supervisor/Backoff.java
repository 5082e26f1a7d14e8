package io.sluice.ops.supervisor;

import java.time.Duration;

/**
 * Exponential delay between restarts: 1 s, 2 s, 4 s ... capped at {@link #CAP}. {@link #reset()} after a child ran
 * healthily for the minimum uptime, so a crash once a day waits one second, while a crash loop slows down.
 * Not thread-safe: used by the supervisor's loop only.
 */
final class Backoff {

    static final Duration INITIAL = Duration.ofSeconds(1);
    static final Duration CAP = Duration.ofSeconds(60);

    private int attempts;

    /** The delay before the next restart; each call doubles the one after. */
    Duration next() {
        long seconds = INITIAL.toSeconds() << Math.min(attempts, 16);
        attempts++;
        return seconds >= CAP.toSeconds() ? CAP : Duration.ofSeconds(seconds);
    }

    void reset() {
        attempts = 0;
    }

    boolean isReset() {
        return attempts == 0;
    }
}
