package io.sluice.ops.alerts;

import io.sluice.admission.MemorySnapshot;
import io.sluice.config.AlertsConfig;
import io.sluice.jobs.QueueStats;
import io.sluice.ops.metrics.OutcomeWindow;

import java.time.Clock;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The built-in rules, from {@code alerts.*} and {@code limits.diskReserve}:
 * <ul>
 *   <li>{@code memory}: used fraction of the memory limit above {@code alerts.memoryThreshold}. The limit is the
 *       cgroup limit when there is one (used = working set, {@code memory.current - inactive_file}, as kubelet
 *       counts it), else physical memory (used = total - {@code MemAvailable}): what the OOM killer looks at,
 *       not the JVM heap (admission guards the heap);</li>
 *   <li>{@code available_memory}: available memory under that limit below {@code alerts.minAvailableMemory};</li>
 *   <li>{@code upload_failures}: failed fraction of upload requests over {@code alerts.uploadFailureWindow} above
 *       {@code alerts.uploadFailureRate}, judged only once the window holds {@code alerts.uploadFailureMinCount};</li>
 *   <li>{@code queue_age}: the oldest due queued job has waited longer than {@code alerts.queueAge};</li>
 *   <li>{@code disk}: free space on the data disk below {@code limits.diskReserve}.</li>
 * </ul>
 */
public final class DefaultRules {

    private DefaultRules() {
    }

    /**
     * @param memory     the latest memory snapshot
     * @param uploads    upload outcomes over the configured window
     * @param queue      job queue statistics (cached: this is read every evaluation)
     * @param diskFree   usable bytes on the data disk, -1 when unknown
     */
    public static List<AlertRule> of(AlertsConfig c, long diskReserve, Supplier<MemorySnapshot> memory,
                                     Supplier<OutcomeWindow.Counts> uploads, Supplier<QueueStats> queue,
                                     LongSupplier diskFree, Clock clock) {
        return List.of(
                new AlertRule("memory", "memory in use against the container (cgroup) or machine limit", "ratio",
                        true, c.memoryThreshold(), c.forDuration(), () -> {
                    MemorySnapshot m = memory.get();
                    long limit = m.effectiveLimit();
                    long available = m.effectiveAvailable();
                    if (limit <= 0 || available < 0) {
                        return AlertRule.Reading.unknown(Double.NaN);
                    }
                    return AlertRule.Reading.of((double) (limit - available) / limit);
                }),
                new AlertRule("available_memory", "memory still available under the memory limit", "bytes",
                        false, c.minAvailableMemory(), c.forDuration(), () -> {
                    long available = memory.get().effectiveAvailable();
                    return available < 0 ? AlertRule.Reading.unknown(Double.NaN) : AlertRule.Reading.of(available);
                }),
                new AlertRule("upload_failures", "failed share of upload requests over the last "
                        + c.uploadFailureWindow().toSeconds() + " s (at least " + c.uploadFailureMinCount()
                        + " requests)", "ratio", true, c.uploadFailureRate(), c.forDuration(), () -> {
                    OutcomeWindow.Counts counts = uploads.get();
                    return new AlertRule.Reading(counts.failureRate(),
                            counts.total() >= c.uploadFailureMinCount());
                }),
                new AlertRule("queue_age", "how long the oldest due job has waited in the queue", "seconds", true,
                        c.queueAge().toMillis() / 1000.0, c.forDuration(),
                        () -> AlertRule.Reading.of(queue.get().oldestQueuedAge(clock.instant()).toMillis() / 1000.0)),
                new AlertRule("disk", "free space on the data disk against limits.diskReserve", "bytes", false,
                        diskReserve, c.forDuration(), () -> {
                    long free = diskFree.getAsLong();
                    return free < 0 ? AlertRule.Reading.unknown(Double.NaN) : AlertRule.Reading.of(free);
                }));
    }
}
