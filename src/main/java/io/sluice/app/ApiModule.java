package io.sluice.app;

import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.http.Router;
import io.sluice.jobs.JobsApi;
import io.sluice.notify.NotifyApi;
import io.sluice.ops.OpenApiApi;
import io.sluice.upload.AccountApi;

import java.time.Duration;

/**
 * The rest of the public API (API role), after the upload protocols' routes: the OpenAPI document, the caller's
 * limits, the jobs API, and the events (server-sent) and webhook deliveries API.
 */
public final class ApiModule implements Module {

    public ApiModule(SluiceConfig config, Database db, UploadsModule uploads, JobsModule jobs, NotifyModule notify,
                     AuthModule auth, Router publicRouter) {
        OpenApiApi.load().register(publicRouter);
        new AccountApi(uploads.uploads(), db, config.tus().basePath()).register(publicRouter);
        new JobsApi(jobs.queue(), jobs.pipelines(), jobs.outputs()).register(publicRouter);
        // A silent stream must send its heartbeat before the connection's idle timeout closes it.
        Duration halfIdle = config.server().idleTimeout().dividedBy(2);
        new NotifyApi(notify.events(), notify.streams(), notify.deliveries(), jobs.queue(),
                halfIdle.compareTo(NotifyApi.HEARTBEAT) < 0 ? halfIdle : NotifyApi.HEARTBEAT,
                auth.authenticator()::stillValid).register(publicRouter);
    }

    @Override
    public String name() {
        return "api";
    }
}
