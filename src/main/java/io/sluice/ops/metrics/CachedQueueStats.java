package io.sluice.ops.metrics;

import io.sluice.jobs.JobQueue;
import io.sluice.jobs.QueueStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * {@link JobQueue#stats()} read at most once per {@link #TTL}: scrapes, the dashboard and alert evaluation all ask
 * often, and none of them may turn into a database query per request. When the query fails the last good snapshot
 * stays (an empty one before the first success), and the failure is logged once until a query succeeds again.
 */
public final class CachedQueueStats {

    /** Fresh enough for the dashboard's 2-second poll; at most one aggregate query per second for all readers. */
    public static final Duration TTL = Duration.ofSeconds(1);
    private static final Logger log = LoggerFactory.getLogger(CachedQueueStats.class);

    private record Snapshot(QueueStats stats, long readNanos) {
    }

    private final JobQueue queue;
    private final long ttlNanos;
    private final LongSupplier nanoTime;
    private volatile Snapshot snapshot;
    private boolean failing;

    public CachedQueueStats(JobQueue queue) {
        this(queue, TTL, System::nanoTime);
    }

    CachedQueueStats(JobQueue queue, Duration ttl, LongSupplier nanoTime) {
        this.queue = queue;
        this.ttlNanos = ttl.toNanos();
        this.nanoTime = nanoTime;
    }

    /** The stats, at most {@link #TTL} old (older only while the database does not answer). */
    public QueueStats get() {
        Snapshot s = snapshot;
        long now = nanoTime.getAsLong();
        if (s != null && now - s.readNanos < ttlNanos) {
            return s.stats;
        }
        synchronized (this) {
            s = snapshot;
            if (s != null && nanoTime.getAsLong() - s.readNanos < ttlNanos) {
                return s.stats;
            }
            try {
                QueueStats fresh = queue.stats();
                snapshot = new Snapshot(fresh, nanoTime.getAsLong());
                failing = false;
                return fresh;
            } catch (Exception e) {
                if (!failing) {
                    log.warn("reading the job queue's statistics failed: {}", e.toString());
                    failing = true;
                }
                QueueStats last = s == null ? new QueueStats(Map.of(), null) : s.stats;
                // Do not ask again on every call while the database is down.
                snapshot = new Snapshot(last, nanoTime.getAsLong());
                return last;
            }
        }
    }
}
