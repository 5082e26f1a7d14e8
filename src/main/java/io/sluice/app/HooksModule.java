package io.sluice.app;

import io.sluice.config.SluiceConfig;
import io.sluice.hooks.HttpUploadHooks;
import io.sluice.hooks.UploadHooks;
import io.sluice.jobs.Pipelines;
import io.sluice.notify.WebhookSecret;
import io.sluice.upload.FilenamePolicy;
import io.micrometer.core.instrument.MeterRegistry;

import java.io.IOException;
import java.time.Clock;

/**
 * The application's upload hooks (preCreate, preFinish), signed with the webhook secret. Built for every role so that
 * a worker's detailed health shows the same {@code hooks} block as an API node's; only the upload paths call them.
 */
public record HooksModule(UploadHooks hooks) implements Module {

    public static HooksModule create(SluiceConfig config, Pipelines pipelines, MeterRegistry metrics)
            throws IOException {
        return new HooksModule(HttpUploadHooks.of(config.hooks(), WebhookSecret.resolve(config.webhooks().secret(),
                config.dataDir()), Clock.systemUTC(), metrics, name -> pipelines.find(name).isPresent(),
                new FilenamePolicy()::sanitize));
    }

    @Override
    public String name() {
        return "hooks";
    }

    /** Its HTTP client, after the requests that could call a hook have ended (modules stop in reverse). */
    @Override
    public void stop() {
        if (hooks instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // nothing left to call it
            }
        }
    }
}
