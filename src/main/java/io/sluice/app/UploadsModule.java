package io.sluice.app;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.admission.AdmissionController;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.jobs.UploadJobs;
import io.sluice.notify.EventLog;
import io.sluice.ops.metrics.UploadMetrics;
import io.sluice.http.Router;
import io.sluice.upload.DirectUploadApi;
import io.sluice.upload.FilenamePolicy;
import io.sluice.upload.IdGenerator;
import io.sluice.upload.SqlUploadRepository;
import io.sluice.upload.TypeDetector;
import io.sluice.upload.UploadService;

import java.time.Clock;

/**
 * Uploads (API role): the upload records and the commit of an upload with its job and event
 * ({@link UploadService}, used by every upload protocol), and the direct upload routes (multipart, {@code PUT},
 * listing, download, delete).
 */
public final class UploadsModule implements Module {

    private final UploadService uploads;
    private final DirectUploadApi direct;

    public UploadsModule(SluiceConfig config, Database db, StorageModule storage, IdGenerator ids, JobsModule jobs,
                         EventLog events, HooksModule hooks, AdmissionController admission,
                         UploadMetrics uploadMetrics,
                         Router publicRouter, MeterRegistry metrics) {
        uploads = new UploadService(storage.store(), db, new SqlUploadRepository(db), ids, new FilenamePolicy(),
                new TypeDetector(config.limits().allowedTypes()), config.limits(),
                new UploadJobs(jobs.pipelines(), jobs.queue(), storage.storage().files(), events), hooks.hooks(), Clock.systemUTC(),
                metrics);
        direct = new DirectUploadApi(uploads, admission, storage.storage().redirects());
        direct.register(uploadMetrics.metering(publicRouter, "direct",
                (method, pattern) -> method.equals("POST") || method.equals("PUT")));
    }

    public UploadService uploads() {
        return uploads;
    }

    /** The download route, which the resumable protocols answer {@code GET} with. */
    public DirectUploadApi direct() {
        return direct;
    }

    @Override
    public String name() {
        return "uploads";
    }
}
