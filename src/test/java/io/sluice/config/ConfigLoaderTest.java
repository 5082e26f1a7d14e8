package io.sluice.config;

import io.sluice.jobs.JobsConfig;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, text);
        return file;
    }

    private static SluiceConfig overrides(Map<String, String> overrides) throws ConfigException {
        return ConfigLoader.load(null, Map.of(), overrides);
    }

    private static ConfigException rejectionOf(Map<String, String> overrides) {
        try {
            overrides(overrides);
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("accepted " + overrides);
    }

    private ConfigException rejectionOfYaml(String text) throws IOException {
        Path file = yaml(text);
        try {
            ConfigLoader.load(file, Map.of(), Map.of());
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("accepted " + text);
    }

    @Nested
    class Defaults {
        @Test
        void nothingGivenYieldsTheRecordConstants() throws ConfigException {
            SluiceConfig c = ConfigLoader.load(null, Map.of(), Map.of());

            ServerConfig s = c.server();
            assertThat(s.host()).isEqualTo(ServerConfig.DEFAULT_HOST);
            assertThat(s.port()).isEqualTo(ServerConfig.DEFAULT_PORT);
            assertThat(s.adminPort()).isEqualTo(ServerConfig.DEFAULT_ADMIN_PORT);
            assertThat(s.maxConnections()).isEqualTo(ServerConfig.DEFAULT_MAX_CONNECTIONS);
            assertThat(s.idleTimeout()).isEqualTo(ServerConfig.DEFAULT_IDLE_TIMEOUT);
            assertThat(s.minRequestDataRate()).isEqualTo(ServerConfig.DEFAULT_MIN_REQUEST_DATA_RATE);
            assertThat(s.shutdownGrace()).isEqualTo(ServerConfig.DEFAULT_SHUTDOWN_GRACE);
            assertThat(s.corsOrigins()).isEmpty();
            assertThat(s.trustedHosts()).isEmpty();
            assertThat(s.maxRequestHeaderSize()).isEqualTo(ServerConfig.DEFAULT_MAX_REQUEST_HEADER_SIZE);

            assertThat(c.dataDir()).isEqualTo(SluiceConfig.DEFAULT_DATA_DIR);

            LimitsConfig l = c.limits();
            assertThat(l.maxFileSize()).isEqualTo(LimitsConfig.DEFAULT_MAX_FILE_SIZE);
            assertThat(l.maxFilesPerRequest()).isEqualTo(LimitsConfig.DEFAULT_MAX_FILES_PER_REQUEST);
            assertThat(l.maxRequestSize()).isEqualTo(LimitsConfig.DEFAULT_MAX_REQUEST_SIZE);
            assertThat(l.allowedTypes()).isEmpty();
            assertThat(l.diskReserve()).isEqualTo(LimitsConfig.DEFAULT_DISK_RESERVE);

            AdmissionConfig a = c.admission();
            assertThat(a.memoryHighWatermark()).isEqualTo(AdmissionConfig.DEFAULT_MEMORY_HIGH_WATERMARK);
            assertThat(a.memoryBudget()).isEqualTo(AdmissionConfig.DEFAULT_MEMORY_BUDGET);
            assertThat(a.maxConcurrentUploads()).isEqualTo(AdmissionConfig.DEFAULT_MAX_CONCURRENT_UPLOADS);
            assertThat(a.maxUploadsPerClient()).isEqualTo(AdmissionConfig.DEFAULT_MAX_UPLOADS_PER_CLIENT);
            assertThat(a.queueTimeout()).isEqualTo(AdmissionConfig.DEFAULT_QUEUE_TIMEOUT);
            assertThat(a.maxQueued()).isEqualTo(AdmissionConfig.DEFAULT_MAX_QUEUED);
            assertThat(a.bufferSize()).isEqualTo(AdmissionConfig.DEFAULT_BUFFER_SIZE);
            assertThat(a.retryAfter()).isEqualTo(AdmissionConfig.DEFAULT_RETRY_AFTER);

            LoggingConfig g = c.logging();
            assertThat(g.level()).isEqualTo(LoggingConfig.DEFAULT_LEVEL);
            assertThat(g.json()).isEqualTo(LoggingConfig.DEFAULT_JSON);
            assertThat(g.maxFileSize()).isEqualTo(LoggingConfig.DEFAULT_MAX_FILE_SIZE);
            assertThat(g.totalSizeCap()).isEqualTo(LoggingConfig.DEFAULT_TOTAL_SIZE_CAP);

            assertThat(c.jobs()).isEqualTo(JobsConfig.defaults());
            assertThat(c.pipelines()).isEmpty();
        }

        @Test
        void nullEnvAndOverridesMeanNone() throws ConfigException {
            assertThat(ConfigLoader.load(null, null, null)).isEqualTo(ConfigLoader.load(null, Map.of(), Map.of()));
        }

        @Test
        void emptyFileConfiguresNothing() throws Exception {
            assertThat(ConfigLoader.load(yaml(""), Map.of(), Map.of()))
                    .isEqualTo(ConfigLoader.load(null, Map.of(), Map.of()));
            assertThat(ConfigLoader.load(yaml("# only a comment\n"), Map.of(), Map.of()))
                    .isEqualTo(ConfigLoader.load(null, Map.of(), Map.of()));
        }
    }

    @Nested
    class Precedence {
        private static final String FILE = """
                server:
                  port: 9001
                  host: 0.0.0.0
                limits:
                  maxFileSize: 1MiB
                """;

        @Test
        void yamlOverridesDefaults() throws Exception {
            SluiceConfig c = ConfigLoader.load(yaml(FILE), Map.of(), Map.of());
            assertThat(c.server().port()).isEqualTo(9001);
            assertThat(c.server().host()).isEqualTo("0.0.0.0");
            assertThat(c.limits().maxFileSize()).isEqualTo(1L << 20);
            assertThat(c.server().maxConnections()).isEqualTo(ServerConfig.DEFAULT_MAX_CONNECTIONS);
        }

        @Test
        void environmentOverridesYaml() throws Exception {
            SluiceConfig c = ConfigLoader.load(yaml(FILE),
                    Map.of("SLUICE_SERVER_PORT", "9002", "SLUICE_LIMITS_MAX_FILE_SIZE", "2MiB"), Map.of());
            assertThat(c.server().port()).isEqualTo(9002);
            assertThat(c.limits().maxFileSize()).isEqualTo(2L << 20);
            assertThat(c.server().host()).isEqualTo("0.0.0.0");
        }

        @Test
        void overridesBeatEnvironmentAndYaml() throws Exception {
            SluiceConfig c = ConfigLoader.load(yaml(FILE),
                    Map.of("SLUICE_SERVER_PORT", "9002", "SLUICE_SERVER_HOST", "10.0.0.1"),
                    Map.of("server.port", "9003"));
            assertThat(c.server().port()).isEqualTo(9003);
            assertThat(c.server().host()).isEqualTo("10.0.0.1");
            assertThat(c.limits().maxFileSize()).isEqualTo(1L << 20);
        }

        @Test
        void environmentAloneWorksForEveryKindOfKey() throws ConfigException {
            SluiceConfig c = ConfigLoader.load(null, Map.of(
                    "SLUICE_DATA_DIR", "/var/lib/sluice",
                    "SLUICE_ADMISSION_MEMORY_HIGH_WATERMARK", "70%",
                    "SLUICE_LOGGING_JSON", "yes",
                    "SLUICE_SERVER_CORS_ORIGINS", "https://a.example, http://b.example:8080",
                    "SLUICE_ADMISSION_RETRY_AFTER", "1m30s"), Map.of());
            assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/sluice"));
            assertThat(c.admission().memoryHighWatermark()).isEqualTo(0.70);
            assertThat(c.logging().json()).isTrue();
            assertThat(c.server().corsOrigins()).containsExactly("https://a.example", "http://b.example:8080");
            assertThat(c.admission().retryAfter()).isEqualTo(Duration.ofSeconds(90));
        }

        @Test
        void unknownSluiceVariablesAndOtherVariablesAreIgnored() throws ConfigException {
            Map<String, String> env = Map.of(
                    "SLUICE_JAVA_OPTS", "-Xmx1g",
                    "SLUICE_HOME", "/opt/sluice",
                    "SLUICE_SERVER_PROT", "1",
                    "PATH", "/usr/bin",
                    "server.port", "1");
            assertThat(ConfigLoader.load(null, env, Map.of())).isEqualTo(ConfigLoader.load(null, Map.of(), Map.of()));
        }

        @Test
        void badEnvironmentValueIsReportedUnderItsKey() {
            assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("SLUICE_SERVER_PORT", "http"), Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("server.port: 'http' is not a whole number");
        }
    }

    @Nested
    class Values {
        @Test
        void numbersMayBeYamlNumbersOrStrings() throws Exception {
            SluiceConfig numbers = ConfigLoader.load(yaml("""
                    server: {port: 9000, maxConnections: 10}
                    limits: {maxFileSize: 1048576, maxRequestSize: 2097152}
                    admission: {memoryHighWatermark: 0.5}
                    logging: {json: true}
                    """), Map.of(), Map.of());
            SluiceConfig strings = ConfigLoader.load(yaml("""
                    server: {port: "9000", maxConnections: "10"}
                    limits: {maxFileSize: "1048576", maxRequestSize: 2MiB}
                    admission: {memoryHighWatermark: "50%"}
                    logging: {json: "true"}
                    """), Map.of(), Map.of());
            assertThat(numbers).isEqualTo(strings);
            assertThat(numbers.server().port()).isEqualTo(9000);
            assertThat(numbers.limits().maxFileSize()).isEqualTo(1048576);
            assertThat(numbers.admission().memoryHighWatermark()).isEqualTo(0.5);
            assertThat(numbers.logging().json()).isTrue();
        }

        @Test
        void dottedKeysWorkInYamlToo() throws Exception {
            SluiceConfig c = ConfigLoader.load(yaml("server.port: 9000\nlimits:\n  maxFilesPerRequest: 7\n"),
                    Map.of(), Map.of());
            assertThat(c.server().port()).isEqualTo(9000);
            assertThat(c.limits().maxFilesPerRequest()).isEqualTo(7);
        }

        @Test
        void everyKeyAcceptsAGoodValue() throws ConfigException {
            SluiceConfig c = overrides(Map.ofEntries(
                    Map.entry("server.host", " ::1 "),
                    Map.entry("server.port", "0"),
                    Map.entry("server.adminPort", "9090"),
                    Map.entry("server.maxConnections", "1"),
                    Map.entry("server.idleTimeout", "1s"),
                    Map.entry("server.minRequestDataRate", "1KiB/s"),
                    Map.entry("server.shutdownGrace", "0"),
                    Map.entry("server.corsOrigins", "*"),
                    Map.entry("server.trustedHosts", "Example.COM:8443,*.example.org,127.0.0.1,[::1]:8080"),
                    Map.entry("server.maxRequestHeaderSize", "1MiB"),
                    Map.entry("dataDir", "data"),
                    Map.entry("limits.maxFileSize", "1.5GiB"),
                    Map.entry("limits.maxFilesPerRequest", "1000"),
                    Map.entry("limits.maxRequestSize", "2GiB"),
                    Map.entry("limits.allowedTypes", "Image/PNG, image/*, application/vnd.ms-excel"),
                    Map.entry("limits.diskReserve", "0"),
                    Map.entry("admission.memoryHighWatermark", "100%"),
                    Map.entry("admission.memoryBudget", "1GiB"),
                    Map.entry("admission.maxConcurrentUploads", "8"),
                    Map.entry("admission.maxUploadsPerClient", "8"),
                    Map.entry("admission.bufferSize", "16MiB"),
                    Map.entry("admission.retryAfter", "1h"),
                    Map.entry("admission.queueTimeout", "1m"),
                    Map.entry("admission.maxQueued", "0"),
                    Map.entry("logging.level", "debug"),
                    Map.entry("logging.json", "0"),
                    Map.entry("logging.maxFileSize", "1MiB"),
                    Map.entry("logging.totalSizeCap", "1MiB")));

            assertThat(c.server()).isEqualTo(new ServerConfig("::1", 0, 9090, 1, Duration.ofSeconds(1), 1024,
                    Duration.ZERO, List.of("*"), List.of("example.com:8443", "*.example.org", "127.0.0.1", "[::1]:8080"),
                    1 << 20, null, ServerConfig.DEFAULT_HEADER_TIMEOUT, ServerConfig.DEFAULT_MAX_CONNECTIONS_PER_CLIENT));
            assertThat(c.dataDir()).isEqualTo(Path.of("data"));
            assertThat(c.limits()).isEqualTo(new LimitsConfig(1610612736L, 1000, 2L << 30,
                    List.of("image/png", "image/*", "application/vnd.ms-excel"), 0));
            assertThat(c.admission()).isEqualTo(new AdmissionConfig(1.0, 1L << 30, 8, 8, 16 << 20,
                    Duration.ofHours(1), Duration.ofMinutes(1), 0));
            assertThat(c.logging()).isEqualTo(new LoggingConfig("DEBUG", false, 1 << 20, 1 << 20));
        }

        @ParameterizedTest(name = "{0}: {1}")
        @CsvSource(delimiter = '|', textBlock = """
                server.host                   | '   '         | server.host: '' must not be blank
                server.port                   | 70000         | server.port: '70000' must be between 0 and 65535
                server.port                   | eighty        | server.port: 'eighty' is not a whole number
                server.port                   | 80.5          | server.port: '80.5' is not a whole number
                server.port                   | 99999999999   | server.port: '99999999999' must be between 0 and 65535
                server.adminPort              | -1            | server.adminPort: '-1' must be between 0 and 65535
                server.maxConnections         | 0             | server.maxConnections: '0' must be at least 1
                server.idleTimeout            | 500ms         | server.idleTimeout: '500ms' must be at least 1s
                server.idleTimeout            | soon          | server.idleTimeout: 'soon' is not a duration (examples: 500ms, 30s, 5m, 1m30s)
                server.minRequestDataRate     | -1KiB         | server.minRequestDataRate: '-1KiB' must not be negative
                server.minRequestDataRate     | fast          | server.minRequestDataRate: 'fast' is not a size (examples: 10MB, 512KiB, 5GiB)
                server.shutdownGrace          | -5s           | server.shutdownGrace: '-5s' must not be negative
                server.corsOrigins            | https://a.example,ftp://b.example | server.corsOrigins: 'ftp://b.example' is not an origin (expected * or http(s)://host[:port], no path)
                server.corsOrigins            | https://a.example/ | server.corsOrigins: 'https://a.example/' is not an origin (expected * or http(s)://host[:port], no path)
                server.corsOrigins            | https://a.example:0 | server.corsOrigins: 'https://a.example:0' is not an origin (expected * or http(s)://host[:port], no path)
                server.trustedHosts           | https://a.example | server.trustedHosts: 'https://a.example' is not a host name (expected host[:port] or *.example.com, no scheme or path)
                server.trustedHosts           | a.example/x   | server.trustedHosts: 'a.example/x' is not a host name (expected host[:port] or *.example.com, no scheme or path)
                server.trustedHosts           | *             | server.trustedHosts: '*' is not a host name (expected host[:port] or *.example.com, no scheme or path)
                server.maxRequestHeaderSize   | 512           | server.maxRequestHeaderSize: '512' must be between 1KiB and 1MiB
                server.maxRequestHeaderSize   | 2MiB          | server.maxRequestHeaderSize: '2MiB' must be between 1KiB and 1MiB
                dataDir                       | ''            | dataDir: '' must not be blank
                limits.maxFileSize            | 10XB          | limits.maxFileSize: '10XB' is not a size (examples: 10MB, 512KiB, 5GiB)
                limits.maxFileSize            | 0             | limits.maxFileSize: '0' must be at least 1B
                limits.maxFileSize            | 9999999999TB  | limits.maxFileSize: '9999999999TB' is too large (at most 9223372036854775807 bytes)
                limits.maxFilesPerRequest     | 1001          | limits.maxFilesPerRequest: '1001' must be between 1 and 1000
                limits.maxRequestSize         | 0             | limits.maxRequestSize: '0' must be at least 1B
                limits.allowedTypes           | image/png,pdf | limits.allowedTypes: 'pdf' is not a MIME type (expected type/subtype, type/* or type/subtype+subtypes, e.g. image/png, image/*, text/plain+subtypes)
                limits.allowedTypes           | */*           | limits.allowedTypes: '*/*' is not a MIME type (expected type/subtype, type/* or type/subtype+subtypes, e.g. image/png, image/*, text/plain+subtypes)
                limits.diskReserve            | -1GiB         | limits.diskReserve: '-1GiB' must not be negative
                admission.memoryHighWatermark | 85            | admission.memoryHighWatermark: '85' must be a fraction above 0 and at most 1, or a percentage (examples: 0.85, 85%)
                admission.memoryHighWatermark | 0             | admission.memoryHighWatermark: '0' must be a fraction above 0 and at most 1, or a percentage (examples: 0.85, 85%)
                admission.memoryHighWatermark | 101%          | admission.memoryHighWatermark: '101%' must be a fraction above 0 and at most 1, or a percentage (examples: 0.85, 85%)
                admission.memoryHighWatermark | NaN           | admission.memoryHighWatermark: 'NaN' must be a fraction above 0 and at most 1, or a percentage (examples: 0.85, 85%)
                admission.memoryBudget        | lots          | admission.memoryBudget: 'lots' is not a size (examples: 10MB, 512KiB, 5GiB)
                admission.maxConcurrentUploads | 0            | admission.maxConcurrentUploads: '0' must be at least 1
                admission.maxUploadsPerClient | -3            | admission.maxUploadsPerClient: '-3' must be at least 1
                admission.bufferSize          | 1KiB          | admission.bufferSize: '1KiB' must be between 16KiB and 16MiB
                admission.bufferSize          | 1GiB          | admission.bufferSize: '1GiB' must be between 16KiB and 16MiB
                admission.retryAfter          | 2h            | admission.retryAfter: '2h' must be between 1s and 1h
                admission.retryAfter          | 0s            | admission.retryAfter: '0s' must be between 1s and 1h
                admission.queueTimeout        | 2m            | admission.queueTimeout: '2m' must be between 0s and 1m
                admission.maxQueued           | -1            | admission.maxQueued: '-1' must be between 0 and 1000000
                logging.level                 | verbose       | logging.level: 'verbose' is not a log level (one of TRACE, DEBUG, INFO, WARN, ERROR)
                logging.json                  | maybe         | logging.json: 'maybe' is not a boolean (true/false, yes/no, 1/0)
                logging.maxFileSize           | 512KiB        | logging.maxFileSize: '512KiB' must be at least 1MiB
                logging.totalSizeCap          | many          | logging.totalSizeCap: 'many' is not a size (examples: 10MB, 512KiB, 5GiB)
                jobs.workers                  | 0             | jobs.workers: '0' must be between 1 and 1000
                jobs.leaseDuration            | 500ms         | jobs.leaseDuration: '500ms' must be between 1s and 1h
                jobs.pollInterval             | 5ms           | jobs.pollInterval: '5ms' must be between 10ms and 1h
                jobs.retention                | 30s           | jobs.retention: '30s' must be at least 1m
                jobs.backoffBase              | 10ms          | jobs.backoffBase: '10ms' must be at least 100ms
                jobs.backoffCap               | later         | jobs.backoffCap: 'later' is not a duration (examples: 500ms, 30s, 5m, 1m30s)
                jobs.maxAttempts              | 101           | jobs.maxAttempts: '101' must be between 1 and 100
                jobs.timeout                  | 0s            | jobs.timeout: '0s' must be at least 1s
                """)
        void badValueIsOneLineNamingKeyValueAndRule(String key, String value, String message) {
            ConfigException e = rejectionOf(Map.of(key, value));
            assertThat(e.key()).isEqualTo(key);
            assertThat(e.getMessage()).isEqualTo(message).doesNotContain("\n");
        }

        @Test
        void invalidPathIsRejected() {
            ConfigException e = rejectionOf(Map.of("dataDir", "a\0b"));
            assertThat(e.key()).isEqualTo("dataDir");
            assertThat(e.getMessage()).startsWith("dataDir: 'a").contains("is not a valid path");
        }

        @Test
        void multiLineValuesStayOnOneLine() throws IOException {
            ConfigException e = rejectionOfYaml("server:\n  host: |\n    a\n    b\n  port: |\n    80\n    81\n");
            assertThat(e.getMessage()).isEqualTo("server.port: '80\\n81' is not a whole number");
        }

        @Test
        void aListForAScalarKeyIsRejected() throws IOException {
            ConfigException e = rejectionOfYaml("server:\n  port: [1, 2]\n");
            assertThat(e.getMessage()).isEqualTo("server.port: '[1, 2]' must be a single value, not a list");
        }

        @Test
        void aMappingForAValueIsRejected() throws IOException {
            ConfigException e = rejectionOfYaml("server:\n  port:\n    value: 1\n");
            assertThat(e.key()).isEqualTo("server.port");
            assertThat(e.getMessage()).contains("expected a value but got a mapping").contains("sluice.yaml");
        }

        @Test
        void aValueForASectionIsRejected() throws IOException {
            ConfigException e = rejectionOfYaml("server: 8080\n");
            assertThat(e.key()).isEqualTo("server");
            assertThat(e.getMessage()).contains("is a section").contains("'8080'").contains("server.host");
        }

        @Test
        void aKeyGivenTwiceInOneFileIsRejected() throws IOException {
            ConfigException e = rejectionOfYaml("server.port: 1\nserver:\n  port: 2\n");
            assertThat(e.key()).isEqualTo("server.port");
            assertThat(e.getMessage()).contains("set twice");
        }
    }

    @Nested
    class Lists {
        @Test
        void yamlSequences() throws Exception {
            SluiceConfig c = ConfigLoader.load(yaml("""
                    server:
                      corsOrigins: [https://app.example.com, "http://localhost:3000"]
                      trustedHosts:
                        - upload.example.com
                        - "*.example.com"
                    limits:
                      allowedTypes:
                        - image/png
                        - Image/*
                        - image/png
                    """), Map.of(), Map.of());
            assertThat(c.server().corsOrigins()).containsExactly("https://app.example.com", "http://localhost:3000");
            assertThat(c.server().trustedHosts()).containsExactly("upload.example.com", "*.example.com");
            assertThat(c.limits().allowedTypes()).containsExactly("image/png", "image/*");
        }

        @Test
        void commaSeparatedStringsFromYamlEnvAndOverrides() throws Exception {
            SluiceConfig fromYaml = ConfigLoader.load(yaml("limits:\n  allowedTypes: image/png, text/plain\n"),
                    Map.of(), Map.of());
            SluiceConfig fromEnv = ConfigLoader.load(null,
                    Map.of("SLUICE_LIMITS_ALLOWED_TYPES", "image/png,text/plain"), Map.of());
            SluiceConfig fromFlag = overrides(Map.of("limits.allowedTypes", " image/png ,, text/plain, "));
            assertThat(fromYaml.limits().allowedTypes()).containsExactly("image/png", "text/plain");
            assertThat(fromEnv).isEqualTo(fromYaml);
            assertThat(fromFlag).isEqualTo(fromYaml);
        }

        @Test
        void emptyValueClearsAList() throws Exception {
            Path file = yaml("server:\n  corsOrigins: ['*']\n");
            assertThat(ConfigLoader.load(file, Map.of(), Map.of()).server().corsOrigins()).containsExactly("*");
            assertThat(ConfigLoader.load(file, Map.of("SLUICE_SERVER_CORS_ORIGINS", ""), Map.of())
                    .server().corsOrigins()).isEmpty();
            assertThat(ConfigLoader.load(yaml("server:\n  corsOrigins:\n"), Map.of(), Map.of())
                    .server().corsOrigins()).isEmpty();
            assertThat(ConfigLoader.load(yaml("server:\n  corsOrigins: []\n"), Map.of(), Map.of())
                    .server().corsOrigins()).isEmpty();
        }

        @Test
        void badElementInYamlSequenceIsNamed() throws IOException {
            ConfigException e = rejectionOfYaml("server:\n  corsOrigins: [https://ok.example, 'https://x.example/path']\n");
            assertThat(e.getMessage()).startsWith("server.corsOrigins: 'https://x.example/path' is not an origin");
        }

        @Test
        void nestedStructuresInsideAListAreRejected() throws IOException {
            ConfigException e = rejectionOfYaml("limits:\n  allowedTypes:\n    - {type: image/png}\n");
            assertThat(e.key()).isEqualTo("limits.allowedTypes");
            assertThat(e.getMessage()).contains("list items must be plain values");
        }

        @Test
        void resultingListsAreImmutable() throws ConfigException {
            SluiceConfig c = overrides(Map.of("server.corsOrigins", "*"));
            assertThatThrownBy(() -> c.server().corsOrigins().add("x")).isInstanceOf(UnsupportedOperationException.class);
        }
    }

    @Nested
    class UnknownKeys {
        @Test
        void typoInYamlSuggestsTheKnownKey() throws IOException {
            ConfigException e = rejectionOfYaml("limits:\n  maxFileSiz: 10MB\n");
            assertThat(e.key()).isEqualTo("limits.maxFileSiz");
            assertThat(e.getMessage())
                    .startsWith("limits.maxFileSiz: unknown key (" + dir.resolve("sluice.yaml") + ")")
                    .endsWith("did you mean limits.maxFileSize?");
        }

        @Test
        void typoInOverrideSuggestsTheKnownKey() {
            ConfigException e = rejectionOf(Map.of("server.prot", "9000"));
            assertThat(e.key()).isEqualTo("server.prot");
            assertThat(e.getMessage())
                    .isEqualTo("server.prot: unknown key (command-line override); did you mean server.port?");
        }

        @Test
        void snakeCaseAndWrongCaseAreRecognised() {
            assertThat(rejectionOf(Map.of("limits.max_file_size", "1")).getMessage())
                    .endsWith("did you mean limits.maxFileSize?");
            assertThat(rejectionOf(Map.of("Server.AdminPort", "1")).getMessage())
                    .endsWith("did you mean server.adminPort?");
        }

        @Test
        void keyInTheWrongSectionSuggestsWhereItLives() throws IOException {
            assertThat(rejectionOfYaml("server:\n  maxConcurrentUploads: 3\n").getMessage())
                    .endsWith("did you mean admission.maxConcurrentUploads?");
            assertThat(rejectionOfYaml("maxFileSize: 3MB\n").getMessage())
                    .endsWith("did you mean limits.maxFileSize or logging.maxFileSize?");
        }

        @Test
        void farFromAnythingListsTheSection() throws IOException {
            assertThat(rejectionOfYaml("limits:\n  colour: blue\n").getMessage()).isEqualTo(
                    "limits.colour: unknown key (" + dir.resolve("sluice.yaml") + "); known keys in limits: "
                            + "limits.maxFileSize, limits.maxFilesPerRequest, limits.maxRequestSize, "
                            + "limits.allowedTypes, limits.diskReserve");
            assertThat(rejectionOfYaml("cache:\n  bucket: x\n").getMessage())
                    .startsWith("cache: unknown key")
                    .endsWith("known top-level keys: server, dataDir, limits, tus, admission, logging, jobs, webhooks, alerts, "
                            + "presign, storage, database, hooks, auth, pipelines, relay");
        }

        @Test
        void unknownKeyIsReportedEvenWhenOtherValuesAreFine() {
            Map<String, String> overrides = new HashMap<>();
            overrides.put("server.port", "9000");
            overrides.put("server.bogus", "1");
            assertThat(rejectionOf(overrides).key()).isEqualTo("server.bogus");
        }
    }

    @Nested
    class CrossKeyRules {
        @Test
        void backoffCapBelowBase() {
            ConfigException e = rejectionOf(Map.of("jobs.backoffBase", "1m", "jobs.backoffCap", "30s"));
            assertThat(e.key()).isEqualTo("jobs.backoffCap");
            assertThat(e.getMessage()).isEqualTo("jobs.backoffCap: '30s' must be at least jobs.backoffBase ('1m')");
        }

        @Test
        void requestSmallerThanFile() {
            ConfigException e = rejectionOf(Map.of("limits.maxFileSize", "2GiB", "limits.maxRequestSize", "1GiB"));
            assertThat(e.key()).isEqualTo("limits.maxRequestSize");
            assertThat(e.getMessage()).isEqualTo("limits.maxRequestSize: '1GiB' must be at least "
                    + "limits.maxFileSize ('2GiB'), so that a request can carry its largest file");
        }

        @Test
        void requestSmallerThanDefaultFileShowsTheDefault() {
            ConfigException e = rejectionOf(Map.of("limits.maxRequestSize", "1GiB"));
            assertThat(e.getMessage()).contains("limits.maxFileSize ('10GiB')");
        }

        @Test
        void perClientAboveTotal() {
            ConfigException e = rejectionOf(Map.of("admission.maxUploadsPerClient", "65"));
            assertThat(e.key()).isEqualTo("admission.maxUploadsPerClient");
            assertThat(e.getMessage()).isEqualTo(
                    "admission.maxUploadsPerClient: '65' must not exceed admission.maxConcurrentUploads ('64')");
        }

        @Test
        void unsetPerClientShareFollowsALowerGlobalCap() throws Exception {
            SluiceConfig c = ConfigLoader.load(null, Map.of(), Map.of("admission.maxConcurrentUploads", "8"));
            assertThat(c.admission().maxUploadsPerClient()).isEqualTo(8);
            SluiceConfig high = ConfigLoader.load(null, Map.of(), Map.of("admission.maxConcurrentUploads", "100"));
            assertThat(high.admission().maxUploadsPerClient()).isEqualTo(AdmissionConfig.DEFAULT_MAX_UPLOADS_PER_CLIENT);
        }

        @Test
        void adminPortEqualToPort() {
            ConfigException e = rejectionOf(Map.of("server.port", "9000", "server.adminPort", "9000"));
            assertThat(e.key()).isEqualTo("server.adminPort");
            assertThat(e.getMessage()).isEqualTo(
                    "server.adminPort: '9000' must differ from server.port ('9000') (0 turns the admin port off)");
        }

        @Test
        void bothPortsZeroIsFine() throws ConfigException {
            SluiceConfig c = overrides(Map.of("server.port", "0", "server.adminPort", "0"));
            assertThat(c.server().port()).isZero();
            assertThat(c.server().adminPort()).isZero();
        }

        @Test
        void memoryBudgetBelowOneUploadsTwoBuffers() {
            ConfigException e = rejectionOf(Map.of("admission.memoryBudget", "500KiB"));
            assertThat(e.key()).isEqualTo("admission.memoryBudget");
            assertThat(e.getMessage()).isEqualTo("admission.memoryBudget: '500KiB' must be 0 (auto) or at least "
                    + "twice admission.bufferSize ('256KiB'), so that one upload's two buffers fit");
        }

        @Test
        void memoryBudgetZeroMeansAuto() throws ConfigException {
            assertThat(overrides(Map.of("admission.memoryBudget", "0")).admission().memoryBudget()).isZero();
        }

        @Test
        void logCapBelowLogFile() {
            ConfigException e = rejectionOf(Map.of("logging.maxFileSize", "100MiB", "logging.totalSizeCap", "50MiB"));
            assertThat(e.key()).isEqualTo("logging.totalSizeCap");
            assertThat(e.getMessage()).isEqualTo(
                    "logging.totalSizeCap: '50MiB' must be at least logging.maxFileSize ('100MiB')");
        }

        @Test
        void crossRulesSeeValuesFromDifferentSources() throws IOException {
            Path file = yaml("limits:\n  maxFileSize: 5GiB\n");
            assertThatThrownBy(() -> ConfigLoader.load(file, Map.of("SLUICE_LIMITS_MAX_REQUEST_SIZE", "4GiB"), Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("limits.maxRequestSize: '4GiB' must be at least limits.maxFileSize ('5GiB')");
        }
    }

    @Nested
    class File {
        @Test
        void missingFileGivenExplicitlyIsAnError() {
            Path missing = dir.resolve("nope.yaml");
            assertThatThrownBy(() -> ConfigLoader.load(missing, Map.of(), Map.of()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessage("config: file not found: " + missing)
                    .extracting(e -> ((ConfigException) e).key()).isEqualTo("config");
        }

        @Test
        void directoryIsNotAFile() {
            assertThatThrownBy(() -> ConfigLoader.load(dir, Map.of(), Map.of()))
                    .hasMessage("config: not a regular file: " + dir);
        }

        @Test
        void malformedYamlNamesFileAndLine() throws IOException {
            ConfigException e = rejectionOfYaml("""
                    server:
                      port: 9000
                       host: x
                    """);
            assertThat(e.key()).isEqualTo("config");
            assertThat(e.getMessage())
                    .startsWith("config: malformed YAML in " + dir.resolve("sluice.yaml") + " at line 3: ")
                    .doesNotContain("\n");
        }

        @Test
        void unterminatedFlowSequenceNamesLine() throws IOException {
            ConfigException e = rejectionOfYaml("server:\n  corsOrigins: [a,\n");
            assertThat(e.getMessage()).contains("sluice.yaml at line ").doesNotContain("\n");
        }

        @Test
        void duplicateKeyInYamlIsAnError() throws IOException {
            ConfigException e = rejectionOfYaml("server:\n  port: 1\n  port: 2\n");
            assertThat(e.getMessage()).contains("at line 3").contains("Duplicate");
        }

        @Test
        void topLevelMustBeAMapping() throws IOException {
            assertThat(rejectionOfYaml("- a\n- b\n").getMessage()).contains("must hold a mapping of keys");
        }
    }

    @Nested
    class Pipelines {
        private SluiceConfig load(String text, Map<String, String> overrides) throws Exception {
            return ConfigLoader.load(yaml(text), Map.of(), overrides);
        }

        private ConfigException refused(String text) throws IOException {
            return rejectionOfYaml(text);
        }

        @Test
        void everyFieldIsReadInFileOrder() throws Exception {
            SluiceConfig c = load("""
                    jobs: {workers: 6, maxAttempts: 4, timeout: 2m}
                    pipelines:
                      zeta:
                        processor: test-sleep
                        types: [Text/CSV, "image/*"]
                        default: yes
                        options: {lines: 3, delayMillis: 10}
                        maxAttempts: 2
                        timeout: 30s
                        concurrency: 2
                        notify: [https://app.example.com/hooks/sluice, "http://10.0.0.1:8080/x?token=1"]
                      alpha:
                        processor: noop
                    """, Map.of());
            assertThat(c.pipelines()).containsExactly(
                    new PipelineConfig("zeta", "test-sleep", List.of("text/csv", "image/*"), true,
                            Map.of("lines", 3, "delayMillis", 10), 2, Duration.ofSeconds(30), 2,
                            List.of("https://app.example.com/hooks/sluice", "http://10.0.0.1:8080/x?token=1")),
                    // What a pipeline leaves out comes from jobs.*: attempts, time limit, all the workers.
                    new PipelineConfig("alpha", "noop", List.of(), false, Map.of(), 4, Duration.ofMinutes(2), 6,
                            List.of()));
            assertThat(c.jobs().concurrency("zeta")).isEqualTo(2);
            assertThat(c.jobs().concurrency("alpha")).isEqualTo(6);
        }

        @Test
        void typesAndNotifyAlsoTakeCommaSeparatedStrings() throws Exception {
            SluiceConfig c = load("""
                    pipelines:
                      p: {processor: noop, types: "text/*, application/pdf", notify: "https://a.example/h"}
                    """, Map.of());
            assertThat(c.pipelines().getFirst().types()).containsExactly("text/*", "application/pdf");
            assertThat(c.pipelines().getFirst().notifyUrls()).containsExactly("https://a.example/h");
        }

        @Test
        void jobsDefaultsFromOtherSourcesReachThePipelines() throws Exception {
            SluiceConfig c = load("pipelines:\n  p: {processor: noop, concurrency: 8}\n",
                    Map.of("jobs.workers", "8", "jobs.maxAttempts", "9"));
            assertThat(c.pipelines().getFirst().concurrency()).isEqualTo(8);
            assertThat(c.pipelines().getFirst().maxAttempts()).isEqualTo(9);
        }

        @Test
        void anEmptySectionConfiguresNone() throws Exception {
            assertThat(load("pipelines:\n", Map.of()).pipelines()).isEmpty();
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource(delimiter = '|', textBlock = """
                '{p: {types: [text/*]}}'                         | pipelines.p.processor | pipelines.p.processor: is required: the processor that runs this pipeline's jobs
                '{p: {processor: nope}}'                         | pipelines.p.processor | pipelines.p.processor: 'nope' is not a known processor (known: command, forward, noop,
                '{Reports: {processor: noop}}'                   | pipelines.Reports     | pipelines.Reports: 'Reports' is not a pipeline name (lower-case letters, digits and '-', starting with a letter or digit, at most 64 characters)
                '{-x: {processor: noop}}'                        | pipelines.-x          | pipelines.-x: '-x' is not a pipeline name
                '{p: noop}'                                      | pipelines.p           | pipelines.p: must be a mapping with at least 'processor:'
                '{p: {processor: noop, colour: blue}}'           | pipelines.p.colour    | pipelines.p.colour: unknown key
                '{p: {procesor: noop}}'                          | pipelines.p.procesor  | pipelines.p.procesor: unknown key
                '{p: {processor: noop, types: [pdf]}}'           | pipelines.p.types     | pipelines.p.types: 'pdf' is not a MIME type (expected type/subtype, type/* or type/subtype+subtypes, e.g. image/png, image/*, text/plain+subtypes)
                '{p: {processor: noop, types: {a: b}}}'          | pipelines.p.types     | pipelines.p.types: expected a list but got a mapping
                '{p: {processor: noop, default: maybe}}'         | pipelines.p.default   | pipelines.p.default: 'maybe' is not a boolean (true/false, yes/no, 1/0)
                '{p: {processor: noop, maxAttempts: 0}}'         | pipelines.p.maxAttempts | pipelines.p.maxAttempts: '0' must be between 1 and 100
                '{p: {processor: noop, timeout: soon}}'          | pipelines.p.timeout   | pipelines.p.timeout: 'soon' is not a duration (examples: 500ms, 30s, 5m, 1m30s)
                '{p: {processor: noop, timeout: [1s]}}'          | pipelines.p.timeout   | pipelines.p.timeout: expected a value but got '["1s"]'
                '{p: {processor: noop, concurrency: 5}}'         | pipelines.p.concurrency | pipelines.p.concurrency: '5' must not exceed jobs.workers ('4')
                '{p: {processor: noop, concurrency: 0}}'         | pipelines.p.concurrency | pipelines.p.concurrency: '0' must be at least 1
                '{p: {processor: noop, notify: [ftp://a.example/x]}}' | pipelines.p.notify | pipelines.p.notify: 'ftp://a.example/x' is not an http(s) URL (expected http(s)://host[:port]/path)
                '{p: {processor: noop, notify: [/hooks]}}'       | pipelines.p.notify    | pipelines.p.notify: '/hooks' is not an http(s) URL
                '{p: {processor: noop, options: [a]}}'           | pipelines.p.options   | pipelines.p.options: must be a mapping of option names to values
                '{p: {processor: noop, options: {a: 1}}}'        | pipelines.p.options.a | pipelines.p.options.a: unknown option (noop takes none)
                '{p: {processor: test-sleep, options: {lines: -1}}}' | pipelines.p.options.lines | pipelines.p.options.lines: must be a number >= 0
                '[p]'                                            | pipelines             | pipelines: must map pipeline names to their settings
                """)
        void badPipelineIsOneLineNamingItsKey(String section, String key, String message) throws IOException {
            ConfigException e = refused("pipelines: " + section + "\n");
            assertThat(e.key()).isEqualTo(key);
            assertThat(e.getMessage()).startsWith(message).doesNotContain("\n");
        }

        @Test
        void aTypoInAPipelineSuggestsTheField() throws IOException {
            assertThat(refused("pipelines: {p: {procesor: noop}}\n").getMessage())
                    .contains("did you mean processor?")
                    .endsWith("a pipeline takes processor, types, default, options, maxAttempts, timeout, "
                            + "concurrency, notify, isolate, memory");
        }

        @Test
        void pipelinesComeOnlyFromTheFile() throws Exception {
            ConfigException e = rejectionOf(Map.of("pipelines.p.processor", "noop"));
            assertThat(e.key()).isEqualTo("pipelines.p.processor");
            assertThat(e.getMessage()).contains("unknown key (command-line override)")
                    .contains("pipelines are configured only in the YAML file");
            assertThat(refused("pipelines.p.processor: noop\n").getMessage())
                    .contains("pipelines are configured only in the YAML file");
            // Environment variables are read for known keys only, so this one is simply not read.
            assertThat(overridesAndEnv(Map.of("SLUICE_PIPELINES_P_PROCESSOR", "noop")).pipelines()).isEmpty();
        }

        private static SluiceConfig overridesAndEnv(Map<String, String> env) throws ConfigException {
            return ConfigLoader.load(null, env, Map.of());
        }
    }

    @Nested
    class Relays {
        @Test
        void everyFieldIsReadAndDefaultsFillTheRest() throws Exception {
            SluiceConfig c = ConfigLoader.load(yaml("""
                    relay:
                      ocr:
                        targets: [http://10.0.0.5:8000/ocr, "https://backup.example/ocr"]
                        timeout: 5s
                        maxFiles: 2
                        maxFileSize: 1MiB
                        maxConnections: 7
                      plain: {targets: http://a.example/x}
                    """), Map.of(), Map.of());
            assertThat(c.relays()).containsExactly(
                    new RelayConfig("ocr", List.of(java.net.URI.create("http://10.0.0.5:8000/ocr"),
                            java.net.URI.create("https://backup.example/ocr")), Duration.ofSeconds(5), 2, 1L << 20, 7),
                    new RelayConfig("plain", List.of(java.net.URI.create("http://a.example/x")),
                            Duration.ofSeconds(30), 5, 10L << 20, 50));
        }

        @Test
        void noSectionConfiguresNone() throws Exception {
            assertThat(overrides(Map.of()).relays()).isEmpty();
            assertThat(ConfigLoader.load(yaml("relay:\n"), Map.of(), Map.of()).relays()).isEmpty();
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource(delimiter = '|', textBlock = """
                '{r: {timeout: 5s}}'                          | relay.r.targets      | relay.r.targets: is required
                '{r: {targets: []}}'                          | relay.r.targets      | relay.r.targets: is required
                '{r: {targets: [ftp://a.example/x]}}'         | relay.r.targets      | relay.r.targets: 'ftp://a.example/x' is not an http(s) URL
                '{R: {targets: [http://a/]}}'                 | relay.R              | relay.R: 'R' is not a relay name
                '{r: http://a/}'                              | relay.r              | relay.r: must be a mapping with at least 'targets:'
                '{r: {targets: [http://a/], target: x}}'      | relay.r.target       | relay.r.target: unknown key
                '{r: {targets: [http://a/], timeout: soon}}'  | relay.r.timeout      | relay.r.timeout: 'soon' is not a duration
                '{r: {targets: [http://a/], maxFiles: -1}}'   | relay.r.maxFiles     | relay.r.maxFiles: '-1' must be between 0 and 1000
                '{r: {targets: [http://a/], maxFileSize: 0}}' | relay.r.maxFileSize  | relay.r.maxFileSize: '0' must be at least 1B
                '{r: {targets: [http://a/], maxConnections: 0}}' | relay.r.maxConnections | relay.r.maxConnections: '0' must be between 1 and 100000
                '[r]'                                         | relay                | relay: must map relay names to their settings
                """)
        void badRelayIsOneLineNamingItsKey(String section, String key, String message) throws IOException {
            ConfigException e = rejectionOfYaml("relay: " + section + "\n");
            assertThat(e.key()).isEqualTo(key);
            assertThat(e.getMessage()).startsWith(message).doesNotContain("\n");
        }

        @Test
        void relaysComeOnlyFromTheFile() {
            ConfigException e = rejectionOf(Map.of("relay.r.targets", "http://a/"));
            assertThat(e.getMessage()).contains("relays are configured only in the YAML file");
        }

        @Test
        void staticDirMustBeAnExistingDirectory() throws Exception {
            assertThat(overrides(Map.of()).server().staticDir()).isNull();
            assertThat(overrides(Map.of("server.staticDir", dir.toString())).server().staticDir()).isEqualTo(dir);
            ConfigException e = rejectionOf(Map.of("server.staticDir", dir.resolve("missing").toString()));
            assertThat(e.key()).isEqualTo("server.staticDir");
            assertThat(e.getMessage()).endsWith("is not an existing directory");
        }
    }

    @Nested
    class Keys {
        @Test
        void envNameSplitsCamelCase() {
            assertThat(ConfigLoader.envName("limits.maxFileSize")).isEqualTo("SLUICE_LIMITS_MAX_FILE_SIZE");
            assertThat(ConfigLoader.envName("dataDir")).isEqualTo("SLUICE_DATA_DIR");
            assertThat(ConfigLoader.envName("server.port")).isEqualTo("SLUICE_SERVER_PORT");
            assertThat(ConfigLoader.envName("admission.memoryHighWatermark"))
                    .isEqualTo("SLUICE_ADMISSION_MEMORY_HIGH_WATERMARK");
        }

        @Test
        void envNamesAreDistinct() {
            assertThat(ConfigLoader.knownKeys().stream().map(ConfigLoader::envName)).doesNotHaveDuplicates();
        }

        @Test
        void everyRecordComponentHasExactlyOneKey() {
            // Components that are not keys: the pipelines and relay sections (YAML only) and what is derived from
            // them.
            List<String> notKeys = List.of("pipelines", "relays", "jobs.pipelineConcurrency");
            // JobsConfig names its defaults for what pipelines may override; the keys use the short names.
            // AlertsConfig cannot name a component "for" (a Java keyword); S3Settings carries the storage-wide
            // download settings with the bucket's (storage.downloads, ...).
            Map<String, String> renamed = Map.of("jobs.defaultMaxAttempts", "jobs.maxAttempts",
                    "jobs.defaultTimeout", "jobs.timeout", "alerts.forDuration", "alerts.for",
                    "storage.s3.downloads", "storage.downloads", "storage.s3.presignExpiry", "storage.presignExpiry");
            List<String> expected = new java.util.ArrayList<>();
            for (RecordComponent section : SluiceConfig.class.getRecordComponents()) {
                if (section.getType().isRecord()) {
                    for (RecordComponent leaf : section.getType().getRecordComponents()) {
                        if (leaf.getType().isRecord()) { // a subsection: storage.s3.*
                            for (RecordComponent sub : leaf.getType().getRecordComponents()) {
                                expected.add(section.getName() + "." + leaf.getName() + "." + sub.getName());
                            }
                        } else {
                            expected.add(section.getName() + "." + leaf.getName());
                        }
                    }
                } else {
                    expected.add(section.getName());
                }
            }
            expected.removeAll(notKeys);
            expected.replaceAll(k -> renamed.getOrDefault(k, k));
            assertThat(ConfigLoader.knownKeys()).containsExactlyElementsOf(expected);
        }

        @Test
        void referenceDocMatchesTheKeyTable() throws Exception {
            // The README holds the configuration reference; it must match the key table and its example must load.
            Path doc = Path.of("README.md");
            assertThat(doc).exists();
            String text = Files.readString(doc);
            assertThat(text).contains(ConfigLoader.referenceTable());

            int start = text.indexOf("```yaml\n") + "```yaml\n".length();
            Path example = yaml(text.substring(start, text.indexOf("```", start)));
            SluiceConfig c = ConfigLoader.load(example, Map.of(), Map.of());
            assertThat(c.server().trustedHosts()).containsExactly("upload.example.com", "*.example.com");
            assertThat(c.admission().memoryHighWatermark()).isEqualTo(0.85);
            assertThat(c.pipelines()).extracting(PipelineConfig::name).containsExactly("archive");
        }

        @Test
        void pipelinesExampleLoads() throws Exception {
            String text = Files.readString(Path.of("README.md"));
            int section = text.indexOf("### Pipelines\n");
            assertThat(section).isPositive();
            int start = text.indexOf("```yaml\n", section) + "```yaml\n".length();
            SluiceConfig c = ConfigLoader.load(yaml(text.substring(start, text.indexOf("```", start))), Map.of(),
                    Map.of());
            assertThat(c.pipelines()).extracting(PipelineConfig::name).containsExactly("archive", "images");
            assertThat(c.pipelines().get(1).concurrency()).isEqualTo(2);
        }
    }
}
