package io.sluice.ops;

import io.sluice.jobs.JobQueue;
import io.sluice.jobs.QueueStats;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * {@link JobQueue#stats()} read at most once per {@link #MAX_AGE}, however often {@code /health/detailed} is polled
 * (each open dashboard polls it every 2 s): the aggregate query then costs the database a fixed rate. Thread-safe;
 * concurrent callers of an expired entry may both query, which is harmless.
 */
public final class CachedQueueStats {

    public static final Duration MAX_AGE = Duration.ofSeconds(1);

    /** @param stats null when the query failed; {@code at} when it was taken (clock millis) */
    private record Entry(QueueStats stats, long at) {
    }

    private final JobQueue queue;
    private final Clock clock;
    private volatile Entry last;

    public CachedQueueStats(JobQueue queue, Clock clock) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The stats at most {@link #MAX_AGE} old, or null when the database could not be asked. */
    public QueueStats get() {
        long now = clock.millis();
        Entry e = last;
        if (e == null || now - e.at() >= MAX_AGE.toMillis() || now < e.at()) {
            QueueStats s;
            try {
                s = queue.stats();
            } catch (SQLException | RuntimeException ex) {
                s = null; // health must answer; a failure is remembered for the same second, not retried per call
            }
            e = new Entry(s, now);
            last = e;
        }
        return e.stats();
    }
}
