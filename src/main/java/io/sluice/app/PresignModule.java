package io.sluice.app;

import io.sluice.admission.AdmissionController;
import io.sluice.config.PresignConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.http.Router;
import io.sluice.jobs.JobQueue;
import io.sluice.notify.WebhookSecret;
import io.sluice.ops.metrics.UploadMetrics;
import io.sluice.storage.ComposedStore;
import io.sluice.upload.PresignApi;
import io.sluice.upload.PresignService;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Optional;

/**
 * Presigned direct uploads (API role): the store's own URLs when it can presign (S3), Sluice-signed ones otherwise;
 * the routes, and the periodic sweep of expired ones.
 */
public final class PresignModule implements Module {

    private final PresignService presign;
    private final SweeperModule sweeper;
    private final PresignConfig settings;

    public PresignModule(SluiceConfig config, Database db, ComposedStore store, UploadsModule uploads, JobQueue jobs,
                         AdmissionController admission, UploadMetrics uploadMetrics, Router publicRouter,
                         SweeperModule sweeper) throws IOException {
        this.sweeper = sweeper;
        this.settings = config.presign();
        presign = new PresignService(store, db, uploads.uploads(), WebhookSecret.resolve(
                settings.secret(), config.dataDir(), PresignConfig.SECRET_FILE, "presign.secret"),
                settings.expiry(), Clock.systemUTC(), id -> {
                    try {
                        return jobs.find(id).map(j -> j.state().dbValue());
                    } catch (SQLException e) {
                        return Optional.empty();
                    }
                });
        new PresignApi(presign, admission, settings.eventToken())
                .register(uploadMetrics.metering(publicRouter, "presigned", (method, pattern) -> method.equals("PUT")));
    }

    @Override
    public String name() {
        return "presign";
    }

    @Override
    public void start() {
        sweeper.every(settings.sweepInterval(), "sweeping expired presigned uploads", presign::sweepExpired);
    }
}
