package io.sluice.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.sluice.jobs.JobsConfig;
import io.sluice.processors.Processor;
import io.sluice.processors.Processors;
import io.sluice.storage.s3.S3Settings;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Builds a validated {@link SluiceConfig} from, in increasing precedence: the {@code DEFAULT_*} constants, an
 * optional YAML file, {@code SLUICE_*} environment variables and command-line overrides.
 *
 * <p>Every key is one entry of a declarative table ({@link #KEYS}): name, default, reader (parse + single-key
 * validation), how to print it, and its documentation. Rules that involve two keys live in {@link #CROSS_RULES}.
 * Every rejection is a {@link ConfigException} with a one-line message {@code <key>: '<value>' <rule>}.
 */
public final class ConfigLoader {

    /** The {@link ConfigException#key()} used for problems with the file itself rather than with one key. */
    public static final String CONFIG_FILE_KEY = "config";

    private static final String ENV_PREFIX = "SLUICE_";
    private static final int MAX_SHOWN_VALUE = 80;

    private ConfigLoader() {
    }

    // ---------------------------------------------------------------------------------------------------------
    // Raw values, before parsing: a scalar from any source, or a YAML sequence.

    private sealed interface Raw permits Text, Items {
        /** The value as the user wrote it, for messages. */
        String shown();
    }

    private record Text(String text) implements Raw {
        public String shown() {
            return text.strip();
        }
    }

    private record Items(List<String> items) implements Raw {
        public String shown() {
            return "[" + String.join(", ", items) + "]";
        }
    }

    /** A refusal from a reader; {@link #load} adds the key and turns it into a {@link ConfigException}. */
    private static final class Rejected extends Exception {
        /** The offending part (one list element), or null when the whole value is at fault. */
        private final String value;

        Rejected(String rule) {
            this(null, rule);
        }

        Rejected(String value, String rule) {
            super(rule, null, false, false);
            this.value = value;
        }
    }

    @FunctionalInterface
    private interface Conv<T> {
        /** Converts one stripped, non-null scalar. */
        T from(String text) throws Rejected;
    }

    @FunctionalInterface
    private interface Reader<T> {
        T read(Raw raw) throws Rejected;
    }

    private record Key<T>(String name, T defaultValue, Reader<T> reader, Function<? super T, String> show,
                          String help) {
        String env() {
            return envName(name);
        }

        String shownDefault() {
            return show.apply(defaultValue);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The key table.

    private static final Key<String> SERVER_HOST = scalar("server.host", ServerConfig.DEFAULT_HOST,
            ConfigLoader::nonBlank, s -> s,
            "Interface address to listen on (`0.0.0.0` for all). Non-blank.");
    private static final Key<Integer> SERVER_PORT = scalar("server.port", ServerConfig.DEFAULT_PORT,
            integer(0, 65535), String::valueOf,
            "HTTP port, 0..65535; `0` picks a free port.");
    private static final Key<Integer> SERVER_ADMIN_PORT = scalar("server.adminPort", ServerConfig.DEFAULT_ADMIN_PORT,
            integer(0, 65535), String::valueOf,
            "Second port serving only health and metrics, 0..65535; `0` turns it off. Must differ from "
                    + "`server.port`.");
    private static final Key<Integer> SERVER_MAX_CONNECTIONS = scalar("server.maxConnections",
            ServerConfig.DEFAULT_MAX_CONNECTIONS, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Maximum open connections, >= 1.");
    private static final Key<Integer> SERVER_MAX_CONNECTIONS_PER_CLIENT = scalar("server.maxConnectionsPerClient",
            ServerConfig.DEFAULT_MAX_CONNECTIONS_PER_CLIENT, integer(0, Integer.MAX_VALUE), String::valueOf,
            "Maximum open connections from one peer address, >= 0; further connections from it are closed at "
                    + "once. `0` disables: set it behind a reverse proxy, where every peer is the proxy.");
    private static final Key<Duration> SERVER_HEADER_TIMEOUT = scalar("server.headerTimeout",
            ServerConfig.DEFAULT_HEADER_TIMEOUT, duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "Time a request's headers may take to arrive, counted from connection open (first request) or "
                    + "from the request's first byte (later requests on a kept-alive connection); the "
                    + "connection is closed when it passes. >= 1s.");
    private static final Key<Duration> SERVER_IDLE_TIMEOUT = scalar("server.idleTimeout",
            ServerConfig.DEFAULT_IDLE_TIMEOUT, duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "Time an idle connection is kept open, >= 1s.");
    private static final Key<Long> SERVER_MIN_REQUEST_DATA_RATE = scalar("server.minRequestDataRate",
            ServerConfig.DEFAULT_MIN_REQUEST_DATA_RATE, rate(), Units::formatSize,
            "Bytes per second below which a request body upload is cut (`1KiB`, `1024` or `1KiB/s`); "
                    + "`0` disables. >= 0.");
    private static final Key<Duration> SERVER_SHUTDOWN_GRACE = scalar("server.shutdownGrace",
            ServerConfig.DEFAULT_SHUTDOWN_GRACE, duration(Duration.ZERO, null), Units::formatDuration,
            "How long shutdown waits for requests in flight, >= 0.");
    private static final Key<List<String>> SERVER_CORS_ORIGINS = list("server.corsOrigins",
            ConfigLoader::origin,
            "Origins allowed for CORS: `*` or `http(s)://host[:port]`; empty disables CORS. List.");
    private static final Key<List<String>> SERVER_TRUSTED_HOSTS = list("server.trustedHosts",
            ConfigLoader::trustedHost,
            "Accepted `Host` header names: `host[:port]`, `*.example.com` wildcards allowed, no scheme or path; "
                    + "empty accepts any. List.");
    private static final Key<Integer> SERVER_MAX_REQUEST_HEADER_SIZE = scalar("server.maxRequestHeaderSize",
            ServerConfig.DEFAULT_MAX_REQUEST_HEADER_SIZE, intSize(1L << 10, 1L << 20), n -> Units.formatSize(n),
            "Largest request header block, 1KiB..1MiB.");
    private static final Key<String> SERVER_STATIC_DIR = scalar("server.staticDir", "",
            ConfigLoader::staticDir, s -> s,
            "Directory of a static site (landing page) served at `/` for GET/HEAD requests no endpoint answers; "
                    + "`index.html` for directories, no listings. Must exist. Empty turns it off.");

    private static final Key<Path> DATA_DIR = scalar("dataDir", SluiceConfig.DEFAULT_DATA_DIR,
            ConfigLoader::path, Path::toString,
            "Data directory; logs go to `<dataDir>/logs`. A relative path is resolved against the working "
                    + "directory. Non-blank.");

    private static final Key<Long> LIMITS_MAX_FILE_SIZE = scalar("limits.maxFileSize",
            LimitsConfig.DEFAULT_MAX_FILE_SIZE, size(1, Long.MAX_VALUE), Units::formatSize,
            "Largest single uploaded file, >= 1 byte.");
    private static final Key<Integer> LIMITS_MAX_FILES_PER_REQUEST = scalar("limits.maxFilesPerRequest",
            LimitsConfig.DEFAULT_MAX_FILES_PER_REQUEST, integer(1, 1000), String::valueOf,
            "Files in one upload request, 1..1000.");
    private static final Key<Long> LIMITS_MAX_REQUEST_SIZE = scalar("limits.maxRequestSize",
            LimitsConfig.DEFAULT_MAX_REQUEST_SIZE, size(1, Long.MAX_VALUE), Units::formatSize,
            "Largest whole upload request, >= `limits.maxFileSize`.");
    private static final Key<List<String>> LIMITS_ALLOWED_TYPES = list("limits.allowedTypes",
            ConfigLoader::mimeType,
            "Types accepted after detection from the bytes; empty accepts every type. `image/png` is that type "
                    + "exactly, `image/*` every image type, `text/plain+subtypes` the type and every type Tika "
                    + "derives from it (for text/plain: csv, but also scripts). List, lower-cased.");
    private static final Key<Long> LIMITS_DISK_RESERVE = scalar("limits.diskReserve",
            LimitsConfig.DEFAULT_DISK_RESERVE, size(0, Long.MAX_VALUE), Units::formatSize,
            "Free space on the data disk that Sluice never writes into: every writer (uploads of every protocol, "
                    + "S3 spool files, local copies, job attempts) reserves its bytes on one ledger first, and one "
                    + "that would take free space minus what others reserved below this is refused (507 "
                    + "`insufficient_storage`, or a retryable job failure). >= 0.");

    private static final Key<Double> ADMISSION_MEMORY_HIGH_WATERMARK = scalar("admission.memoryHighWatermark",
            AdmissionConfig.DEFAULT_MEMORY_HIGH_WATERMARK, ConfigLoader::fraction, ConfigLoader::showFraction,
            "Fraction (`0.85`) or percentage (`85%`) of each memory limit (heap, direct, cgroup, host) above "
                    + "which new uploads are refused; > 0 and <= 1 (100%).");
    private static final Key<Long> ADMISSION_MEMORY_BUDGET = scalar("admission.memoryBudget",
            AdmissionConfig.DEFAULT_MEMORY_BUDGET, size(0, Long.MAX_VALUE), n -> n == 0 ? "0" : Units.formatSize(n),
            "Upload buffer memory in flight at once; `0` = auto ("
                    + Math.round(AdmissionConfig.AUTO_BUDGET_HEAP_FRACTION * 100) + "% of the heap). "
                    + "Otherwise >= 2 x `admission.bufferSize`: each upload streams through two buffers.");
    private static final Key<Integer> ADMISSION_MAX_CONCURRENT_UPLOADS = scalar("admission.maxConcurrentUploads",
            AdmissionConfig.DEFAULT_MAX_CONCURRENT_UPLOADS, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Uploads in progress at once across all clients, >= 1.");
    private static final Key<Integer> ADMISSION_MAX_UPLOADS_PER_CLIENT = scalar("admission.maxUploadsPerClient",
            AdmissionConfig.DEFAULT_MAX_UPLOADS_PER_CLIENT, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Uploads in progress at once per client, >= 1 and <= `admission.maxConcurrentUploads`; when unset, the "
                    + "default shrinks to a lower `admission.maxConcurrentUploads`.");
    private static final Key<Integer> ADMISSION_BUFFER_SIZE = scalar("admission.bufferSize",
            AdmissionConfig.DEFAULT_BUFFER_SIZE,
            intSize(AdmissionConfig.MIN_BUFFER_SIZE, AdmissionConfig.MAX_BUFFER_SIZE), n -> Units.formatSize(n),
            "Size of one upload buffer, " + Units.formatSize(AdmissionConfig.MIN_BUFFER_SIZE) + ".."
                    + Units.formatSize(AdmissionConfig.MAX_BUFFER_SIZE) + ".");
    private static final Key<Duration> ADMISSION_RETRY_AFTER = scalar("admission.retryAfter",
            AdmissionConfig.DEFAULT_RETRY_AFTER, duration(Duration.ofSeconds(1), Duration.ofHours(1)),
            Units::formatDuration,
            "Base of the `Retry-After` answered with 503/429 (jitter is added on top), 1s..1h.");
    private static final Key<Duration> ADMISSION_QUEUE_TIMEOUT = scalar("admission.queueTimeout",
            AdmissionConfig.DEFAULT_QUEUE_TIMEOUT, duration(Duration.ZERO, AdmissionConfig.MAX_QUEUE_TIMEOUT),
            Units::formatDuration,
            "How long an upload over its client's share or over the slots waits for one to free before `429`/`503`, "
                    + "0.." + Units.formatDuration(AdmissionConfig.MAX_QUEUE_TIMEOUT) + "; `0` refuses at once. A request "
                    + "with `Expect: 100-continue` waits at most 1s.");
    private static final Key<Integer> ADMISSION_MAX_QUEUED = scalar("admission.maxQueued",
            AdmissionConfig.DEFAULT_MAX_QUEUED, integer(0, 1_000_000), String::valueOf,
            "Uploads waiting for a slot at once, 0..1000000 (`0`: no queue); one client may hold at most "
                    + AdmissionConfig.QUEUED_SHARES_PER_CLIENT + " x `admission.maxUploadsPerClient` of them.");

    private static final Key<String> LOGGING_LEVEL = scalar("logging.level", LoggingConfig.DEFAULT_LEVEL,
            ConfigLoader::level, s -> s,
            "Root log level: TRACE, DEBUG, INFO, WARN or ERROR (case-insensitive).");
    private static final Key<Boolean> LOGGING_JSON = scalar("logging.json", LoggingConfig.DEFAULT_JSON,
            ConfigLoader::bool, String::valueOf,
            "Console lines as JSON instead of text: true/false, yes/no, 1/0.");
    private static final Key<Long> LOGGING_MAX_FILE_SIZE = scalar("logging.maxFileSize",
            LoggingConfig.DEFAULT_MAX_FILE_SIZE, size(1L << 20, Long.MAX_VALUE), Units::formatSize,
            "Size at which the log file in `<dataDir>/logs` rolls, >= 1MiB.");
    private static final Key<Long> LOGGING_TOTAL_SIZE_CAP = scalar("logging.totalSizeCap",
            LoggingConfig.DEFAULT_TOTAL_SIZE_CAP, size(0, Long.MAX_VALUE), Units::formatSize,
            "Cap on all rolled log files together, >= `logging.maxFileSize`.");

    private static final Key<String> TUS_BASE_PATH = scalar("tus.basePath", TusConfig.DEFAULT_BASE_PATH,
            ConfigLoader::basePath, s -> s,
            "Path of the tus / IETF resumable upload endpoint: `/segment[/segment]/`, letters, digits, `-`, `_`, `.`; "
                    + "not under `/api/` or `/health`.");
    private static final Key<Duration> TUS_EXPIRY = scalar("tus.expiry", TusConfig.DEFAULT_EXPIRY,
            duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "An unfinished resumable upload is removed this long after its last append (`Upload-Expires`), >= 1s.");
    private static final Key<Integer> TUS_MAX_METADATA_SIZE = scalar("tus.maxMetadataSize",
            TusConfig.DEFAULT_MAX_METADATA_SIZE, intSize(256, 64L << 10), n -> Units.formatSize(n),
            "Largest `Upload-Metadata` header, 256..64KiB and below `server.maxRequestHeaderSize`.");

    private static final Key<Integer> JOBS_WORKERS = scalar("jobs.workers", JobsConfig.DEFAULT_WORKERS,
            integer(1, 1000), String::valueOf,
            "Jobs running at once in this process, 1..1000. No job starts while memory is above "
                    + "`admission.memoryHighWatermark`.");
    private static final Key<Duration> JOBS_LEASE_DURATION = scalar("jobs.leaseDuration",
            JobsConfig.DEFAULT_LEASE_DURATION, duration(Duration.ofSeconds(1), Duration.ofHours(1)),
            Units::formatDuration,
            "A running job's claim lasts this long unless its worker renews it (every third of it); the job of a "
                    + "crashed process is retried once it expires. 1s..1h.");
    private static final Key<Duration> JOBS_POLL_INTERVAL = scalar("jobs.pollInterval",
            JobsConfig.DEFAULT_POLL_INTERVAL, duration(Duration.ofMillis(10), Duration.ofHours(1)),
            Units::formatDuration,
            "How often idle workers look for due jobs (an upload in this process wakes them at once), 10ms..1h.");
    private static final Key<Duration> JOBS_RETENTION = scalar("jobs.retention", JobsConfig.DEFAULT_RETENTION,
            duration(Duration.ofMinutes(1), null), Units::formatDuration,
            "Finished jobs and their output are deleted this long after they finished, >= 1m.");
    private static final Key<Duration> JOBS_BACKOFF_BASE = scalar("jobs.backoffBase",
            JobsConfig.DEFAULT_BACKOFF_BASE, duration(Duration.ofMillis(100), null), Units::formatDuration,
            "Delay before the retry of a failed attempt: the ceiling doubles per attempt from this, up to "
                    + "`jobs.backoffCap`, and the delay is half to all of it. >= 100ms.");
    private static final Key<Duration> JOBS_BACKOFF_CAP = scalar("jobs.backoffCap",
            JobsConfig.DEFAULT_BACKOFF_CAP, duration(Duration.ofMillis(100), null), Units::formatDuration,
            "Largest delay between attempts, >= `jobs.backoffBase`.");
    private static final Key<Integer> JOBS_MAX_ATTEMPTS = scalar("jobs.maxAttempts", JobsConfig.DEFAULT_MAX_ATTEMPTS,
            integer(1, 100), String::valueOf,
            "Attempts of a job before it fails for good, 1..100; a pipeline's `maxAttempts` overrides it.");
    private static final Key<Duration> JOBS_TIMEOUT = scalar("jobs.timeout", JobsConfig.DEFAULT_TIMEOUT,
            duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "Longest run of one attempt, >= 1s; past it the attempt fails with `timeout`. A pipeline's `timeout` "
                    + "overrides it.");

    private static final Key<List<String>> WEBHOOKS_URLS = list("webhooks.urls", ConfigLoader::notifyUrl,
            "Webhook URLs every event is sent to, after the pipeline's own `notify` URLs; each attempt tries the "
                    + "URLs in order until one answers 2xx.");
    private static final Key<String> WEBHOOKS_SECRET = scalar("webhooks.secret", "", ConfigLoader::secret,
            s -> s.isEmpty() ? "" : "(set)",
            "HMAC-SHA256 key of the `Sluice-Signature` header, >= 16 characters. Empty: one is generated at first "
                    + "start and kept in `<dataDir>/webhook-secret`.");
    private static final Key<Duration> WEBHOOKS_BACKOFF_BASE = scalar("webhooks.backoffBase",
            WebhooksConfig.DEFAULT_BACKOFF_BASE, duration(Duration.ofMillis(10), Duration.ofHours(1)),
            Units::formatDuration,
            "Delay before a failed webhook delivery is tried again; it doubles per attempt up to 1h, with jitter "
                    + "(half to all of it). 10ms..1h.");
    private static final Key<Integer> WEBHOOKS_MAX_ATTEMPTS = scalar("webhooks.maxAttempts",
            WebhooksConfig.DEFAULT_MAX_ATTEMPTS, integer(1, 100), String::valueOf,
            "Attempts of a webhook delivery before it is marked failed (it can still be redelivered), 1..100.");
    private static final Key<Duration> WEBHOOKS_PROGRESS_INTERVAL = scalar("webhooks.progressInterval",
            Duration.ZERO, duration(Duration.ZERO, null), Units::formatDuration,
            "`job.progress` events go to webhooks at most this often per job; 0 (the default): never (SSE still "
                    + "gets them all).");

    // hooks: the application's upload hooks (branch hooks, issue 17); one block, to move with the config split.
    private static final Key<String> HOOKS_PRE_CREATE = scalar("hooks.preCreate", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL POSTed (JSON, signed like webhooks) before an upload is created; its answer allows it (optionally "
                    + "with metadata, a pipeline or a filename) or refuses it with a 4xx status. Empty: none.");
    private static final Key<String> HOOKS_PRE_FINISH = scalar("hooks.preFinish", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL POSTed once an upload's bytes are all stored, before it is listed and its job queued; a refusal "
                    + "deletes the bytes and answers the upload's last request. Empty: none.");
    private static final Key<Duration> HOOKS_TIMEOUT = scalar("hooks.timeout", HooksConfig.DEFAULT_TIMEOUT,
            duration(HooksConfig.MIN_TIMEOUT, HooksConfig.MAX_TIMEOUT), Units::formatDuration,
            "Longest a hook call may take, connection included, 100ms..60s; past it the call has failed (see "
                    + "`hooks.failOpen`).");
    private static final Key<Boolean> HOOKS_FAIL_OPEN = scalar("hooks.failOpen", false, ConfigLoader::bool,
            String::valueOf,
            "What a failed hook call (timeout, non-200, malformed answer) does: `false` refuses the upload `503 "
                    + "hook_unavailable`, `true` lets it through as if allowed.");

    private static final Key<Boolean> ALERTS_ENABLED = scalar("alerts.enabled", AlertsConfig.DEFAULT_ENABLED,
            ConfigLoader::bool, String::valueOf,
            "Evaluate the alert rules (logged, listed in `/health/detailed`, posted to `alerts.webhook`): "
                    + "true/false.");
    private static final Key<Duration> ALERTS_INTERVAL = scalar("alerts.interval", AlertsConfig.DEFAULT_INTERVAL,
            duration(Duration.ofMillis(100), Duration.ofHours(1)), Units::formatDuration,
            "How often the alert rules are evaluated, 100ms..1h.");
    private static final Key<Duration> ALERTS_FOR = scalar("alerts.for", AlertsConfig.DEFAULT_FOR,
            duration(Duration.ZERO, Duration.ofHours(24)), Units::formatDuration,
            "How long a rule's condition must hold before it fires, 0..24h; a rule resolves as soon as it clears.");
    private static final Key<Double> ALERTS_MEMORY_THRESHOLD = scalar("alerts.memoryThreshold",
            AlertsConfig.DEFAULT_MEMORY_THRESHOLD, ConfigLoader::fractionOrZero, ConfigLoader::showFraction,
            "Memory alert: used fraction (`0.8`) or percentage (`80%`) of the cgroup limit (working set, as "
                    + "kubelet counts it), else of physical memory (total minus `MemAvailable`); 0..1.");
    private static final Key<Long> ALERTS_MIN_AVAILABLE_MEMORY = scalar("alerts.minAvailableMemory",
            AlertsConfig.DEFAULT_MIN_AVAILABLE_MEMORY, size(0, Long.MAX_VALUE), Units::formatSize,
            "Available-memory alert: fires when less than this is available under the memory limit. >= 0.");
    private static final Key<Double> ALERTS_UPLOAD_FAILURE_RATE = scalar("alerts.uploadFailureRate",
            AlertsConfig.DEFAULT_UPLOAD_FAILURE_RATE, ConfigLoader::fractionOrZero, ConfigLoader::showFraction,
            "Upload alert: fires when more than this fraction of upload requests failed over "
                    + "`alerts.uploadFailureWindow`; 0..1.");
    private static final Key<Integer> ALERTS_UPLOAD_FAILURE_MIN_COUNT = scalar("alerts.uploadFailureMinCount",
            AlertsConfig.DEFAULT_UPLOAD_FAILURE_MIN_COUNT, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Upload alert: upload requests the window must hold before its rate counts (one failure out of one is "
                    + "not 100 %), >= 1.");
    private static final Key<Duration> ALERTS_UPLOAD_FAILURE_WINDOW = scalar("alerts.uploadFailureWindow",
            AlertsConfig.DEFAULT_UPLOAD_FAILURE_WINDOW, duration(Duration.ofSeconds(1), Duration.ofDays(1)),
            Units::formatDuration, "Upload alert: the window of the failure rate, 1s..1d.");
    private static final Key<Duration> ALERTS_QUEUE_AGE = scalar("alerts.queueAge", AlertsConfig.DEFAULT_QUEUE_AGE,
            duration(Duration.ofMillis(1), null), Units::formatDuration,
            "Queue alert: fires when the oldest due job has waited longer than this, >= 1ms.");
    private static final Key<String> ALERTS_WEBHOOK = scalar("alerts.webhook", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL each alert transition is POSTed to as JSON, signed like webhooks (`Sluice-Signature`); empty: "
                    + "none.");
    private static final Key<Duration> PRESIGN_EXPIRY = scalar("presign.expiry", PresignConfig.DEFAULT_EXPIRY,
            duration(Duration.ofSeconds(1), PresignConfig.MAX_EXPIRY), Units::formatDuration,
            "How long a presigned upload URL is valid, 1s..7d; an upload not completed by then is removed with its "
                    + "bytes.");
    private static final Key<String> PRESIGN_SECRET = scalar("presign.secret", "", ConfigLoader::secret,
            s -> s.isEmpty() ? "" : "(set)",
            "HMAC-SHA256 key of the presigned URLs Sluice signs itself (local storage), >= 16 characters. Empty: one "
                    + "is generated at first start and kept in `<dataDir>/presign-secret`.");
    private static final Key<String> PRESIGN_EVENT_TOKEN = scalar("presign.eventToken", "", ConfigLoader::secret,
            s -> s.isEmpty() ? "" : "(set)",
            "Bearer token `POST /api/v1/storage/events` requires (S3/MinIO notifications), >= 16 characters. Empty: "
                    + "the endpoint refuses every call.");
    private static final Key<StorageConfig.Type> STORAGE_TYPE = scalar("storage.type", StorageConfig.Type.LOCAL,
            text -> oneOf(text, StorageConfig.Type.class), t -> t.name().toLowerCase(Locale.ROOT),
            "Where upload bytes live: `local` (files under `dataDir`) or `s3` (an S3-compatible bucket, "
                    + "`storage.s3.*`).");
    private static final Key<String> STORAGE_S3_ENDPOINT = scalar("storage.s3.endpoint", "",
            ConfigLoader::s3Endpoint, s -> s,
            "S3 service URL, `http(s)://host[:port]` (MinIO, s3proxy, R2, ...); empty = AWS for "
                    + "`storage.s3.region`.");
    private static final Key<String> STORAGE_S3_REGION = scalar("storage.s3.region", S3Settings.DEFAULT_REGION,
            ConfigLoader::s3Region, s -> s,
            "Signing region (lower-case letters, digits, `-`).");
    private static final Key<String> STORAGE_S3_BUCKET = scalar("storage.s3.bucket", "",
            ConfigLoader::s3Bucket, s -> s,
            "Existing bucket name (3..63 of `a-z`, `0-9`, `.`, `-`); required with `storage.type: s3`.");
    private static final Key<String> STORAGE_S3_ACCESS_KEY = scalar("storage.s3.accessKey", "",
            text -> text, s -> s,
            "Static access key; empty (with an empty secret key) uses the SDK's default credential chain "
                    + "(environment, profile, instance role).");
    private static final Key<String> STORAGE_S3_SECRET_KEY = scalar("storage.s3.secretKey", "",
            text -> text, s -> s.isEmpty() ? "" : "(set)",
            "Static secret key, set together with `storage.s3.accessKey`; never printed.");
    private static final Key<Boolean> STORAGE_S3_PATH_STYLE = scalar("storage.s3.pathStyle", false,
            ConfigLoader::bool, String::valueOf,
            "Path-style URLs (`host/bucket/key`, for MinIO and s3proxy) instead of virtual-hosted "
                    + "(`bucket.host/key`): true/false.");
    private static final Key<String> STORAGE_S3_PREFIX = scalar("storage.s3.prefix", "",
            ConfigLoader::s3Prefix, s -> s,
            "Prefix of every object key (`sluice/`), so one bucket can serve several installations; segments of "
                    + "letters, digits, `.`, `_`, `-`. Empty: the bucket's root.");
    private static final Key<Long> STORAGE_S3_PART_SIZE = scalar("storage.s3.partSize", S3Settings.DEFAULT_PART_SIZE,
            size(S3Settings.MIN_PART_SIZE, S3Settings.MAX_PART_SIZE), Units::formatSize,
            "Multipart part size, 5MiB..5GiB; each upload in progress spools at most three parts on local disk. "
                    + "S3 allows 10000 parts, so at least `limits.maxFileSize` / 10000.");
    private static final Key<S3Settings.Downloads> STORAGE_DOWNLOADS = scalar("storage.downloads",
            S3Settings.Downloads.STREAM, text -> oneOf(text, S3Settings.Downloads.class),
            d -> d.name().toLowerCase(Locale.ROOT),
            "How a finished upload's content is served: `stream` (through Sluice, ranges included) or `redirect` "
                    + "(302 to a presigned GET; needs `storage.type: s3`).");
    private static final Key<Duration> STORAGE_PRESIGN_EXPIRY = scalar("storage.presignExpiry",
            S3Settings.DEFAULT_PRESIGN_EXPIRY, duration(Duration.ofSeconds(1), S3Settings.MAX_PRESIGN_EXPIRY),
            Units::formatDuration,
            "Lifetime of a presigned URL Sluice hands out (download redirects), 1s..7d.");
    private static final Key<String> DATABASE_URL = scalar("database.url", "", ConfigLoader::databaseUrl, s -> s,
            "Empty: SQLite in `<dataDir>/sluice.db`. Otherwise a PostgreSQL JDBC URL "
                    + "(`jdbc:postgresql://host[:port]/database`) that several nodes may share; the same migrations "
                    + "run there. Any other database is refused.");
    private static final Key<String> DATABASE_USER = scalar("database.user", "", s -> s, s -> s,
            "PostgreSQL user; empty: the driver's default (or the one in the URL).");
    private static final Key<String> DATABASE_PASSWORD = scalar("database.password", "", s -> s,
            s -> s.isEmpty() ? "" : "(set)",
            "PostgreSQL password; empty: none. Never printed or shown in health output.");
    private static final Key<Integer> DATABASE_POOL_SIZE = scalar("database.poolSize",
            DatabaseConfig.DEFAULT_POOL_SIZE, integer(1, 1000), String::valueOf,
            "Pooled PostgreSQL connections per process, 1..1000 (the LISTEN connection and the upload-lock "
                    + "session come on top). Unused with SQLite.");
    private static final Key<Long> DATABASE_HEADROOM = scalar("database.headroom",
            DatabaseConfig.DEFAULT_HEADROOM, size(0, 1L << 40), n -> n == 0 ? "0" : Units.formatSize(n),
            "Space of the data disk kept for SQLite in `<dataDir>/sluice.db-headroom`, released when a commit "
                    + "finds the disk full (so deletes and key changes still work) and written again once the disk "
                    + "has room; until then uploads and readiness count it as owed. `0` keeps none. Unused with "
                    + "PostgreSQL. 0..1TiB.");

    // jwt: application-signed upload tokens (issue 17), verified by io.sluice.auth.TokenVerifier.
    private static final Key<String> AUTH_JWT_HMAC_SECRET = scalar("auth.jwt.hmacSecret", "",
            ConfigLoader::jwtSecret, s -> s.isEmpty() ? "" : "(set)",
            "HS256 key the application signs upload tokens with, >= " + JwtConfig.MIN_SECRET_BYTES + " bytes "
                    + "(shorter is refused at start-up). Empty: HS256 tokens are not accepted.");
    private static final Key<String> AUTH_JWT_JWKS_URL = scalar("auth.jwt.jwksUrl", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL of the application's JWKS (RS256/ES256 public keys): fetched, cached, fetched again for an unknown "
                    + "`kid`; a failed fetch keeps the cached keys. Empty: none. With neither this nor "
                    + "`auth.jwt.hmacSecret`, JWTs are not accepted.");
    private static final Key<String> AUTH_JWT_ISSUER = scalar("auth.jwt.issuer", "", s -> s, s -> s,
            "The `iss` every upload token must carry; empty: not checked.");
    private static final Key<String> AUTH_JWT_AUDIENCE = scalar("auth.jwt.audience", "", s -> s, s -> s,
            "A value the upload token's `aud` must hold; empty: not checked.");
    private static final Key<Duration> AUTH_JWT_MAX_LIFETIME = scalar("auth.jwt.maxLifetime",
            JwtConfig.DEFAULT_MAX_LIFETIME, duration(Duration.ofSeconds(1), JwtConfig.MAX_MAX_LIFETIME),
            Units::formatDuration,
            "Longest `exp - iat` of an accepted upload token (one without `iat` is refused), 1s..365d.");
    private static final Key<Duration> AUTH_JWT_JWKS_REFETCH_INTERVAL = scalar("auth.jwt.jwksRefetchInterval",
            JwtConfig.DEFAULT_JWKS_REFETCH_INTERVAL, duration(Duration.ofMillis(1), Duration.ofHours(1)),
            Units::formatDuration,
            "Shortest time between two JWKS fetches (a token with an unknown `kid` asks for one), 1ms..1h.");

    private static final List<Key<?>> KEYS = List.of(
            SERVER_HOST, SERVER_PORT, SERVER_ADMIN_PORT, SERVER_MAX_CONNECTIONS, SERVER_IDLE_TIMEOUT,
            SERVER_MIN_REQUEST_DATA_RATE, SERVER_SHUTDOWN_GRACE, SERVER_CORS_ORIGINS, SERVER_TRUSTED_HOSTS,
            SERVER_MAX_REQUEST_HEADER_SIZE, SERVER_STATIC_DIR, SERVER_HEADER_TIMEOUT,
            SERVER_MAX_CONNECTIONS_PER_CLIENT,
            DATA_DIR,
            LIMITS_MAX_FILE_SIZE, LIMITS_MAX_FILES_PER_REQUEST, LIMITS_MAX_REQUEST_SIZE, LIMITS_ALLOWED_TYPES,
            LIMITS_DISK_RESERVE,
            TUS_BASE_PATH, TUS_EXPIRY, TUS_MAX_METADATA_SIZE,
            ADMISSION_MEMORY_HIGH_WATERMARK, ADMISSION_MEMORY_BUDGET, ADMISSION_MAX_CONCURRENT_UPLOADS,
            ADMISSION_MAX_UPLOADS_PER_CLIENT, ADMISSION_BUFFER_SIZE, ADMISSION_RETRY_AFTER,
            ADMISSION_QUEUE_TIMEOUT, ADMISSION_MAX_QUEUED,
            LOGGING_LEVEL, LOGGING_JSON, LOGGING_MAX_FILE_SIZE, LOGGING_TOTAL_SIZE_CAP,
            JOBS_WORKERS, JOBS_LEASE_DURATION, JOBS_POLL_INTERVAL, JOBS_RETENTION, JOBS_BACKOFF_BASE,
            JOBS_BACKOFF_CAP, JOBS_MAX_ATTEMPTS, JOBS_TIMEOUT,
            WEBHOOKS_URLS, WEBHOOKS_SECRET, WEBHOOKS_BACKOFF_BASE, WEBHOOKS_MAX_ATTEMPTS,
            WEBHOOKS_PROGRESS_INTERVAL,
            ALERTS_ENABLED, ALERTS_INTERVAL, ALERTS_FOR, ALERTS_MEMORY_THRESHOLD, ALERTS_MIN_AVAILABLE_MEMORY,
            ALERTS_UPLOAD_FAILURE_RATE, ALERTS_UPLOAD_FAILURE_MIN_COUNT, ALERTS_UPLOAD_FAILURE_WINDOW,
            ALERTS_QUEUE_AGE, ALERTS_WEBHOOK,
            PRESIGN_EXPIRY, PRESIGN_SECRET, PRESIGN_EVENT_TOKEN,
            STORAGE_TYPE, STORAGE_S3_ENDPOINT, STORAGE_S3_REGION, STORAGE_S3_BUCKET, STORAGE_S3_ACCESS_KEY,
            STORAGE_S3_SECRET_KEY, STORAGE_S3_PATH_STYLE, STORAGE_S3_PREFIX, STORAGE_S3_PART_SIZE, STORAGE_DOWNLOADS,
            STORAGE_PRESIGN_EXPIRY,
            DATABASE_URL, DATABASE_USER, DATABASE_PASSWORD, DATABASE_POOL_SIZE, DATABASE_HEADROOM,
            // hooks: last, like their SluiceConfig component
            HOOKS_PRE_CREATE, HOOKS_PRE_FINISH, HOOKS_TIMEOUT, HOOKS_FAIL_OPEN,
            // jwt: application-signed upload tokens, like their SluiceConfig component
            AUTH_JWT_HMAC_SECRET, AUTH_JWT_JWKS_URL, AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_JWT_MAX_LIFETIME,
            AUTH_JWT_JWKS_REFETCH_INTERVAL);


    /** Credentials: messages show them as {@code (set)} even when another key's rule names them. */
    private static final Set<Key<?>> SECRETS = Set.of(WEBHOOKS_SECRET, STORAGE_S3_SECRET_KEY, PRESIGN_SECRET,
            PRESIGN_EVENT_TOKEN, DATABASE_PASSWORD, AUTH_JWT_HMAC_SECRET);

    private static final Map<String, Key<?>> BY_NAME =
            KEYS.stream().collect(Collectors.toUnmodifiableMap(Key::name, k -> k));

    // ---------------------------------------------------------------------------------------------------------
    // Rules between two keys. The exception's key is the first one; the relation names the second.

    private record CrossRule(Key<?> key, Key<?> other, Predicate<Values> violated, String relation) {
    }

    private static final List<CrossRule> CROSS_RULES = List.of(
            new CrossRule(LIMITS_MAX_REQUEST_SIZE, LIMITS_MAX_FILE_SIZE,
                    v -> v.get(LIMITS_MAX_REQUEST_SIZE) < v.get(LIMITS_MAX_FILE_SIZE),
                    "must be at least %s, so that a request can carry its largest file"),
            new CrossRule(ADMISSION_MAX_UPLOADS_PER_CLIENT, ADMISSION_MAX_CONCURRENT_UPLOADS,
                    v -> v.get(ADMISSION_MAX_UPLOADS_PER_CLIENT) > v.get(ADMISSION_MAX_CONCURRENT_UPLOADS),
                    "must not exceed %s"),
            new CrossRule(SERVER_ADMIN_PORT, SERVER_PORT,
                    v -> v.get(SERVER_ADMIN_PORT) != 0 && v.get(SERVER_PORT) != 0
                            && v.get(SERVER_ADMIN_PORT).equals(v.get(SERVER_PORT)),
                    "must differ from %s (0 turns the admin port off)"),
            new CrossRule(ADMISSION_MEMORY_BUDGET, ADMISSION_BUFFER_SIZE,
                    v -> v.get(ADMISSION_MEMORY_BUDGET) != 0
                            && v.get(ADMISSION_MEMORY_BUDGET) < 2L * v.get(ADMISSION_BUFFER_SIZE),
                    "must be 0 (auto) or at least twice %s, so that one upload's two buffers fit"),
            new CrossRule(TUS_MAX_METADATA_SIZE, SERVER_MAX_REQUEST_HEADER_SIZE,
                    v -> v.get(TUS_MAX_METADATA_SIZE) >= v.get(SERVER_MAX_REQUEST_HEADER_SIZE),
                    "must be below %s, or the header could never arrive"),
            new CrossRule(LOGGING_TOTAL_SIZE_CAP, LOGGING_MAX_FILE_SIZE,
                    v -> v.get(LOGGING_TOTAL_SIZE_CAP) < v.get(LOGGING_MAX_FILE_SIZE),
                    "must be at least %s"),
            new CrossRule(JOBS_BACKOFF_CAP, JOBS_BACKOFF_BASE,
                    v -> v.get(JOBS_BACKOFF_CAP).compareTo(v.get(JOBS_BACKOFF_BASE)) < 0,
                    "must be at least %s"),
            new CrossRule(STORAGE_S3_BUCKET, STORAGE_TYPE,
                    v -> v.get(STORAGE_TYPE) == StorageConfig.Type.S3 && v.get(STORAGE_S3_BUCKET).isEmpty(),
                    "is required with %s"),
            new CrossRule(STORAGE_S3_BUCKET, STORAGE_TYPE,
                    v -> v.get(STORAGE_TYPE) == StorageConfig.Type.LOCAL && !v.get(STORAGE_S3_BUCKET).isEmpty(),
                    "is set but %s would ignore it; set storage.type: s3"),
            new CrossRule(STORAGE_DOWNLOADS, STORAGE_TYPE,
                    v -> v.get(STORAGE_DOWNLOADS) == S3Settings.Downloads.REDIRECT
                            && v.get(STORAGE_TYPE) != StorageConfig.Type.S3,
                    "needs storage.type: s3, not %s: local disk has no presigned URLs"),
            new CrossRule(STORAGE_S3_SECRET_KEY, STORAGE_S3_ACCESS_KEY,
                    v -> v.get(STORAGE_S3_SECRET_KEY).isEmpty() != v.get(STORAGE_S3_ACCESS_KEY).isEmpty(),
                    "must be set together with %s (both empty: the SDK's default credential chain)"),
            new CrossRule(STORAGE_S3_PART_SIZE, LIMITS_MAX_FILE_SIZE,
                    v -> v.get(STORAGE_TYPE) == StorageConfig.Type.S3
                            && v.get(STORAGE_S3_PART_SIZE) < ceilDiv(v.get(LIMITS_MAX_FILE_SIZE), S3Settings.MAX_PARTS),
                    "is too small for %s: S3 allows " + S3Settings.MAX_PARTS + " parts per object"));

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    /** Parsed values by key name, and how each was written (as given, or the formatted default). */
    private record Values(Map<String, Object> parsed, Map<String, String> shown) {
        @SuppressWarnings("unchecked") // every entry was produced by the reader of the same Key<T>
        <T> T get(Key<T> key) {
            return (T) parsed.get(key.name());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Public API.

    /**
     * Loads and validates the configuration.
     *
     * @param configFileOrNull YAML file; {@code null} for none. A path that is given must exist.
     * @param env              environment variables (usually {@link System#getenv()}); only the {@code SLUICE_*}
     *                         names of known keys are read, anything else is ignored. {@code null} = empty.
     * @param overrides        command-line values keyed by dotted key ({@code server.port -> 9000}); unknown
     *                         keys are refused. {@code null} = empty.
     * @throws ConfigException naming the first offending key (or {@value #CONFIG_FILE_KEY} for the file itself)
     */
    public static SluiceConfig load(Path configFileOrNull, Map<String, String> env, Map<String, String> overrides)
            throws ConfigException {
        Map<String, Raw> raw = new LinkedHashMap<>();
        JsonNode pipelines = null;
        JsonNode relays = null;
        if (configFileOrNull != null) {
            YamlFile file = readYaml(configFileOrNull);
            raw.putAll(file.keys());
            pipelines = file.pipelines();
            relays = file.relays();
        }
        if (env != null) {
            for (Key<?> key : KEYS) {
                String value = env.get(key.env());
                if (value != null) {
                    raw.put(key.name(), new Text(value));
                }
            }
        }
        if (overrides != null) {
            // Sorted so that, with several unknown keys, the one reported does not depend on map order.
            for (Map.Entry<String, String> e : new TreeMap<>(overrides).entrySet()) {
                if (!BY_NAME.containsKey(e.getKey())) {
                    throw unknownKey(e.getKey(), "command-line override");
                }
                raw.put(e.getKey(), new Text(e.getValue() == null ? "" : e.getValue()));
            }
        }
        Values values = resolve(raw);
        // A default must not contradict what the operator did set: a lower global cap lowers the per-client share.
        if (!raw.containsKey(ADMISSION_MAX_UPLOADS_PER_CLIENT.name())) {
            int share = Math.min(values.get(ADMISSION_MAX_UPLOADS_PER_CLIENT), values.get(ADMISSION_MAX_CONCURRENT_UPLOADS));
            values.parsed().put(ADMISSION_MAX_UPLOADS_PER_CLIENT.name(), share);
            values.shown().put(ADMISSION_MAX_UPLOADS_PER_CLIENT.name(), String.valueOf(share));
        }
        for (CrossRule rule : CROSS_RULES) {
            if (rule.violated().test(values)) {
                String other = rule.other().name() + " ('" + values.shown().get(rule.other().name()) + "')";
                throw new ConfigException(rule.key().name(),
                        "'" + values.shown().get(rule.key().name()) + "' " + rule.relation().formatted(other));
            }
        }
        return build(values, pipelines(pipelines, values, configFileOrNull), relays(relays, configFileOrNull));
    }

    /** Every dotted key, in documentation order. */
    public static List<String> knownKeys() {
        return KEYS.stream().map(Key::name).toList();
    }

    /**
     * The environment variable read for a dotted key: {@code SLUICE_} + the key with camelCase split into
     * UPPER_SNAKE and dots turned into underscores ({@code limits.maxFileSize -> SLUICE_LIMITS_MAX_FILE_SIZE}).
     * Works for any key, known or not.
     */
    public static String envName(String key) {
        StringBuilder out = new StringBuilder(ENV_PREFIX);
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c == '.' || c == '-') {
                out.append('_');
            } else if (Character.isUpperCase(c)) {
                char prev = i > 0 ? key.charAt(i - 1) : '.';
                if (Character.isLowerCase(prev) || Character.isDigit(prev)) {
                    out.append('_');
                }
                out.append(c);
            } else {
                out.append(Character.toUpperCase(c));
            }
        }
        return out.toString();
    }

    /**
     * The Markdown reference table (key | env variable | default | meaning/rule), generated from the key table so
     * that the README's configuration reference can be checked against it.
     */
    static String referenceTable() {
        StringBuilder out = new StringBuilder();
        out.append("| Key | Environment variable | Default | Meaning / rule |\n");
        out.append("|-----|----------------------|---------|----------------|\n");
        for (Key<?> key : KEYS) {
            String shown = key.shownDefault();
            out.append("| `").append(key.name()).append("` | `").append(key.env()).append("` | ")
                    .append(shown.isEmpty() ? "*(empty)*" : "`" + shown + "`").append(" | ")
                    .append(key.help()).append(" |\n");
        }
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Resolution.

    private static Values resolve(Map<String, Raw> raw) throws ConfigException {
        Map<String, Object> parsed = new LinkedHashMap<>();
        Map<String, String> shown = new LinkedHashMap<>();
        for (Key<?> key : KEYS) {
            Raw given = raw.get(key.name());
            if (given == null) {
                parsed.put(key.name(), key.defaultValue());
                shown.put(key.name(), key.shownDefault());
                continue;
            }
            try {
                parsed.put(key.name(), key.reader().read(given));
            } catch (Rejected r) {
                throw new ConfigException(key.name(),
                        "'" + oneLine(r.value != null ? r.value : given.shown()) + "' " + r.getMessage());
            }
            // A credential is never echoed, not even in another key's message.
            shown.put(key.name(), SECRETS.contains(key) ? showParsed(key, parsed.get(key.name()))
                    : oneLine(given.shown()));
        }
        return new Values(parsed, shown);
    }

    @SuppressWarnings("unchecked") // value was produced by this key's reader
    private static <T> String showParsed(Key<T> key, Object value) {
        return key.show().apply((T) value);
    }

    private static SluiceConfig build(Values v, List<PipelineConfig> pipelines, List<RelayConfig> relays) {
        return new SluiceConfig(
                new ServerConfig(v.get(SERVER_HOST), v.get(SERVER_PORT), v.get(SERVER_ADMIN_PORT),
                        v.get(SERVER_MAX_CONNECTIONS), v.get(SERVER_IDLE_TIMEOUT),
                        v.get(SERVER_MIN_REQUEST_DATA_RATE), v.get(SERVER_SHUTDOWN_GRACE),
                        v.get(SERVER_CORS_ORIGINS), v.get(SERVER_TRUSTED_HOSTS),
                        v.get(SERVER_MAX_REQUEST_HEADER_SIZE),
                        v.get(SERVER_STATIC_DIR).isEmpty() ? null : Path.of(v.get(SERVER_STATIC_DIR)),
                        v.get(SERVER_HEADER_TIMEOUT), v.get(SERVER_MAX_CONNECTIONS_PER_CLIENT)),
                v.get(DATA_DIR),
                new LimitsConfig(v.get(LIMITS_MAX_FILE_SIZE), v.get(LIMITS_MAX_FILES_PER_REQUEST),
                        v.get(LIMITS_MAX_REQUEST_SIZE), v.get(LIMITS_ALLOWED_TYPES), v.get(LIMITS_DISK_RESERVE)),
                new TusConfig(v.get(TUS_BASE_PATH), v.get(TUS_EXPIRY), v.get(TUS_MAX_METADATA_SIZE)),
                new AdmissionConfig(v.get(ADMISSION_MEMORY_HIGH_WATERMARK), v.get(ADMISSION_MEMORY_BUDGET),
                        v.get(ADMISSION_MAX_CONCURRENT_UPLOADS), v.get(ADMISSION_MAX_UPLOADS_PER_CLIENT),
                        v.get(ADMISSION_BUFFER_SIZE), v.get(ADMISSION_RETRY_AFTER),
                        v.get(ADMISSION_QUEUE_TIMEOUT), v.get(ADMISSION_MAX_QUEUED)),
                new LoggingConfig(v.get(LOGGING_LEVEL), v.get(LOGGING_JSON), v.get(LOGGING_MAX_FILE_SIZE),
                        v.get(LOGGING_TOTAL_SIZE_CAP)),
                new JobsConfig(v.get(JOBS_WORKERS), concurrencyLimits(pipelines, v.get(JOBS_WORKERS)),
                        v.get(JOBS_LEASE_DURATION), v.get(JOBS_POLL_INTERVAL), v.get(JOBS_RETENTION),
                        v.get(JOBS_BACKOFF_BASE), v.get(JOBS_BACKOFF_CAP), v.get(JOBS_MAX_ATTEMPTS),
                        v.get(JOBS_TIMEOUT)),
                pipelines, relays,
                new WebhooksConfig(v.get(WEBHOOKS_URLS), v.get(WEBHOOKS_SECRET), v.get(WEBHOOKS_BACKOFF_BASE),
                        v.get(WEBHOOKS_MAX_ATTEMPTS), v.get(WEBHOOKS_PROGRESS_INTERVAL)),
                new AlertsConfig(v.get(ALERTS_ENABLED), v.get(ALERTS_INTERVAL), v.get(ALERTS_FOR),
                        v.get(ALERTS_MEMORY_THRESHOLD), v.get(ALERTS_MIN_AVAILABLE_MEMORY),
                        v.get(ALERTS_UPLOAD_FAILURE_RATE), v.get(ALERTS_UPLOAD_FAILURE_MIN_COUNT),
                        v.get(ALERTS_UPLOAD_FAILURE_WINDOW), v.get(ALERTS_QUEUE_AGE), v.get(ALERTS_WEBHOOK)),
                new PresignConfig(v.get(PRESIGN_EXPIRY), v.get(PRESIGN_SECRET), v.get(PRESIGN_EVENT_TOKEN)),
                storage(v),
                new DatabaseConfig(v.get(DATABASE_URL), v.get(DATABASE_USER), v.get(DATABASE_PASSWORD),
                        v.get(DATABASE_POOL_SIZE), v.get(DATABASE_HEADROOM)),
                new HooksConfig(v.get(HOOKS_PRE_CREATE), v.get(HOOKS_PRE_FINISH), v.get(HOOKS_TIMEOUT),
                        v.get(HOOKS_FAIL_OPEN)),
                new AuthConfig(new JwtConfig(v.get(AUTH_JWT_HMAC_SECRET), v.get(AUTH_JWT_JWKS_URL),
                        v.get(AUTH_JWT_ISSUER), v.get(AUTH_JWT_AUDIENCE), v.get(AUTH_JWT_MAX_LIFETIME),
                        v.get(AUTH_JWT_JWKS_REFETCH_INTERVAL))));
    }

    private static StorageConfig storage(Values v) {
        if (v.get(STORAGE_TYPE) == StorageConfig.Type.LOCAL) {
            return StorageConfig.LOCAL;
        }
        String endpoint = v.get(STORAGE_S3_ENDPOINT);
        return new StorageConfig(StorageConfig.Type.S3, new S3Settings(
                endpoint.isEmpty() ? null : URI.create(endpoint), v.get(STORAGE_S3_REGION), v.get(STORAGE_S3_BUCKET),
                v.get(STORAGE_S3_ACCESS_KEY), v.get(STORAGE_S3_SECRET_KEY), v.get(STORAGE_S3_PATH_STYLE),
                v.get(STORAGE_S3_PREFIX), v.get(STORAGE_S3_PART_SIZE), v.get(STORAGE_DOWNLOADS),
                v.get(STORAGE_PRESIGN_EXPIRY)));
    }

    /** Only pipelines held below {@code jobs.workers} need an entry; the others may use every worker. */
    private static Map<String, Integer> concurrencyLimits(List<PipelineConfig> pipelines, int workers) {
        Map<String, Integer> limits = new LinkedHashMap<>();
        for (PipelineConfig p : pipelines) {
            if (p.concurrency() < workers) {
                limits.put(p.name(), p.concurrency());
            }
        }
        return limits;
    }

    /** Values come from files and environments: keep the message on one line and of sane length. */
    private static String oneLine(String value) {
        String flat = value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t");
        return flat.length() <= MAX_SHOWN_VALUE ? flat : flat.substring(0, MAX_SHOWN_VALUE) + "...";
    }

    // ---------------------------------------------------------------------------------------------------------
    // YAML.

    /** A YAML file: its dotted keys, and the {@code pipelines:} section (null when absent), read separately. */
    private record YamlFile(Map<String, Raw> keys, JsonNode pipelines, JsonNode relays) {
    }

    private static YamlFile readYaml(Path file) throws ConfigException {
        if (!Files.exists(file)) {
            throw new ConfigException(CONFIG_FILE_KEY, "file not found: " + file);
        }
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(CONFIG_FILE_KEY, "not a regular file: " + file);
        }
        // A fresh mapper per load: loading happens once, and the loader keeps no shared state.
        YAMLMapper mapper = YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        JsonNode root;
        try {
            root = mapper.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new ConfigException(CONFIG_FILE_KEY, "malformed YAML in " + file + describe(e));
        } catch (IOException e) {
            throw new ConfigException(CONFIG_FILE_KEY, "cannot read " + file + ": " + e.getMessage());
        }
        Map<String, Raw> out = new LinkedHashMap<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return new YamlFile(out, null, null); // an empty file configures nothing
        }
        if (!root.isObject()) {
            throw new ConfigException(CONFIG_FILE_KEY, file + " must hold a mapping of keys, e.g. 'server:'");
        }
        JsonNode pipelines = ((com.fasterxml.jackson.databind.node.ObjectNode) root).remove(PIPELINES);
        JsonNode relays = ((com.fasterxml.jackson.databind.node.ObjectNode) root).remove(RELAY);
        flatten("", root, out, file);
        return new YamlFile(out, pipelines, relays);
    }

    /**
     * " at line N: problem". SnakeYAML's own exception knows where the problem is (Jackson's location is where the
     * parser stood, often the start of the enclosing block) and keeps context and problem apart.
     */
    private static String describe(JsonProcessingException e) {
        int line = 0;
        String problem = null;
        if (e.getCause() instanceof MarkedYAMLException yaml) {
            if (yaml.getProblemMark() != null) {
                line = yaml.getProblemMark().getLine() + 1;
            }
            problem = yaml.getProblem();
        }
        JsonLocation at = e.getLocation();
        if (line == 0 && at != null && at.getLineNr() > 0) {
            line = at.getLineNr();
        }
        if (problem == null || problem.isBlank()) {
            problem = e.getOriginalMessage() == null ? e.getClass().getSimpleName()
                    : e.getOriginalMessage().lines().findFirst().orElse("");
        }
        return (line > 0 ? " at line " + line : "") + ": " + oneLine(problem.strip());
    }

    private static void flatten(String prefix, JsonNode node, Map<String, Raw> out, Path file)
            throws ConfigException {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String name = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            JsonNode value = field.getValue();
            boolean known = BY_NAME.containsKey(name);
            if (!known && isSection(name)) {
                if (value.isObject()) {
                    flatten(name, value, out, file);
                } else if (!value.isNull()) { // "server:" with nothing under it is harmless
                    throw new ConfigException(name, "is a section, not a value ('" + oneLine(value.isValueNode() ? value.asText() : value.toString())
                            + "'); put keys below it such as " + keysIn(name).getFirst() + " (in " + file + ")");
                }
                continue;
            }
            if (!known) {
                throw unknownKey(name, file.toString());
            }
            Raw raw;
            if (value.isObject()) {
                throw new ConfigException(name, "expected a value but got a mapping (in " + file + ")");
            } else if (value.isArray()) {
                List<String> items = new ArrayList<>();
                for (JsonNode item : value) {
                    if (item.isContainerNode()) {
                        throw new ConfigException(name, "'" + oneLine(item.toString())
                                + "' list items must be plain values (in " + file + ")");
                    }
                    items.add(item.isNull() ? "" : item.asText());
                }
                raw = new Items(items);
            } else {
                raw = new Text(value.isNull() ? "" : value.asText());
            }
            if (out.put(name, raw) != null) {
                throw new ConfigException(name, "is set twice in " + file);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The pipelines: section. Only the YAML file can hold it: a pipeline is a structure (types, options, notify
    // targets), which environment variables and --set cannot express.

    static final String PIPELINES = "pipelines";
    private static final List<String> PIPELINE_FIELDS = List.of("processor", "types", "default", "options",
            "maxAttempts", "timeout", "concurrency", "notify", "isolate", "memory");
    private static final Key<List<String>> PIPELINE_TYPES = list("types", ConfigLoader::mimeType, "");
    private static final Key<List<String>> PIPELINE_NOTIFY = list("notify", ConfigLoader::notifyUrl, "");

    /**
     * Reads {@code pipelines: {<name>: {processor, types, default, options, maxAttempts, timeout, concurrency,
     * notify, isolate, memory}}} in file order. Each processor must be known (ServiceLoader) and accept its options; an option it
     * refuses is reported under {@code pipelines.<name>.options...}.
     */
    private static List<PipelineConfig> pipelines(JsonNode section, Values v, Path file) throws ConfigException {
        if (section == null || section.isNull()) {
            return List.of();
        }
        if (!section.isObject()) {
            throw new ConfigException(PIPELINES, "must map pipeline names to their settings, e.g. "
                    + "'pipelines: {reports: {processor: spreadsheet}}' (in " + file + ")");
        }
        Map<String, Processor> processors = null; // loaded only when a pipeline needs one
        List<PipelineConfig> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : section.properties()) {
            String name = entry.getKey();
            String key = PIPELINES + "." + oneLine(name);
            if (!Processors.NAME.matcher(name).matches()) {
                throw new ConfigException(key, "'" + oneLine(name) + "' is not a pipeline name (lower-case letters, "
                        + "digits and '-', starting with a letter or digit, at most 64 characters)");
            }
            JsonNode body = entry.getValue();
            if (body == null || !body.isObject()) {
                throw new ConfigException(key, "must be a mapping with at least 'processor:' (in " + file + ")");
            }
            for (Map.Entry<String, JsonNode> field : body.properties()) {
                if (!PIPELINE_FIELDS.contains(field.getKey())) {
                    String close = PIPELINE_FIELDS.stream()
                            .filter(f -> levenshtein(normalise(f), normalise(field.getKey())) <= 2)
                            .findFirst().map(f -> "did you mean " + f + "? ").orElse("");
                    throw new ConfigException(key + "." + oneLine(field.getKey()), "unknown key (in " + file + "); "
                            + close + "a pipeline takes " + String.join(", ", PIPELINE_FIELDS));
                }
            }
            String processorName = pipelineValue(body, key, "processor", ConfigLoader::nonBlank, null);
            if (processorName == null) {
                throw new ConfigException(key + ".processor", "is required: the processor that runs this "
                        + "pipeline's jobs (in " + file + ")");
            }
            if (processors == null) {
                try {
                    processors = Processors.available();
                } catch (IllegalStateException e) {
                    throw new ConfigException(key + ".processor", oneLine(e.getMessage()));
                }
            }
            Processor processor = processors.get(processorName);
            if (processor == null) {
                throw new ConfigException(key + ".processor", "'" + oneLine(processorName)
                        + "' is not a known processor (known: " + String.join(", ", processors.keySet()) + ")");
            }
            List<String> types = pipelineList(body, key, PIPELINE_TYPES);
            boolean isDefault = pipelineValue(body, key, "default", ConfigLoader::bool, false);
            int maxAttempts = pipelineValue(body, key, "maxAttempts", integer(1, 100), v.get(JOBS_MAX_ATTEMPTS));
            Duration timeout = pipelineValue(body, key, "timeout", duration(Duration.ofSeconds(1), null),
                    v.get(JOBS_TIMEOUT));
            int workers = v.get(JOBS_WORKERS);
            int concurrency = pipelineValue(body, key, "concurrency", integer(1, Integer.MAX_VALUE), workers);
            if (concurrency > workers) {
                throw new ConfigException(key + ".concurrency", "'" + concurrency + "' must not exceed "
                        + JOBS_WORKERS.name() + " ('" + v.shown().get(JOBS_WORKERS.name()) + "')");
            }
            List<String> notify = pipelineList(body, key, PIPELINE_NOTIFY);
            Map<String, Object> options = options(body.get("options"), key, file);
            configure(processor, options, key);
            // null: the processor's isolatedByDefault() decides when the pipeline is built.
            Boolean isolate = pipelineValue(body, key, "isolate", ConfigLoader::bool, null);
            // A floor of 16 MiB: a JVM with less fails at start-up, which would read as a crash of every job.
            long memory = pipelineValue(body, key, "memory", size(16L * 1024 * 1024, 64L * 1024 * 1024 * 1024),
                    PipelineConfig.DEFAULT_MEMORY);
            out.add(new PipelineConfig(name, processorName, types, isDefault, options, maxAttempts, timeout,
                    concurrency, notify, isolate, memory));
        }
        return List.copyOf(out);
    }

    /** One scalar of a pipeline, read like a top-level key; {@code absent} when missing or null. */
    private static <T> T pipelineValue(JsonNode body, String key, String field, Conv<T> conv, T absent)
            throws ConfigException {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return absent;
        }
        if (node.isContainerNode()) {
            throw new ConfigException(key + "." + field, "expected a value but got '" + oneLine(node.toString())
                    + "'");
        }
        String text = node.asText().strip();
        try {
            return conv.from(text);
        } catch (Rejected r) {
            throw new ConfigException(key + "." + field, "'" + oneLine(r.value != null ? r.value : text) + "' "
                    + r.getMessage());
        }
    }

    /** A list of a pipeline (a YAML sequence or a comma-separated string), read like a top-level list key. */
    private static List<String> pipelineList(JsonNode body, String key, Key<List<String>> list)
            throws ConfigException {
        JsonNode node = body.get(list.name());
        if (node == null || node.isNull()) {
            return List.of();
        }
        Raw raw;
        if (node.isArray()) {
            List<String> items = new ArrayList<>();
            for (JsonNode item : node) {
                if (item.isContainerNode()) {
                    throw new ConfigException(key + "." + list.name(), "'" + oneLine(item.toString())
                            + "' list items must be plain values");
                }
                items.add(item.isNull() ? "" : item.asText());
            }
            raw = new Items(items);
        } else if (node.isObject()) {
            throw new ConfigException(key + "." + list.name(), "expected a list but got a mapping");
        } else {
            raw = new Text(node.asText());
        }
        try {
            return list.reader().read(raw);
        } catch (Rejected r) {
            throw new ConfigException(key + "." + list.name(), "'" + oneLine(r.value != null ? r.value
                    : raw.shown()) + "' " + r.getMessage());
        }
    }

    private static Map<String, Object> options(JsonNode node, String key, Path file) throws ConfigException {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new ConfigException(key + ".options", "must be a mapping of option names to values (in "
                    + file + ")");
        }
        @SuppressWarnings("unchecked") // a YAML mapping converts to a map with string keys
        Map<String, Object> options = new com.fasterxml.jackson.databind.ObjectMapper()
                .convertValue(node, LinkedHashMap.class);
        return options;
    }

    /**
     * Lets the processor judge its options now, so a bad one stops start-up (exit 2) instead of failing every job.
     * Its message names the option ({@code options.maxRows: must be >= 1}); the key becomes
     * {@code pipelines.<name>.options.maxRows}.
     */
    private static void configure(Processor processor, Map<String, Object> options, String key)
            throws ConfigException {
        try {
            processor.configure(options);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage() == null ? "refused its options" : oneLine(e.getMessage());
            int colon = message.indexOf(':');
            if (message.startsWith("options.") && colon > "options.".length()) {
                throw new ConfigException(key + "." + message.substring(0, colon).strip(),
                        message.substring(colon + 1).strip());
            }
            throw new ConfigException(key + ".options", message);
        } catch (RuntimeException e) {
            throw new ConfigException(key + ".options", "processor '" + processor.name()
                    + "' failed on its options: " + oneLine(e.toString()));
        }
    }

    /** Empty (SQLite) or a PostgreSQL JDBC URL; the URL may hold a password, so a refusal does not echo it. */
    private static String databaseUrl(String text) throws Rejected {
        if (!text.isEmpty() && !text.startsWith("jdbc:postgresql:")) {
            String scheme = text.contains(":") && text.startsWith("jdbc:")
                    ? text.substring(0, text.indexOf(':', 5) < 0 ? text.length() : text.indexOf(':', 5)) : "(hidden)";
            throw new Rejected(scheme, "is not supported: database.url must be empty (SQLite in the data "
                    + "directory) or a PostgreSQL URL jdbc:postgresql://host[:port]/database");
        }
        return text;
    }

    private static String secret(String text) throws Rejected {
        if (!text.isEmpty() && text.length() < WebhooksConfig.MIN_SECRET_LENGTH) {
            // The value itself is never echoed: it is a credential.
            throw new Rejected("(hidden)", "must be empty or at least " + WebhooksConfig.MIN_SECRET_LENGTH
                    + " characters long");
        }
        return text;
    }

    private static String jwtSecret(String text) throws Rejected {
        if (!JwtConfig.secretLongEnough(text)) {
            // The value itself is never echoed: it is a credential.
            throw new Rejected("(hidden)", "must be empty or at least " + JwtConfig.MIN_SECRET_BYTES
                    + " bytes long (HS256 needs a key as long as its hash)");
        }
        return text;
    }

    private static String notifyUrl(String text) throws Rejected {
        String rule = "is not an http(s) URL (expected http(s)://host[:port]/path)";
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new Rejected(text, rule);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null || uri.getFragment() != null) {
            throw new Rejected(text, rule);
        }
        return text;
    }

    private static String staticDir(String text) throws Rejected {
        if (text.isEmpty()) {
            return text;
        }
        Path dir = path(text);
        // Checked now: a typo in the path should stop start-up, not turn the landing page into 404s.
        if (!Files.isDirectory(dir)) {
            throw new Rejected("is not an existing directory");
        }
        return text;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The relay: section. Like pipelines, only the YAML file can hold it.

    static final String RELAY = "relay";
    private static final List<String> RELAY_FIELDS = List.of("targets", "timeout", "maxFiles", "maxFileSize",
            "maxConnections");
    private static final Key<List<String>> RELAY_TARGETS = list("targets", ConfigLoader::notifyUrl, "");

    /**
     * Reads {@code relay: {<name>: {targets, timeout, maxFiles, maxFileSize, maxConnections}}} in file order;
     * {@code targets} is required and keeps its order (the failover order).
     */
    private static List<RelayConfig> relays(JsonNode section, Path file) throws ConfigException {
        if (section == null || section.isNull()) {
            return List.of();
        }
        if (!section.isObject()) {
            throw new ConfigException(RELAY, "must map relay names to their settings, e.g. "
                    + "'relay: {ocr: {targets: [http://10.0.0.5:8000/ocr]}}' (in " + file + ")");
        }
        List<RelayConfig> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : section.properties()) {
            String name = entry.getKey();
            String key = RELAY + "." + oneLine(name);
            if (!Processors.NAME.matcher(name).matches()) {
                throw new ConfigException(key, "'" + oneLine(name) + "' is not a relay name (lower-case letters, "
                        + "digits and '-', starting with a letter or digit, at most 64 characters)");
            }
            JsonNode body = entry.getValue();
            if (body == null || !body.isObject()) {
                throw new ConfigException(key, "must be a mapping with at least 'targets:' (in " + file + ")");
            }
            for (Map.Entry<String, JsonNode> field : body.properties()) {
                if (!RELAY_FIELDS.contains(field.getKey())) {
                    String close = RELAY_FIELDS.stream()
                            .filter(f -> levenshtein(normalise(f), normalise(field.getKey())) <= 2)
                            .findFirst().map(f -> "did you mean " + f + "? ").orElse("");
                    throw new ConfigException(key + "." + oneLine(field.getKey()), "unknown key (in " + file + "); "
                            + close + "a relay takes " + String.join(", ", RELAY_FIELDS));
                }
            }
            List<String> targets = pipelineList(body, key, RELAY_TARGETS);
            if (targets.isEmpty()) {
                throw new ConfigException(key + ".targets", "is required: at least one http(s) URL to relay to "
                        + "(in " + file + ")");
            }
            Duration timeout = pipelineValue(body, key, "timeout", duration(Duration.ofMillis(100), null),
                    RelayConfig.DEFAULT_TIMEOUT);
            int maxFiles = pipelineValue(body, key, "maxFiles", integer(0, 1000), RelayConfig.DEFAULT_MAX_FILES);
            long maxFileSize = pipelineValue(body, key, "maxFileSize", size(1, Long.MAX_VALUE),
                    RelayConfig.DEFAULT_MAX_FILE_SIZE);
            int maxConnections = pipelineValue(body, key, "maxConnections", integer(1, 100_000),
                    RelayConfig.DEFAULT_MAX_CONNECTIONS);
            out.add(new RelayConfig(name, targets.stream().map(URI::create).toList(), timeout, maxFiles,
                    maxFileSize, maxConnections));
        }
        return List.copyOf(out);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Unknown keys.

    private static boolean isSection(String name) {
        return KEYS.stream().anyMatch(k -> k.name().startsWith(name + "."));
    }

    private static List<String> keysIn(String section) {
        return KEYS.stream().map(Key::name).filter(n -> n.startsWith(section + ".")).toList();
    }

    private static ConfigException unknownKey(String name, String where) {
        List<String> suggestions = suggest(name);
        String hint;
        if (!suggestions.isEmpty()) {
            hint = "did you mean " + String.join(" or ", suggestions) + "?";
        } else {
            int dot = name.lastIndexOf('.');
            String section = dot < 0 ? "" : name.substring(0, dot);
            hint = isSection(section)
                    ? "known keys in " + section + ": " + String.join(", ", keysIn(section))
                    : "known top-level keys: " + String.join(", ", topLevelNames());
        }
        if (name.equals(PIPELINES) || name.startsWith(PIPELINES + ".")) {
            hint = "pipelines are configured only in the YAML file, as a 'pipelines:' section";
        }
        if (name.equals(RELAY) || name.startsWith(RELAY + ".")) {
            hint = "relays are configured only in the YAML file, as a 'relay:' section";
        }
        return new ConfigException(oneLine(name), "unknown key (" + where + "); " + hint);
    }

    private static Set<String> topLevelNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Key<?> key : KEYS) {
            int dot = key.name().indexOf('.');
            names.add(dot < 0 ? key.name() : key.name().substring(0, dot));
        }
        names.add(PIPELINES);
        names.add(RELAY);
        return names;
    }

    /**
     * Close known keys: a small edit distance after ignoring case, '_' and '-' (typos, snake_case), else the same
     * last segment in another section (e.g. server.maxFileSize).
     */
    static List<String> suggest(String unknown) {
        String wanted = normalise(unknown);
        int best = Integer.MAX_VALUE;
        List<String> close = new ArrayList<>();
        for (Key<?> key : KEYS) {
            String candidate = normalise(key.name());
            int distance = levenshtein(wanted, candidate);
            if (distance > Math.max(2, candidate.length() / 6)) {
                continue;
            }
            if (distance < best) {
                best = distance;
                close.clear();
            }
            if (distance == best) {
                close.add(key.name());
            }
        }
        if (!close.isEmpty()) {
            return List.copyOf(close);
        }
        String last = normalise(unknown.substring(unknown.lastIndexOf('.') + 1));
        return KEYS.stream().map(Key::name)
                .filter(n -> normalise(n.substring(n.lastIndexOf('.') + 1)).equals(last))
                .toList();
    }

    private static String normalise(String key) {
        return key.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    }

    private static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] swap = prev;
            prev = cur;
            cur = swap;
        }
        return prev[b.length()];
    }

    // ---------------------------------------------------------------------------------------------------------
    // Readers and converters. Each Rejected message is the rule, worded to follow "'<value>' ".

    private static <T> Key<T> scalar(String name, T defaultValue, Conv<T> conv, Function<? super T, String> show,
                                     String help) {
        Reader<T> reader = raw -> switch (raw) {
            case Text t -> conv.from(t.text().strip());
            case Items i -> throw new Rejected("must be a single value, not a list");
        };
        return new Key<>(name, defaultValue, reader, show, help);
    }

    /** A list key: a YAML sequence or a comma-separated string; blanks dropped, duplicates removed. */
    private static Key<List<String>> list(String name, Conv<String> element, String help) {
        Reader<List<String>> reader = raw -> {
            List<String> items = switch (raw) {
                case Text t -> List.of(t.text().split(","));
                case Items i -> i.items();
            };
            Set<String> out = new LinkedHashSet<>();
            for (String item : items) {
                String stripped = item.strip();
                if (!stripped.isEmpty()) {
                    out.add(element.from(stripped));
                }
            }
            return List.copyOf(out);
        };
        return new Key<>(name, List.of(), reader, l -> String.join(",", l), help);
    }

    private static String nonBlank(String text) throws Rejected {
        if (text.isEmpty()) {
            throw new Rejected("must not be blank");
        }
        return text;
    }

    private static Path path(String text) throws Rejected {
        nonBlank(text);
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new Rejected("is not a valid path (" + e.getReason() + ")");
        }
    }

    private static final Pattern WHOLE_NUMBER = Pattern.compile("[+-]?\\d+");

    private static Conv<Integer> integer(int min, int max) {
        String range = max == Integer.MAX_VALUE ? "must be at least " + min : "must be between " + min + " and " + max;
        return text -> {
            if (!WHOLE_NUMBER.matcher(text).matches()) {
                throw new Rejected("is not a whole number");
            }
            BigInteger n = new BigInteger(text);
            if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
                throw new Rejected(range);
            }
            return n.intValueExact();
        };
    }

    private static Conv<Long> size(long min, long max) {
        String range = max == Long.MAX_VALUE
                ? (min == 0 ? "must not be negative" : "must be at least " + Units.formatSize(min))
                : "must be between " + Units.formatSize(min) + " and " + Units.formatSize(max);
        return text -> {
            long bytes;
            try {
                bytes = Units.parseSize(text);
            } catch (Units.TooLarge e) {
                throw new Rejected("is too large (at most " + Long.MAX_VALUE + " bytes)");
            } catch (IllegalArgumentException e) {
                if (isNegatedSize(text)) {
                    throw new Rejected(range);
                }
                throw new Rejected("is not a size (examples: 10MB, 512KiB, 5GiB)");
            }
            if (bytes < min || bytes > max) {
                throw new Rejected(range);
            }
            return bytes;
        };
    }

    /** "-5MB" deserves "must be at least ..." rather than "is not a size". */
    private static boolean isNegatedSize(String text) {
        if (!text.startsWith("-")) {
            return false;
        }
        try {
            Units.parseSize(text.substring(1));
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Conv<Integer> intSize(long min, long max) {
        Conv<Long> bytes = size(min, max);
        return text -> Math.toIntExact(bytes.from(text));
    }

    /** Sizes per second: a trailing "/s" is accepted as the natural way to write a rate. */
    private static Conv<Long> rate() {
        Conv<Long> bytes = size(0, Long.MAX_VALUE);
        return text -> {
            String lower = text.toLowerCase(Locale.ROOT);
            return bytes.from(lower.endsWith("/s") ? text.substring(0, text.length() - 2).strip() : text);
        };
    }

    private static Conv<Duration> duration(Duration min, Duration max) {
        String range = max == null
                ? (min.isZero() ? "must not be negative" : "must be at least " + Units.formatDuration(min))
                : "must be between " + Units.formatDuration(min) + " and " + Units.formatDuration(max);
        return text -> {
            if (text.startsWith("-")) {
                throw new Rejected(range);
            }
            Duration d;
            try {
                d = Units.parseDuration(text);
            } catch (Units.TooLarge e) {
                throw new Rejected(range);
            } catch (IllegalArgumentException e) {
                throw new Rejected("is not a duration (examples: 500ms, 30s, 5m, 1m30s)");
            }
            if (d.compareTo(min) < 0 || (max != null && d.compareTo(max) > 0)) {
                throw new Rejected(range);
            }
            return d;
        };
    }

    private static final Pattern FRACTION = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)\\s*(%?)");

    private static double fraction(String text) throws Rejected {
        var m = FRACTION.matcher(text);
        String rule = "must be a fraction above 0 and at most 1, or a percentage (examples: 0.85, 85%)";
        if (!m.matches()) {
            throw new Rejected(rule);
        }
        double value = Double.parseDouble(m.group(1)) / (m.group(2).isEmpty() ? 1 : 100);
        if (!(value > 0 && value <= 1)) {
            throw new Rejected(rule);
        }
        return value;
    }

    /** As {@link #fraction}, 0 allowed: an alert threshold of 0 fires at once (what tests and drills want). */
    private static double fractionOrZero(String text) throws Rejected {
        var m = FRACTION.matcher(text);
        String rule = "must be a fraction from 0 to 1, or a percentage (examples: 0.8, 80%)";
        if (!m.matches()) {
            throw new Rejected(rule);
        }
        double value = Double.parseDouble(m.group(1)) / (m.group(2).isEmpty() ? 1 : 100);
        if (!(value >= 0 && value <= 1)) {
            throw new Rejected(rule);
        }
        return value;
    }

    private static String showFraction(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    private static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");

    private static String level(String text) throws Rejected {
        String upper = text.toUpperCase(Locale.ROOT);
        if (!LEVELS.contains(upper)) {
            throw new Rejected("is not a log level (one of " + String.join(", ", LEVELS) + ")");
        }
        return upper;
    }

    private static boolean bool(String text) throws Rejected {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new Rejected("is not a boolean (true/false, yes/no, 1/0)");
        };
    }

    // Host names per RFC 1123 labels, dotted IPv4 (same shape), or a bracketed IPv6 literal.
    private static final String LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
    private static final String HOST = "(?:" + LABEL + "(?:\\." + LABEL + ")*|\\[[0-9a-f:.]+\\])";
    private static final Pattern ORIGIN = Pattern.compile("https?://" + HOST + "(?::(\\d{1,5}))?");
    private static final Pattern TRUSTED_HOST = Pattern.compile("(?:\\*\\.)?" + HOST + "(?::(\\d{1,5}))?");
    private static final Pattern MIME = Pattern.compile(
            "[a-z0-9][a-z0-9!#$&^_.+-]*/(?:[a-z0-9][a-z0-9!#$&^_.+-]*|\\*)");

    private static final Pattern BASE_PATH = Pattern.compile("(/[A-Za-z0-9._-]+)+/?");

    private static String basePath(String text) throws Rejected {
        if (!BASE_PATH.matcher(text).matches() || text.contains("/./") || text.contains("/../")
                || text.endsWith("/.") || text.endsWith("/..")) {
            throw new Rejected("is not a path like /files/ (segments of letters, digits, '-', '_', '.')");
        }
        String normalized = text.endsWith("/") ? text : text + "/";
        if (normalized.startsWith("/api/") || normalized.startsWith("/health/") || normalized.equals("/metrics/")) {
            throw new Rejected("collides with Sluice's own endpoints (/api/, /health, /metrics)");
        }
        return normalized;
    }

    private static String origin(String text) throws Rejected {
        if (text.equals("*")) {
            return text;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        var m = ORIGIN.matcher(lower);
        if (!m.matches() || !validPort(m.group(1))) {
            throw new Rejected(text, "is not an origin (expected * or http(s)://host[:port], no path)");
        }
        return lower;
    }

    private static String trustedHost(String text) throws Rejected {
        String lower = text.toLowerCase(Locale.ROOT);
        var m = TRUSTED_HOST.matcher(lower);
        if (!m.matches() || !validPort(m.group(1))) {
            throw new Rejected(text, "is not a host name (expected host[:port] or *.example.com, no scheme or path)");
        }
        return lower;
    }

    private static boolean validPort(String port) {
        return port == null || (Integer.parseInt(port) >= 1 && Integer.parseInt(port) <= 65535);
    }

    /** A constant of {@code type}, written in any case ({@code s3}, {@code S3}). */
    private static <E extends Enum<E>> E oneOf(String text, Class<E> type) throws Rejected {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(text)) {
                return e;
            }
        }
        throw new Rejected("is not one of " + java.util.Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }

    private static final Pattern S3_ENDPOINT = Pattern.compile("https?://" + HOST + "(?::(\\d{1,5}))?/?");
    private static final Pattern S3_REGION = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern S3_BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern S3_PREFIX = Pattern.compile("([A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+/?");

    private static String s3Endpoint(String text) throws Rejected {
        if (text.isEmpty()) {
            return text;
        }
        var m = S3_ENDPOINT.matcher(text.toLowerCase(Locale.ROOT));
        if (!m.matches() || !validPort(m.group(1))) {
            throw new Rejected("is not an endpoint URL (expected http(s)://host[:port], no path)");
        }
        return text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
    }

    private static String s3Region(String text) throws Rejected {
        if (!S3_REGION.matcher(text).matches()) {
            throw new Rejected("is not a region name (lower-case letters, digits and '-', e.g. us-east-1)");
        }
        return text;
    }

    private static String s3Bucket(String text) throws Rejected {
        if (!text.isEmpty() && (!S3_BUCKET.matcher(text).matches() || text.contains(".."))) {
            throw new Rejected("is not a bucket name (3..63 characters of a-z, 0-9, '.', '-', starting and ending "
                    + "with a letter or digit)");
        }
        return text;
    }

    private static String s3Prefix(String text) throws Rejected {
        if (text.isEmpty()) {
            return text;
        }
        if (!S3_PREFIX.matcher(text).matches() || text.equals(".") || text.contains("./") || text.startsWith(".")) {
            throw new Rejected("is not a key prefix (segments of letters, digits, '.', '_', '-' separated by '/', "
                    + "no leading '/', no '.' or '..' segments)");
        }
        return text.endsWith("/") ? text : text + "/";
    }

    private static String mimeType(String text) throws Rejected {
        String lower = text.toLowerCase(Locale.ROOT);
        if (!MIME.matcher(lower).matches()) {
            throw new Rejected(text, "is not a MIME type (expected type/subtype, type/* or type/subtype+subtypes, "
                    + "e.g. image/png, image/*, text/plain+subtypes)");
        }
        return lower;
    }
}
