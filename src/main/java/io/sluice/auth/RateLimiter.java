package io.sluice.auth;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Per-key token buckets: a key with rate R holds at most R tokens (a one-second burst) and gains R per second;
 * each request takes one. Per process: with several server processes each allows R (documented).
 */
public final class RateLimiter {

    private static final class Bucket {
        double tokens;
        long updatedNanos;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updatedNanos = now;
        }
    }

    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final LongSupplier nanos;

    public RateLimiter(LongSupplier nanos) {
        this.nanos = nanos;
    }

    /** Takes a token for {@code key}; null when allowed, else how long until the next token. */
    public Duration acquire(String key, int ratePerSecond) {
        long now = nanos.getAsLong();
        Bucket b = buckets.computeIfAbsent(key, k -> new Bucket(ratePerSecond, now));
        synchronized (b) {
            double elapsed = (now - b.updatedNanos) / 1e9;
            b.tokens = Math.min(ratePerSecond, b.tokens + elapsed * ratePerSecond);
            b.updatedNanos = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return null;
            }
            double wait = (1 - b.tokens) / ratePerSecond;
            return Duration.ofMillis((long) Math.ceil(wait * 1000));
        }
    }
}
