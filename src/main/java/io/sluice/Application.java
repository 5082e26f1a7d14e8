package io.sluice;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.BufferPool;
import io.sluice.admission.MemoryMonitor;
import io.sluice.admission.MemoryPressure;
import io.sluice.admission.MemorySnapshot;
import io.sluice.admission.SheddingTracker;
import io.sluice.auth.AccessPolicy;
import io.sluice.auth.ApiKeys;
import io.sluice.auth.Authenticator;
import io.sluice.auth.KeysApi;
import io.sluice.auth.RateLimiter;
import io.sluice.auth.TokenRevocations;
import io.sluice.auth.TokenVerifier;
import io.sluice.auth.TokensApi;
import io.sluice.config.AdmissionConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.http.ConnectionCap;
import io.sluice.http.HttpServer;
import io.sluice.http.Listeners;
import io.sluice.http.Router;
import io.sluice.jobs.JobHandler;
import io.sluice.jobs.JobQueue;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobsApi;
import io.sluice.jobs.PublishingJobQueue;
import io.sluice.notify.Deliveries;
import io.sluice.notify.EventLog;
import io.sluice.notify.EventStreams;
import io.sluice.notify.NotifyApi;
import io.sluice.hooks.HttpUploadHooks;
import io.sluice.hooks.UploadHooks;
import io.sluice.notify.WebhookSecret;
import io.sluice.notify.WebhookSender;
import io.sluice.isolation.ChildProcesses;
import io.sluice.jobs.JobOutputs;
import io.sluice.jobs.OutputStore;
import io.sluice.jobs.StoredJobOutputs;
import io.sluice.jobs.IsolatedRunner;
import io.sluice.jobs.PipelineHandler;
import io.sluice.jobs.Pipelines;
import io.sluice.jobs.SqlJobQueue;
import io.sluice.jobs.UploadJobs;
import io.sluice.jobs.WorkerPool;
import io.sluice.ops.HealthApi;
import io.sluice.ops.OpenApiApi;
import io.sluice.ops.alerts.AlertService;
import io.sluice.ops.metrics.CachedQueueStats;
import io.sluice.ops.metrics.MeteredJobQueue;
import io.sluice.ops.metrics.ServerMetrics;
import io.sluice.ops.metrics.UploadMetrics;
import io.sluice.processors.Processors;
import io.sluice.relay.RelayApi;
import io.sluice.site.Dashboard;
import io.sluice.site.StaticSite;
import io.sluice.storage.BlobStore;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.s3.S3BlobStore;
import io.sluice.upload.DirectUploadApi;
import io.sluice.upload.PresignApi;
import io.sluice.upload.PresignService;
import io.sluice.config.PresignConfig;
import io.sluice.upload.FilenamePolicy;
import io.sluice.upload.IdGenerator;
import io.sluice.upload.SqlUploadRepository;
import io.sluice.upload.TypeDetector;
import io.sluice.upload.UploadService;
import io.sluice.upload.LocalUploadLocks;
import io.sluice.upload.ResumableService;
import io.sluice.upload.SqlResumableRepository;
import io.sluice.config.TusConfig;
import io.sluice.tus.TusApi;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The composition root: builds every component from a validated configuration, starts serving, and shuts down
 * in order (drain, stop HTTP within the grace period, wait for handlers' cleanup, close the database).
 * Commands and tests both start Sluice through here.
 */
public final class Application implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Application.class);
    /** How often memory is sampled for admission; admission itself never reads /proc on the request path. */
    public static final long MEMORY_SAMPLE_MILLIS = 500;
    /** After Jetty stops, how long to wait for aborted handlers to finish removing their staged files. */
    private static final long HANDLER_CLEANUP_WAIT_MILLIS = 5_000;
    /** How often the outputs of pruned jobs are looked for (pruning itself runs hourly in the worker pool). */
    static final Duration OUTPUT_SWEEP_INTERVAL = Duration.ofHours(1);
    /** How often a released database headroom is looked at for restoring (a look is one statfs). */
    static final long HEADROOM_CHECK_MILLIS = 1_000;

    private final SluiceConfig config;
    private final Database db;
    private final BlobStore store;
    private final HttpServer http;
    private final Router publicRouter;
    private final SheddingTracker shedding;
    private final AdmissionController admission;
    private final ScheduledExecutorService scheduler;
    private final ScheduledExecutorService sweeper;
    private final ResumableService resumable;
    private final WorkerPool workers;
    private final EventStreams streams;
    private final WebhookSender webhooks;
    private final Router adminRouter;
    private final AlertService alerts;
    private final ChildProcesses children;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    private Application(SluiceConfig config, Database db, BlobStore store, HttpServer http, Router publicRouter,
                        SheddingTracker shedding, AdmissionController admission, ScheduledExecutorService scheduler,
                        ScheduledExecutorService sweeper, ResumableService resumable, WorkerPool workers,
                        EventStreams streams, WebhookSender webhooks, Router adminRouter,
                        AlertService alerts, ChildProcesses children) {
        this.children = children;
        this.adminRouter = adminRouter;
        this.alerts = alerts;
        this.config = config;
        this.db = db;
        this.store = store;
        this.http = http;
        this.publicRouter = publicRouter;
        this.shedding = shedding;
        this.admission = admission;
        this.scheduler = scheduler;
        this.sweeper = sweeper;
        this.resumable = resumable;
        this.workers = workers;
        this.streams = streams;
        this.webhooks = webhooks;
    }

    public static String version() {
        String v = Application.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** Starts every part in one process ({@code serve}). */
    public static Application start(SluiceConfig config) throws Exception {
        return start(config, Role.ALL);
    }

    /** Starts the parts of {@code role} (see {@link Role} for what runs where). */
    public static Application start(SluiceConfig config, Role role) throws Exception {
        // The ports first: one already in use is refused before the database opens, secrets are generated or
        // anything else touches the data directory, and before there is anything to drain.
        return start(config, role, Listeners.bind(config.server()));
    }

    /**
     * Starts on sockets the caller bound already ({@link Listeners#bind}, which {@code sluice serve} does before it
     * even opens its log file); they are closed if the start fails.
     */
    public static Application start(SluiceConfig config, Role role, Listeners listeners) throws Exception {
        try {
            return startOn(config, role, listeners);
        } catch (Exception | Error e) {
            listeners.close(); // idempotent: a server that got as far as Jetty has closed them already
            throw e;
        }
    }

    private static Application startOn(SluiceConfig config, Role role, Listeners listeners) throws Exception {
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(metrics);
        new JvmGcMetrics().bindTo(metrics);
        new JvmThreadMetrics().bindTo(metrics);
        new ClassLoaderMetrics().bindTo(metrics);
        new ProcessorMetrics().bindTo(metrics);
        new UptimeMetrics().bindTo(metrics);

        // Staged state belongs to the upload requests of the API role; a worker must not sweep that of a running API
        // process on the same data directory.
        // One account of the data disk for every writer: uploads, spool files, copies and job attempts.
        Database db = openServerDatabase(config);
        // The database headroom released on a full disk and not yet restored is the database's: writers see it as
        // taken, so that they do not use up what was freed for deletes and key changes.
        DiskLedger disk = new DiskLedger(() -> {
            long usable = DiskLedger.usableSpace(config.dataDir());
            return usable < 0 ? usable : Math.max(0, usable - db.headroom().owed());
        }, config.limits().diskReserve(), config.admission().retryAfter(),
                config.storage().type() == io.sluice.config.StorageConfig.Type.LOCAL ? 0
                        : S3BlobStore.spoolBytesPerWriter(config.storage().s3()));
        Storage storage;
        try {
            storage = Storage.open(config, role.servesApi(), disk);
        } catch (Exception e) {
            db.close();
            throw e;
        }
        BlobStore store = storage.store().blobs();

        AdmissionConfig ac = config.admission();
        long budget = ac.memoryBudget() > 0 ? ac.memoryBudget()
                : (long) (Runtime.getRuntime().maxMemory() * AdmissionConfig.AUTO_BUDGET_HEAP_FRACTION);
        // Each admitted upload holds exactly BUFFERS_PER_UPLOAD buffers, so more than that per slot is never used.
        BufferPool pool = new BufferPool(ac.bufferSize(), Math.min(budget,
                (long) ac.maxConcurrentUploads() * AdmissionController.BUFFERS_PER_UPLOAD * ac.bufferSize()));
        MemoryMonitor monitor = new MemoryMonitor();
        AtomicReference<MemorySnapshot> latest = new AtomicReference<>(monitor.sample());
        MemoryPressure pressure = new MemoryPressure(ac.memoryHighWatermark(), pool, latest::get);
        SheddingTracker shedding = new SheddingTracker(() -> pressure.check(0, 0),
                code -> ServerMetrics.shed(metrics, code));
        AdmissionController admission = new AdmissionController(ac, pool, pressure, disk, shedding,
                (outcome, waited) -> ServerMetrics.admissionWait(metrics, outcome, waited));

        Gauge.builder("sluice.uploads.active", admission, AdmissionController::activeUploads).register(metrics);
        Gauge.builder("sluice.uploads.slots.available", admission, AdmissionController::slotsAvailable).register(metrics);
        Gauge.builder("sluice.buffers.in.use", pool, BufferPool::outstanding).register(metrics);
        Gauge.builder("sluice.shedding", shedding, s -> s.state().ordinal())
                .description("0 accepting, 1 shedding, 2 draining").register(metrics);
        FunctionCounter.builder("sluice.admission.refused", shedding, SheddingTracker::refusedTotal)
                .description("requests refused by admission (429/503/507)").register(metrics);
        ServerMetrics.bindAdmission(metrics, admission);
        ServerMetrics.bindMemory(metrics, latest::get);

        // Background jobs: the queue and the pipelines exist before the upload paths, which enqueue into them.
        IdGenerator ids = new IdGenerator(Clock.systemUTC());
        JobSignal jobSignal = new JobSignal();
        Pipelines pipelines = config.pipelines().isEmpty() ? Pipelines.none()
                : Pipelines.configure(config.pipelines(), Processors.available());
        // Events: recorded for every job state change and completed upload; webhooks and SSE read them.
        EventLog events = new EventLog(db, pipeline -> webhookTargets(config, pipelines, pipeline),
                Clock.systemUTC(), config.webhooks().progressInterval());
        Deliveries deliveries = new Deliveries(db, Clock.systemUTC());
        WebhookSender webhooks = new WebhookSender(deliveries, events,
                WebhookSecret.resolve(config.webhooks().secret(), config.dataDir()), config.webhooks(),
                Clock.systemUTC(), metrics);
        EventStreams streams = new EventStreams(events);
        JobQueue jobs = new MeteredJobQueue(
                new PublishingJobQueue(new SqlJobQueue(db, ids::next, config.jobs(), jobSignal), events), metrics);
        CachedQueueStats queueStats = new CachedQueueStats(jobs);
        ServerMetrics.bindJobs(metrics, queueStats, pipelines.all().stream().map(Pipelines.Pipeline::name).toList());
        // Outputs stay in place on local disk; with shared storage they go into the store, so that any API node
        // serves what a worker on another machine wrote (temporaries stay on the worker's disk either way).
        OutputStore localOutputs = new OutputStore(config.dataDir());
        JobOutputs outputs = config.storage().type() == io.sluice.config.StorageConfig.Type.LOCAL ? localOutputs
                : new StoredJobOutputs(localOutputs, storage.store());
        java.util.function.BiPredicate<String, Integer> attemptRunning = (id, attempt) -> {
            try {
                // Running means holding a live lease: the files of a crashed attempt go as soon as its lease ran out.
                return jobs.find(id).map(j -> j.state() == io.sluice.jobs.JobState.RUNNING && j.attempt() == attempt
                        && j.leaseExpiresAt() != null && j.leaseExpiresAt().isAfter(java.time.Instant.now()))
                        .orElse(false);
            } catch (java.sql.SQLException e) {
                return true; // keep it; decide next time
            }
        };
        // Programs and child JVMs of attempts: tied to this process, and recorded so a crash's leftovers are killed.
        ChildProcesses children = ChildProcesses.forDataDir(config.dataDir());
        if (role.runsJobs()) {
            // Likewise: half-written outputs are the workers' business, and those of attempts running in another
            // worker on the same data directory stay.
            outputs.sweepTemporary(attemptRunning);
            // What a server that died here left running (no parent-death signal without setpriv) goes before any
            // job can run again.
            children.killLeftovers();
        }

        // hooks: the application's preCreate / preFinish, signed with the webhook secret.
        UploadHooks hooks = HttpUploadHooks.of(config.hooks(), WebhookSecret.resolve(config.webhooks().secret(),
                config.dataDir()), Clock.systemUTC(), metrics, name -> pipelines.find(name).isPresent(),
                new FilenamePolicy()::sanitize);
        UploadService uploads = new UploadService(store, db, new SqlUploadRepository(db), ids, new FilenamePolicy(),
                new TypeDetector(config.limits().allowedTypes()), config.limits(),
                new UploadJobs(pipelines, jobs, storage.files(), events), hooks, Clock.systemUTC(), metrics);
        Map<String, JobHandler> handlers = new LinkedHashMap<>();
        for (Pipelines.Pipeline p : pipelines.all()) {
            handlers.put(p.name(), new PipelineHandler(p, uploads::find, storage.files(), outputs, children, disk));
        }
        // File and database work: on its own thread, so it can never delay the memory samples admission reads.
        ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-sweeper");
            t.setDaemon(true);
            return t;
        });
        Runnable outputSweep = () -> {
            try {
                // Also what a crashed attempt left while its lease still ran at this process's start.
                outputs.sweepTemporary(attemptRunning);
                outputs.sweepOrphans(id -> {
                    try {
                        return jobs.find(id).isPresent();
                    } catch (java.sql.SQLException e) {
                        return true; // keep it; decide next time
                    }
                });
            } catch (Exception e) {
                log.warn("sweeping the outputs of pruned jobs failed: {}", e.toString());
            }
        };
        // A job starts only while memory is below the watermark that admission applies to uploads. Right after a
        // prune, the pruned jobs' outputs go too (on the sweeper thread: listing a bucket may take a while).
        WorkerPool workers = new WorkerPool(jobs, handlers, config.jobs(), () -> pressure.check(0, 0) == null,
                jobSignal, () -> sweeper.execute(outputSweep));

        Router publicRouter = new Router(Request::getRemoteAddr, config.admission().retryAfter());
        Router adminRouter = new Router(Request::getRemoteAddr, config.admission().retryAfter());
        // API keys: the public router authenticates every request it routes; the admin port stays unguarded.
        ApiKeys apiKeys = new ApiKeys(db, Clock.systemUTC());
        TokenRevocations revocations = new TokenRevocations(db, Clock.systemUTC(), System::nanoTime);
        Authenticator authenticator = new Authenticator(apiKeys, new TokenVerifier(config.auth().jwt(), Clock.systemUTC()),
                revocations, config.server().host(), System::nanoTime);
        publicRouter.guard(new AccessPolicy(authenticator, new RateLimiter(System::nanoTime)));
        new KeysApi(apiKeys, authenticator).register(publicRouter);
        new TokensApi(revocations).register(publicRouter);
        authenticator.openMode(); // logs which mode is on
        ConnectionCap cap = new ConnectionCap(config.server().maxConnections(),
                config.server().maxConnectionsPerClient(), metrics);
        UploadMetrics uploadMetrics = new UploadMetrics(metrics, config.alerts().uploadFailureWindow());
        AlertService alerts = AlertService.create(config, latest::get, uploadMetrics::recent, queueStats::get, () -> {
            try {
                return store.usableSpace();
            } catch (IOException e) {
                return -1;
            }
        });
        HealthApi health = new HealthApi(config, db, store, admission, shedding, latest::get, cap::open, metrics,
                version(), queueStats, alerts::statuses, hooks::status);
        health.register(publicRouter);
        health.register(adminRouter);
        DirectUploadApi direct = new DirectUploadApi(uploads, admission, storage.redirects());
        ResumableService resumable = new ResumableService(storage.store(), db, new SqlResumableRepository(db), uploads,
                uploadLocks(db), new ResumableService.Settings(config.tus().expiry(), TusConfig.LOCK_WAIT,
                TusConfig.CHECKPOINT_BYTES), Clock.systemUTC(), metrics);
        // Presigned direct uploads: the store's own URLs when it can presign (S3), Sluice-signed ones otherwise.
        PresignService presign = new PresignService(storage.store(), db, uploads, WebhookSecret.resolve(
                config.presign().secret(), config.dataDir(), PresignConfig.SECRET_FILE, "presign.secret"),
                config.presign().expiry(), Clock.systemUTC(), id -> {
                    try {
                        return jobs.find(id).map(j -> j.state().dbValue());
                    } catch (java.sql.SQLException e) {
                        return java.util.Optional.empty();
                    }
                });
        // A worker answers health and metrics only: it takes no uploads and serves no API.
        if (role.servesApi()) {
            direct.register(uploadMetrics.metering(publicRouter, "direct",
                    (method, pattern) -> method.equals("POST") || method.equals("PUT")));
            new PresignApi(presign, admission, config.presign().eventToken())
                    .register(uploadMetrics.metering(publicRouter, "presigned", (method, pattern) -> method.equals("PUT")));
            new TusApi(resumable, admission, config.tus().basePath(), config.tus().maxMetadataSize(), direct::content)
                    .register(uploadMetrics.metering(publicRouter, "tus",
                            (method, pattern) -> method.equals("PATCH")
                                    || (method.equals("POST") && !pattern.endsWith("{id}"))));
            OpenApiApi.load().register(publicRouter);
            new io.sluice.upload.AccountApi(uploads, db, config.tus().basePath()).register(publicRouter);
            new JobsApi(jobs, pipelines, outputs).register(publicRouter);
            if (!config.relays().isEmpty()) {
                new RelayApi(config.relays(), config.dataDir()).register(publicRouter);
            }
            // The dashboard owns /dashboard/, and / too unless the application serves its own site there.
            Dashboard.load(config.tus().basePath()).register(publicRouter, config.server().staticDir() == null);
            if (config.server().staticDir() != null) {
                // A fallback, not a route: every endpoint wins over a file of the same path.
                publicRouter.fallback(new StaticSite(config.server().staticDir()));
            }
            // A silent stream must send its heartbeat before the connection's idle timeout closes it.
            Duration halfIdle = config.server().idleTimeout().dividedBy(2);
            new NotifyApi(events, streams, deliveries, jobs,
                    halfIdle.compareTo(NotifyApi.HEARTBEAT) < 0 ? halfIdle : NotifyApi.HEARTBEAT,
                    authenticator::stillValid).register(publicRouter);
        }

        HttpServer http = new HttpServer(config.server(), listeners, publicRouter, adminRouter, cap, ac.retryAfter(),
                TusApi.HEADERS);

        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-monitor");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleAtFixedRate(() -> latest.set(monitor.sample()), MEMORY_SAMPLE_MILLIS, MEMORY_SAMPLE_MILLIS,
                TimeUnit.MILLISECONDS);
        scheduler.scheduleAtFixedRate(shedding::tick, SheddingTracker.TICK_MILLIS, SheddingTracker.TICK_MILLIS,
                TimeUnit.MILLISECONDS);
        long sweepMillis = config.tus().sweepInterval().toMillis();
        if (role.servesApi()) {
            sweeper.scheduleWithFixedDelay(() -> {
                try {
                    // Before the expiry sweep, which would remove an interrupted finish's bytes.
                    resumable.recoverInterrupted();
                    resumable.sweepExpired();
                } catch (Exception e) {
                    log.warn("sweeping expired uploads failed: {}", e.toString());
                }
            }, sweepMillis, sweepMillis, TimeUnit.MILLISECONDS);
            long presignSweepMillis = config.presign().sweepInterval().toMillis();
            sweeper.scheduleWithFixedDelay(() -> {
                try {
                    presign.sweepExpired();
                } catch (Exception e) {
                    log.warn("sweeping expired presigned uploads failed: {}", e.toString());
                }
            }, presignSweepMillis, presignSweepMillis, TimeUnit.MILLISECONDS);
        }
        if (db.headroom().size() > 0) {
            // Written at the first start, and again once the disk has room after it was released; a failed attempt
            // is retried here, never in a request.
            sweeper.scheduleWithFixedDelay(() -> db.headroom().restore(config.limits().diskReserve()), 0,
                    HEADROOM_CHECK_MILLIS, TimeUnit.MILLISECONDS);
        }
        long outputSweepMillis = OUTPUT_SWEEP_INTERVAL.toMillis();
        if (role.runsJobs()) {
            sweeper.scheduleWithFixedDelay(outputSweep, outputSweepMillis, outputSweepMillis, TimeUnit.MILLISECONDS);
        }

        Application app = new Application(config, db, store, http, publicRouter, shedding, admission, scheduler,
                sweeper, resumable, workers, streams, webhooks, adminRouter, alerts, children);
        try {
            if (role.servesApi()) {
                streams.start();
                // Before the first request: a finish a crash interrupted is listed, with its job, from the start.
                resumable.recoverInterrupted();
            }
            http.start();
            // After the server is up: a job never runs in a process that could not start serving.
            if (role.runsJobs()) {
                workers.start();
            }
            webhooks.start();
            alerts.start();
        } catch (Exception e) {
            app.close();
            throw e;
        }
        log.info("Sluice {} ({}) listening on http://{}:{}{} with data in {} (heap max {} MiB, {} upload slots, "
                        + "{} buffers of {} KiB)", version(), role.label(), config.server().host(), http.port(),
                http.adminPort() > 0 ? " (admin port " + http.adminPort() + ")" : "",
                config.dataDir().toAbsolutePath(), Runtime.getRuntime().maxMemory() >> 20,
                ac.maxConcurrentUploads(), pool.capacity(), pool.bufferSize() >> 10);
        return app;
    }

    /** An object store holds an HTTP client (S3); the local store holds nothing to close. */
    private static void closeStore(BlobStore store) {
        if (store instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing the storage client failed: {}", e.toString());
            }
        }
    }

    /** The server's database: as {@link #openDatabase}, with SQLite's headroom on the data disk. */
    private static Database openServerDatabase(SluiceConfig config) throws java.sql.SQLException {
        var d = config.database();
        return d.postgres() ? openDatabase(config) : Database.openSqlite(config.dataDir(), d.headroom());
    }

    /**
     * The configured database: a shared PostgreSQL when {@code database.url} is set, else SQLite in the data dir
     * (for tools beside a server: the server's headroom is left to the server).
     */
    public static Database openDatabase(SluiceConfig config) throws java.sql.SQLException {
        var d = config.database();
        return d.postgres() ? Database.openPostgres(d.url(), d.user(), d.password(), d.poolSize())
                : Database.openSqlite(config.dataDir());
    }

    /**
     * One writer per resumable upload: across nodes (advisory locks) when they share a PostgreSQL, within this
     * process otherwise. The lock session closes with the database.
     */
    private static io.sluice.upload.UploadLocks uploadLocks(Database db) throws java.sql.SQLException {
        return db.dialect() == io.sluice.db.Dialect.POSTGRESQL ? new io.sluice.upload.PgUploadLocks(db)
                : new LocalUploadLocks();
    }

    /** A pipeline's webhook URLs: its own {@code notify} list, then {@code webhooks.urls}, without repeats. */
    private static java.util.List<String> webhookTargets(SluiceConfig config, Pipelines pipelines, String pipeline) {
        java.util.Set<String> urls = new java.util.LinkedHashSet<>();
        if (pipeline != null) {
            pipelines.find(pipeline).ifPresent(p -> urls.addAll(p.config().notifyUrls()));
        }
        urls.addAll(config.webhooks().urls());
        return java.util.List.copyOf(urls);
    }

    /**
     * The readiness checks that do not depend on load: the database answers and storage takes writes. The
     * systemd watchdog pings only while they pass (shedding under load is no reason to be restarted, and neither is
     * a full disk: storage that refuses writes because the disk is below its reserve is excused, since a restart
     * frees nothing and the server still serves reads and deletes).
     */
    public boolean checksPass() {
        if (!db.ping()) {
            return false;
        }
        if (store.probeWritable()) {
            return true;
        }
        long usable;
        try {
            usable = store.usableSpace();
        } catch (IOException e) {
            return false;
        }
        return !io.sluice.ops.DiskCheck.of(usable, config.limits().diskReserve(), db.headroom().owed()).ok();
    }

    public int port() {
        return http.port();
    }

    public int adminPort() {
        return http.adminPort();
    }

    /**
     * Every route the server registers, {@code "METHOD /pattern"}, on the public port then the admin port (the
     * same route on both is listed twice). For the OpenAPI completeness check.
     */
    public java.util.List<String> routes() {
        java.util.List<String> all = new java.util.ArrayList<>(publicRouter.routes());
        all.addAll(adminRouter.routes());
        return java.util.List.copyOf(all);
    }

    public AdmissionController admission() {
        return admission;
    }

    public BlobStore store() {
        return store;
    }

    public ResumableService resumable() {
        return resumable;
    }

    public SheddingTracker shedding() {
        return shedding;
    }

    public SluiceConfig config() {
        return config;
    }

    /**
     * Drains and stops. Safe to call more than once and from a signal handler; every call returns only once the
     * application is stopped.
     */
    @Override
    public void close() {
        if (!stopped.compareAndSet(false, true)) {
            // A second SIGTERM/SIGINT must not let the process exit (0) while the first is still draining.
            log.info("Already shutting down; waiting for the drain to finish");
            awaitClosed();
            return;
        }
        try {
            drainAndStop();
        } finally {
            closed.countDown();
        }
    }

    private void awaitClosed() {
        boolean interrupted = false;
        while (true) {
            try {
                closed.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void drainAndStop() {
        log.info("Shutting down: draining for up to {} s", config.server().shutdownGrace().toSeconds());
        // Readiness turns DRAINING and uploads waiting for a slot are answered 503 now, not after their wait.
        admission.drain();
        // Open event streams would otherwise hold the HTTP stop until its timeout: end them first.
        streams.stop();
        // Running jobs get the same grace as requests, at the same time, so shutdown takes one grace period, not
        // two; the ones still running then go back to the queue. All of it before the database closes.
        Thread jobsStopping = Thread.ofPlatform().name("sluice-jobs-stop").start(
                () -> workers.stop(config.server().shutdownGrace()));
        try {
            http.stop();
        } catch (Exception e) {
            log.warn("HTTP server did not stop cleanly: {}", e.toString());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HANDLER_CLEANUP_WAIT_MILLIS);
        while (publicRouter.inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean interrupted = false;
        while (true) {
            try {
                jobsStopping.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        // After the workers, whose handlers killed their processes: any that escaped get their parent-death signal.
        children.close();
        // After the workers: their last state changes still record events (and deliveries) until here.
        webhooks.stop(Duration.ofSeconds(5));
        scheduler.shutdownNow();
        alerts.close();
        sweeper.shutdownNow();
        try {
            // A sweep in the middle of a database write finishes it before the pool closes.
            sweeper.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        db.close();
        closeStore(store);
        log.info("Stopped");
    }
}
