package io.sluice.app;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.BufferPool;
import io.sluice.admission.MemoryMonitor;
import io.sluice.admission.MemoryPressure;
import io.sluice.admission.MemorySnapshot;
import io.sluice.admission.SheddingTracker;
import io.sluice.config.AdmissionConfig;
import io.sluice.ops.metrics.ServerMetrics;
import io.sluice.storage.DiskLedger;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Whether an upload may start ({@link AdmissionController}): the buffer pool, memory pressure from a sampled
 * snapshot, shedding, and the disk ledger. Draining it is the first thing a shutdown does: readiness turns
 * DRAINING and uploads waiting for a slot are answered 503 at once, not after their wait.
 */
public final class AdmissionModule implements Module {

    /** How often memory is sampled for admission; admission itself never reads /proc on the request path. */
    public static final long MEMORY_SAMPLE_MILLIS = 500;

    private final BufferPool pool;
    private final MemoryMonitor monitor = new MemoryMonitor();
    private final AtomicReference<MemorySnapshot> latest = new AtomicReference<>(monitor.sample());
    private final MemoryPressure pressure;
    private final SheddingTracker shedding;
    private final AdmissionController admission;
    private final ScheduledExecutorService monitorThread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sluice-monitor");
        t.setDaemon(true);
        return t;
    });

    public AdmissionModule(AdmissionConfig ac, DiskLedger disk, MeterRegistry metrics) {
        long budget = ac.memoryBudget() > 0 ? ac.memoryBudget()
                : (long) (Runtime.getRuntime().maxMemory() * AdmissionConfig.AUTO_BUDGET_HEAP_FRACTION);
        // Each admitted upload holds exactly BUFFERS_PER_UPLOAD buffers, so more than that per slot is never used.
        pool = new BufferPool(ac.bufferSize(), Math.min(budget,
                (long) ac.maxConcurrentUploads() * AdmissionController.BUFFERS_PER_UPLOAD * ac.bufferSize()));
        pressure = new MemoryPressure(ac.memoryHighWatermark(), pool, latest::get);
        shedding = new SheddingTracker(() -> pressure.check(0, 0), code -> ServerMetrics.shed(metrics, code));
        admission = new AdmissionController(ac, pool, pressure, disk, shedding,
                ServerMetrics.admissionWaits(metrics));

        Gauge.builder("sluice.uploads.active", admission, AdmissionController::activeUploads).register(metrics);
        Gauge.builder("sluice.uploads.slots.available", admission, AdmissionController::slotsAvailable).register(metrics);
        Gauge.builder("sluice.buffers.in.use", pool, BufferPool::outstanding).register(metrics);
        Gauge.builder("sluice.shedding", shedding, s -> s.state().ordinal())
                .description("0 accepting, 1 shedding, 2 draining").register(metrics);
        FunctionCounter.builder("sluice.admission.refused", shedding, SheddingTracker::refusedTotal)
                .description("requests refused by admission (429/503/507)").register(metrics);
        ServerMetrics.bindAdmission(metrics, admission);
        ServerMetrics.bindMemory(metrics, latest::get);
    }

    public AdmissionController admission() {
        return admission;
    }

    public SheddingTracker shedding() {
        return shedding;
    }

    public BufferPool pool() {
        return pool;
    }

    /** The latest memory sample (taken every {@link #MEMORY_SAMPLE_MILLIS}). */
    public MemorySnapshot memory() {
        return latest.get();
    }

    /** Whether memory is below the watermark admission applies to uploads (a job starts only then). */
    public boolean memoryOk() {
        return pressure.check(0, 0) == null;
    }

    @Override
    public String name() {
        return "admission";
    }

    @Override
    public void start() {
        monitorThread.scheduleAtFixedRate(() -> latest.set(monitor.sample()), MEMORY_SAMPLE_MILLIS,
                MEMORY_SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
        monitorThread.scheduleAtFixedRate(shedding::tick, SheddingTracker.TICK_MILLIS, SheddingTracker.TICK_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    @Override
    public void drain() {
        admission.drain();
    }

    @Override
    public void stop() {
        monitorThread.shutdownNow();
    }
}
