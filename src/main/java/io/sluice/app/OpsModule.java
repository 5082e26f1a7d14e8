package io.sluice.app;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.ops.HealthApi;
import io.sluice.ops.alerts.AlertService;
import io.sluice.ops.metrics.UploadMetrics;
import io.sluice.storage.BlobStore;

import java.io.IOException;

/**
 * Operating the process: health, readiness and metrics on both ports (every role), the per-protocol upload metrics
 * the upload routes are metered by, and the alert rules evaluated in the background.
 */
public final class OpsModule implements Module {

    private final UploadMetrics uploadMetrics;
    private final AlertService alerts;

    public OpsModule(SluiceConfig config, String version, PrometheusMeterRegistry metrics, Database db,
                     BlobStore store, AdmissionModule admission, JobsModule jobs, HooksModule hooks,
                     HttpModule.Routing routing)
            throws IOException {
        uploadMetrics = new UploadMetrics(metrics, config.alerts().uploadFailureWindow());
        alerts = AlertService.create(config, admission::memory, uploadMetrics::recent, jobs.queueStats()::get, () -> {
            try {
                return store.usableSpace();
            } catch (IOException e) {
                return -1;
            }
        });
        HealthApi health = new HealthApi(config, db, store, admission.admission(), admission.shedding(),
                admission::memory, routing.cap()::open, metrics, version, jobs.queueStats(), alerts::statuses,
                hooks.hooks()::status);
        health.register(routing.publicRouter());
        health.register(routing.adminRouter());
    }

    public UploadMetrics uploadMetrics() {
        return uploadMetrics;
    }

    @Override
    public String name() {
        return "ops";
    }

    @Override
    public void start() {
        alerts.start();
    }

    @Override
    public void stop() {
        alerts.close();
    }
}
