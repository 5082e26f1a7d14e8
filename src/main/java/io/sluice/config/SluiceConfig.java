package io.sluice.config;

import java.nio.file.Path;

/**
 * The whole validated configuration. Instances only come out of {@link ConfigLoader}, which has already checked
 * every value and every cross-key rule, so consumers never re-validate.
 */
public record SluiceConfig(
        ServerConfig server,
        Path dataDir,
        LimitsConfig limits,
        TusConfig tus,
        AdmissionConfig admission,
        LoggingConfig logging) {

    public static final Path DEFAULT_DATA_DIR = Path.of("sluice-data");
}
