package io.sluice.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * A snapshot of the unfinished part of the queue.
 *
 * @param byPipeline     queued and running counts per pipeline (pipelines with neither are absent)
 * @param oldestQueuedDue when the longest-waiting queued job became due ({@code run_at}), or null when none is queued;
 *                        a job waiting for its retry back-off is not yet due and does not count as waiting
 */
public record QueueStats(Map<String, Counts> byPipeline, Instant oldestQueuedDue) {

    public QueueStats {
        byPipeline = Map.copyOf(byPipeline);
    }

    public record Counts(long queued, long running) {
    }

    public long queued() {
        return byPipeline.values().stream().mapToLong(Counts::queued).sum();
    }

    public long running() {
        return byPipeline.values().stream().mapToLong(Counts::running).sum();
    }

    /** How long the oldest due job has waited at {@code now}; zero when nothing waits or it is not yet due. */
    public Duration oldestQueuedAge(Instant now) {
        if (oldestQueuedDue == null || oldestQueuedDue.isAfter(now)) {
            return Duration.ZERO;
        }
        return Duration.between(oldestQueuedDue, now);
    }
}
