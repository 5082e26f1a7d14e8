package io.sluice.app;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.admission.AdmissionController;
import io.sluice.config.SluiceConfig;
import io.sluice.config.TusConfig;
import io.sluice.db.Database;
import io.sluice.db.Dialect;
import io.sluice.http.Router;
import io.sluice.ops.metrics.UploadMetrics;
import io.sluice.tus.TusApi;
import io.sluice.upload.LocalUploadLocks;
import io.sluice.upload.PgUploadLocks;
import io.sluice.upload.ResumableService;
import io.sluice.upload.SqlResumableRepository;
import io.sluice.upload.UploadLocks;

import java.sql.SQLException;
import java.time.Clock;

/**
 * Resumable uploads (API role): {@link ResumableService}, the protocol adapters over it (tus 1.0 and the IETF
 * draft, both under {@code tus.basePath}), the recovery of finishes a crash interrupted (before the first request),
 * and the periodic sweep of expired uploads.
 */
public final class ResumableModule implements Module {

    private final ResumableService resumable;
    private final SweeperModule sweeper;
    private final TusConfig settings;

    public ResumableModule(SluiceConfig config, Database db, StorageModule storage, UploadsModule uploads,
                           AdmissionController admission, UploadMetrics uploadMetrics, Router publicRouter,
                           SweeperModule sweeper, MeterRegistry metrics) throws SQLException {
        this.sweeper = sweeper;
        this.settings = config.tus();
        resumable = new ResumableService(storage.storage().store(), db, new SqlResumableRepository(db),
                uploads.uploads(), uploadLocks(db), new ResumableService.Settings(settings.expiry(),
                TusConfig.LOCK_WAIT, TusConfig.CHECKPOINT_BYTES), Clock.systemUTC(), metrics);
        new TusApi(resumable, admission, settings.basePath(), settings.maxMetadataSize(), uploads.direct()::content)
                .register(uploadMetrics.metering(publicRouter, "tus",
                        (method, pattern) -> method.equals("PATCH")
                                || (method.equals("POST") && !pattern.endsWith("{id}"))));
    }

    /**
     * One writer per resumable upload: across nodes (advisory locks) when they share a PostgreSQL, within this
     * process otherwise. The lock session closes with the database.
     */
    private static UploadLocks uploadLocks(Database db) throws SQLException {
        return db.dialect() == Dialect.POSTGRESQL ? new PgUploadLocks(db) : new LocalUploadLocks();
    }

    public ResumableService resumable() {
        return resumable;
    }

    @Override
    public String name() {
        return "resumable";
    }

    @Override
    public void start() {
        // Before the first request: a finish a crash interrupted is listed, with its job, from the start.
        resumable.recoverInterrupted();
        sweeper.every(settings.sweepInterval(), "sweeping expired uploads", () -> {
            // Before the expiry sweep, which would remove an interrupted finish's bytes.
            resumable.recoverInterrupted();
            resumable.sweepExpired();
        });
    }
}
