package io.sluice.ops;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.LoadState;
import io.sluice.admission.MemorySnapshot;
import io.sluice.admission.SheddingTracker;
import io.sluice.api.Exchange;
import io.sluice.api.Routes;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.jobs.QueueStats;
import io.sluice.ops.alerts.AlertStatus;
import io.sluice.ops.metrics.CachedQueueStats;
import io.sluice.storage.BlobStore;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Health, readiness, detailed status and metrics.
 *
 * <p>{@code /health} is liveness: constant time, no database, no locks, no I/O; it stays 200 under any load (the
 * HTTP layer answers it on its I/O thread, before any virtual thread is involved).
 * {@code /health/ready} is 200 only when the database answers, storage takes writes, the data disk has more than its
 * reserve free ({@link DiskCheck}) and the server is {@link LoadState#ACCEPTING}; otherwise 503 with every
 * {@code reason} that holds. Nothing is cached: each call looks again, so readiness returns as soon as space is
 * freed. Neither passes through admission.
 */
public final class HealthApi {

    private final SluiceConfig config;
    private final Database db;
    private final BlobStore store;
    private final AdmissionController admission;
    private final SheddingTracker shedding;
    private final Supplier<MemorySnapshot> memory;
    private final IntSupplier openConnections;
    private final PrometheusMeterRegistry prometheus;
    private final String version;
    private final CachedQueueStats jobs;
    private final Instant started = Instant.now();
    private final Supplier<List<Map<String, Object>>> alerts;
    private final Supplier<Map<String, Object>> hooks;

    public HealthApi(SluiceConfig config, Database db, BlobStore store, AdmissionController admission,
                     SheddingTracker shedding, Supplier<MemorySnapshot> memory, IntSupplier openConnections,
                     PrometheusMeterRegistry prometheus, String version) {
        this(config, db, store, admission, shedding, memory, openConnections, prometheus, version, null, List::of,
                Map::of);
    }

    /**
     * @param jobs   the queue depth shown in {@code /health/detailed} as {@code jobs}; null leaves the block out
     * @param alerts every alert rule's status as JSON ({@link AlertStatus#toJson})
     * @param hooks  the upload hooks' status ({@code io.sluice.hooks.UploadHooks#status}); empty leaves the block out
     */
    public HealthApi(SluiceConfig config, Database db, BlobStore store, AdmissionController admission,
                     SheddingTracker shedding, Supplier<MemorySnapshot> memory, IntSupplier openConnections,
                     PrometheusMeterRegistry prometheus, String version, CachedQueueStats jobs,
                     Supplier<List<Map<String, Object>>> alerts, Supplier<Map<String, Object>> hooks) {
        this.hooks = hooks;
        this.jobs = jobs;
        this.alerts = alerts;
        this.config = config;
        this.db = db;
        this.store = store;
        this.admission = admission;
        this.shedding = shedding;
        this.memory = memory;
        this.openConnections = openConnections;
        this.prometheus = prometheus;
        this.version = version;
    }

    public void register(Routes routes) {
        // GET /health is answered before routing, on the I/O thread (http.Dispatcher); the route stays so that the
        // path exists for the router (other methods get 405 with Allow) and for any chain without the dispatcher.
        routes.add("GET", "/health", this::live);
        routes.add("GET", "/health/ready", this::ready);
        routes.add("GET", "/health/detailed", this::detailed);
        routes.add("GET", "/metrics", this::metrics);
        routes.add("GET", "/api/v1/system/upload-status", this::uploadStatus);
    }

    void live(Exchange ex) throws IOException {
        ex.json(200, Map.of("status", "UP"));
    }

    void ready(Exchange ex) throws IOException {
        LoadState state = shedding.state();
        boolean dbOk = db.ping();
        boolean storageOk = store.probeWritable();
        String connections = connectionsExhausted();
        DiskCheck disk = disk();
        boolean ok = dbOk && storageOk && disk.ok() && state == LoadState.ACCEPTING && connections == null;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", ok ? "READY" : "NOT_READY");
        body.put("state", state.name());
        Map<String, Object> checks = new LinkedHashMap<>();
        checks.put("database", dbOk ? "UP" : "DOWN");
        checks.put("storage", storageOk ? "UP" : "DOWN");
        checks.put("disk", disk.ok() ? "UP" : "DOWN");
        checks.put("connections", connections == null ? "UP" : "EXHAUSTED");
        body.put("checks", checks);
        // Every reason that holds, most specific first: a full disk also fails the storage probe.
        List<String> reasons = new ArrayList<>();
        if (!disk.ok()) {
            reasons.add(disk.reason());
        }
        if (!storageOk) {
            reasons.add("storage does not take writes");
        }
        if (!dbOk) {
            reasons.add("database does not answer");
        }
        if (connections != null) {
            reasons.add(connections);
        }
        if (state == LoadState.SHEDDING) {
            reasons.add(String.valueOf(shedding.lastReason()));
        } else if (state != LoadState.ACCEPTING) {
            reasons.add(state.name().toLowerCase(Locale.ROOT));
        }
        if (!reasons.isEmpty()) {
            body.put("reason", String.join("; ", reasons));
        }
        ex.json(ok ? 200 : 503, body);
    }

    /**
     * Why new clients are refused {@code 503 too_many_connections} right now, or null while a slot is free. A pod in
     * this state should leave the load balancer until its connections drain (the header deadline and the idle
     * timeout end them).
     */
    private String connectionsExhausted() {
        int open = openConnections.getAsInt();
        int limit = config.server().maxConnections();
        return open < limit ? null : "connections exhausted: " + open + " open of server.maxConnections " + limit;
    }

    /**
     * The data disk now, against {@code limits.diskReserve} plus the database headroom that was released and not
     * yet restored (that space is the database's, not free for anyone else).
     */
    DiskCheck disk() {
        long free;
        try {
            free = store.usableSpace();
        } catch (IOException e) {
            free = -1;
        }
        return DiskCheck.of(free, config.limits().diskReserve(), db.headroom().owed());
    }

    void detailed(Exchange ex) throws IOException {
        MemorySnapshot m = memory.get();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "UP");
        body.put("version", version);
        body.put("uptimeSeconds", Duration.between(started, Instant.now()).toSeconds());
        body.put("state", shedding.state().name());
        body.put("shedding", Map.of(
                "state", shedding.state().name(),
                "lastReason", String.valueOf(shedding.lastReason()),
                "refusedTotal", shedding.refusedTotal()));
        Map<String, Object> mem = new LinkedHashMap<>();
        mem.put("heapUsed", m.heapUsed());
        mem.put("heapMax", m.heapMax());
        mem.put("heapUsedAfterGc", m.heapUsedAfterGc());
        mem.put("directUsed", m.directUsed());
        mem.put("directMax", m.directMax());
        mem.put("rss", m.rss());
        mem.put("cgroupLimit", m.cgroupLimit());
        mem.put("cgroupWorkingSet", m.cgroupWorkingSet());
        mem.put("systemTotal", m.systemTotal());
        mem.put("systemAvailable", m.systemAvailable());
        body.put("memory", mem);
        body.put("connections", Map.of("open", openConnections.getAsInt(), "limit", config.server().maxConnections()));
        var pool = admission.bufferPool();
        body.put("uploads", Map.of(
                "active", admission.activeUploads(),
                "slots", admission.slotsTotal(),
                "slotsAvailable", admission.slotsAvailable(),
                "queued", admission.queued(),
                "staged", store.stagedCount(),
                "buffers", Map.of("size", pool.bufferSize(), "capacity", pool.capacity(),
                        "inUse", pool.outstanding(), "allocatedBytes", pool.allocatedBytes())));
        DiskCheck disk = disk();
        Map<String, Object> diskBlock = new LinkedHashMap<>();
        diskBlock.put("free", disk.free());
        diskBlock.put("reserve", config.limits().diskReserve());
        diskBlock.put("headroom", Map.of("size", db.headroom().size(), "held", db.headroom().held()));
        diskBlock.put("status", disk.ok() ? "UP" : "DOWN");
        if (!disk.ok()) {
            diskBlock.put("reason", disk.reason());
        }
        body.put("disk", diskBlock);
        if (jobs != null) {
            body.put("jobs", jobsBlock(jobs.get()));
        }
        body.put("alerts", alerts.get());
        Map<String, Object> hookStatus = hooks.get();
        if (!hookStatus.isEmpty()) {
            body.put("hooks", hookStatus);
        }
        body.put("config", ConfigSummary.of(config));
        ex.json(200, body);
    }

    /** {@code {queued, running}} over all pipelines, at most a second old; -1 each when the database failed. */
    static Map<String, Object> jobsBlock(QueueStats stats) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("queued", stats == null ? -1 : stats.queued());
        m.put("running", stats == null ? -1 : stats.running());
        return m;
    }

    void metrics(Exchange ex) throws IOException {
        ex.text(200, "text/plain; version=0.0.4; charset=utf-8", prometheus.scrape());
    }

    /** The shape existing dashboards already poll. */
    void uploadStatus(Exchange ex) throws IOException {
        MemorySnapshot m = memory.get();
        double gib = 1024.0 * 1024 * 1024;
        long total = m.effectiveLimit();
        long available = m.effectiveAvailable();
        long used = total >= 0 && available >= 0 ? total - available : -1;
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("total_gb", round(total / gib));
        usage.put("available_gb", round(available / gib));
        usage.put("used_gb", round(used / gib));
        usage.put("percent", total > 0 ? round(100.0 * used / total) : 0.0);
        ex.json(200, Map.of(
                "concurrency_manager", Map.of(
                        "active_uploads", admission.activeUploads(),
                        "global_upload_slots_available", admission.slotsAvailable()),
                "memory_monitor", Map.of("current_usage", usage)));
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
