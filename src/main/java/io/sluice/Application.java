package io.sluice;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.SheddingTracker;
import io.sluice.app.AdmissionModule;
import io.sluice.app.ApiModule;
import io.sluice.app.AuthModule;
import io.sluice.app.HooksModule;
import io.sluice.app.DatabaseModule;
import io.sluice.app.HttpModule;
import io.sluice.app.JobsModule;
import io.sluice.app.MetricsModule;
import io.sluice.app.Modules;
import io.sluice.app.NotifyModule;
import io.sluice.app.OpsModule;
import io.sluice.app.PresignModule;
import io.sluice.app.RelayModule;
import io.sluice.app.ResumableModule;
import io.sluice.app.SiteModule;
import io.sluice.app.StorageModule;
import io.sluice.app.SweeperModule;
import io.sluice.app.UploadsModule;
import io.sluice.app.WorkersModule;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.http.Listeners;
import io.sluice.http.Router;
import io.sluice.jobs.Pipelines;
import io.sluice.ops.DiskCheck;
import io.sluice.storage.BlobStore;
import io.sluice.upload.IdGenerator;
import io.sluice.upload.ResumableService;
import io.sluice.util.Uninterruptibles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The composition root: creates the modules a {@link Role} runs (package {@code io.sluice.app}, one per subsystem)
 * in dependency order and starts them in that order; a shutdown drains them all (admission refuses new work, the
 * grace periods of requests and jobs begin together), then stops them in reverse (the database closes last). See
 * {@link Modules} for the lifecycle. Commands and tests both start Sluice through here.
 */
public final class Application implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Application.class);

    private final SluiceConfig config;
    private final Modules modules;
    private final Database db;
    private final BlobStore store;
    private final AdmissionModule admission;
    private final ResumableModule resumable;
    private final HttpModule.Routing routing;
    private final HttpModule http;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    private Application(SluiceConfig config, Modules modules, Database db, BlobStore store, AdmissionModule admission,
                        ResumableModule resumable, HttpModule.Routing routing, HttpModule http) {
        this.config = config;
        this.modules = modules;
        this.db = db;
        this.store = store;
        this.admission = admission;
        this.resumable = resumable;
        this.routing = routing;
        this.http = http;
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
        Modules modules = new Modules();
        Application app;
        try {
            app = create(config, role, listeners, modules);
        } catch (Exception | Error e) {
            modules.shutdown();
            throw e;
        }
        try {
            modules.start();
        } catch (Exception | Error e) {
            app.close();
            throw e;
        }
        log.info("Sluice {} ({}) listening on http://{}:{}{} with data in {} (heap max {} MiB, {} upload slots, "
                        + "{} buffers of {} KiB)", version(), role.label(), config.server().host(), app.port(),
                app.adminPort() > 0 ? " (admin port " + app.adminPort() + ")" : "",
                config.dataDir().toAbsolutePath(), Runtime.getRuntime().maxMemory() >> 20,
                config.admission().maxConcurrentUploads(), app.admission.pool().capacity(),
                app.admission.pool().bufferSize() >> 10);
        return app;
    }

    /**
     * Creates the modules of {@code role} into {@code modules}, each from those before it: the order they start in,
     * register their routes in (the router takes the first match), and stop in reverse. A new subsystem is one more
     * module here, after the modules it uses.
     */
    private static Application create(SluiceConfig config, Role role, Listeners listeners, Modules modules)
            throws Exception {
        PrometheusMeterRegistry metrics = modules.add(MetricsModule.create()).registry();
        Database db = modules.add(DatabaseModule.create(config)).db();
        StorageModule storage = modules.add(StorageModule.create(config, db, role.servesApi()));
        SweeperModule sweeper = modules.add(new SweeperModule(db, config.limits().diskReserve()));
        AdmissionModule admission = modules.add(new AdmissionModule(config.admission(), storage.disk(), metrics));

        // The queue exists before the upload paths, which enqueue into it; events before both, which record them.
        Pipelines pipelines = JobsModule.pipelines(config);
        IdGenerator ids = new IdGenerator(Clock.systemUTC());
        NotifyModule notify = modules.add(new NotifyModule(config, db, pipelines, metrics, role.servesApi()));
        JobsModule jobs = modules.add(new JobsModule(config, db, storage.storage().store(), notify.events(), pipelines, ids,
                metrics, role.runsJobs()));

        HttpModule.Routing routing = HttpModule.Routing.create(config, metrics);
        Router api = routing.publicRouter();
        AuthModule auth = modules.add(AuthModule.create(config, db, api));
        HooksModule hooks = modules.add(HooksModule.create(config, pipelines, metrics));
        OpsModule ops = modules.add(new OpsModule(config, version(), metrics, db, storage.store(), admission, jobs,
                hooks, routing));
        ResumableModule resumable = null;
        // A worker answers health and metrics only: it takes no uploads and serves no API.
        if (role.servesApi()) {
            AdmissionController gate = admission.admission();
            UploadsModule uploads = modules.add(new UploadsModule(config, db, storage, ids, jobs, notify.events(),
                    hooks, gate, ops.uploadMetrics(), api, metrics));
            modules.add(new PresignModule(config, db, storage.storage().store(), uploads, jobs.queue(), gate,
                    ops.uploadMetrics(), api, sweeper));
            resumable = modules.add(new ResumableModule(config, db, storage, uploads, gate, ops.uploadMetrics(), api,
                    sweeper, metrics));
            modules.add(new ApiModule(config, db, uploads, jobs, notify, auth, api));
            if (!config.relays().isEmpty()) {
                modules.add(new RelayModule(config, api));
            }
            modules.add(new SiteModule(config, api));
        }
        HttpModule http = modules.add(new HttpModule(config, listeners, routing));
        if (role.runsJobs()) {
            modules.add(new WorkersModule(config, jobs, storage, db, admission, sweeper));
        }
        return new Application(config, modules, db, storage.store(), admission, resumable, routing, http);
    }

    /**
     * The configured database: a shared PostgreSQL when {@code database.url} is set, else SQLite in the data dir
     * (for tools beside a server: the server's headroom is left to the server).
     */
    public static Database openDatabase(SluiceConfig config) throws SQLException {
        return DatabaseModule.open(config);
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
        return !DiskCheck.of(usable, config.limits().diskReserve(), db.headroom().owed()).ok();
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
    public List<String> routes() {
        return routing.routes();
    }

    /** The modules in start order, by name. */
    public List<String> modules() {
        return modules.names();
    }

    public AdmissionController admission() {
        return admission.admission();
    }

    public BlobStore store() {
        return store;
    }

    /** The resumable uploads of a process that serves the API. */
    public ResumableService resumable() {
        if (resumable == null) {
            throw new IllegalStateException("this process serves no upload API");
        }
        return resumable.resumable();
    }

    public SheddingTracker shedding() {
        return admission.shedding();
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
            log.info("Shutting down: draining for up to {} s", config.server().shutdownGrace().toSeconds());
            modules.shutdown();
            log.info("Stopped");
        } finally {
            closed.countDown();
        }
    }

    private void awaitClosed() {
        Uninterruptibles.await(closed);
    }
}
