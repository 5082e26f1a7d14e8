package io.sluice.config;

import io.sluice.jobs.JobsConfig;

import java.nio.file.Path;
import java.util.List;

/**
 * The whole validated configuration. Instances only come out of {@link ConfigLoader}, which has already checked
 * every value and every cross-key rule, so consumers never re-validate.
 *
 * @param pipelines the {@code pipelines:} section of the YAML file, in file order (the order decides which default
 *                  pipeline an upload gets when several accept its type)
 * @param relays    the {@code relay:} section of the YAML file, in file order
 * @param webhooks  webhook URLs, secret and retries
 * @param alerts    alert rules' thresholds and the alert webhook
 * @param presign   presigned direct uploads: URL expiry, signing secret, storage event token
 * @param storage   where upload bytes live (local disk or S3)
 * @param database  SQLite (default) or a shared PostgreSQL
 * @param hooks     the application's upload hooks (preCreate, preFinish)
 * @param auth      application-signed upload tokens ({@code auth.jwt.*})
 */
public record SluiceConfig(
        ServerConfig server,
        Path dataDir,
        LimitsConfig limits,
        TusConfig tus,
        AdmissionConfig admission,
        LoggingConfig logging,
        JobsConfig jobs,
        List<PipelineConfig> pipelines,
        List<RelayConfig> relays,
        WebhooksConfig webhooks,
        AlertsConfig alerts,
        PresignConfig presign,
        StorageConfig storage,
        DatabaseConfig database,
        HooksConfig hooks,
        AuthConfig auth) {

    public SluiceConfig {
        pipelines = List.copyOf(pipelines);
        relays = List.copyOf(relays);
    }

    public static final Path DEFAULT_DATA_DIR = Path.of("sluice-data");
}
