package io.sluice.ops.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.BufferPool;
import io.sluice.admission.MemorySnapshot;
import io.sluice.jobs.QueueStats;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The gauges that read state other components already keep: admission slots and the buffer budget, process and
 * system memory, open files, and the job queue per pipeline (through {@link CachedQueueStats}, so a scrape never
 * queries the database more than once per {@link CachedQueueStats#TTL}). Counters that need a hook where things
 * happen live with their component ({@link UploadMetrics}, {@link MeteredJobQueue}, the webhook sender).
 */
public final class ServerMetrics {

    public static final String SHED = "sluice.admission.shed";

    private ServerMetrics() {
    }

    /**
     * Counts one admission refusal of {@code code} ({@code upload_slots_exhausted}, {@code memory_pressure}, ...:
     * the admission controller's fixed codes) as {@value #SHED} tagged {@code reason}.
     */
    public static void shed(MeterRegistry registry, String code) {
        Counter.builder(SHED).description("requests refused by admission, by reason")
                .tag("reason", code).register(registry).increment();
    }

    public static void bindAdmission(MeterRegistry registry, AdmissionController admission) {
        Gauge.builder("sluice.admission.slots", admission, AdmissionController::slotsTotal)
                .description("upload slots configured (admission.maxConcurrentUploads)").register(registry);
        Gauge.builder("sluice.admission.queued", admission, AdmissionController::queued)
                .description("uploads waiting in the admission queue for a slot").register(registry);
        BufferPool pool = admission.bufferPool();
        Gauge.builder("sluice.admission.memory.budget", pool, p -> (double) p.capacity() * p.bufferSize())
                .baseUnit("bytes").description("the upload buffer budget").register(registry);
        Gauge.builder("sluice.admission.memory.used", pool, p -> (double) p.outstanding() * p.bufferSize())
                .baseUnit("bytes").description("upload buffers handed out now").register(registry);
    }

    /**
     * Records each wait in the admission queue: how long, and how it ended (admitted, expired, abandoned,
     * draining). Every upload waits (usually zero), so each outcome's timer is registered once, on its first wait
     * as before (a scrape shows only outcomes that happened), and looked up in a small map afterwards: building and
     * registering the meter per upload (tag sorting, id, the registry's lookup) cost about 1.5 % of a small
     * upload's CPU.
     */
    public static BiConsumer<AdmissionController.WaitOutcome, Duration> admissionWaits(MeterRegistry registry) {
        Map<AdmissionController.WaitOutcome, Timer> timers = new ConcurrentHashMap<>();
        return (outcome, waited) -> timers.computeIfAbsent(outcome, o -> Timer.builder("sluice.admission.wait")
                        .tag("outcome", o.name().toLowerCase(Locale.ROOT))
                        .description("time uploads waited in the admission queue").register(registry))
                .record(waited);
    }

    public static void bindMemory(MeterRegistry registry, Supplier<MemorySnapshot> memory) {
        new FileDescriptorMetrics().bindTo(registry);
        Gauge.builder("sluice.process.memory.rss", memory, m -> m.get().rss()).baseUnit("bytes")
                .description("resident set size of this process (-1 when unknown)").register(registry);
        Gauge.builder("sluice.memory.limit", memory, m -> m.get().effectiveLimit()).baseUnit("bytes")
                .description("the cgroup limit, or the machine's memory without one").register(registry);
        Gauge.builder("sluice.memory.available", memory, m -> m.get().effectiveAvailable()).baseUnit("bytes")
                .description("memory still available under that limit").register(registry);
    }

    /** Queued and running jobs of each configured pipeline, and the oldest due job's wait. */
    public static void bindJobs(MeterRegistry registry, CachedQueueStats stats, Collection<String> pipelines) {
        for (String p : pipelines) {
            Gauge.builder("sluice.jobs.queued", stats, s -> counts(s.get(), p).queued()).tag("pipeline", p)
                    .description("jobs waiting, by pipeline").register(registry);
            Gauge.builder("sluice.jobs.running", stats, s -> counts(s.get(), p).running()).tag("pipeline", p)
                    .description("jobs running, by pipeline").register(registry);
        }
        Gauge.builder("sluice.jobs.oldest.queued.age", stats,
                        s -> s.get().oldestQueuedAge(Instant.now()).toMillis() / 1000.0)
                .baseUnit("seconds").description("how long the oldest due job has waited").register(registry);
    }

    private static QueueStats.Counts counts(QueueStats stats, String pipeline) {
        return stats.byPipeline().getOrDefault(pipeline, new QueueStats.Counts(0, 0));
    }
}
