package io.sluice.config;

import io.sluice.jobs.JobsConfig;
import io.sluice.storage.s3.S3Settings;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static io.sluice.config.Readers.*;

/**
 * The key table: every configuration key with its default (a {@code DEFAULT_*} constant of its section's record),
 * reader and range, printed form and help text together, in documentation order ({@link #KEYS}, which is also the
 * order of the README table), and how the section records are built from the parsed values ({@link #build}).
 *
 * <p>Adding a key touches this file only (the constant, its place in {@link #KEYS}, its argument in
 * {@link #build}), plus the field of its section's record. A rule between two keys goes in {@link CrossRules}.
 */
final class ConfigKeys {

    private ConfigKeys() {
    }

    static final Key<String> SERVER_HOST = scalar("server.host", ServerConfig.DEFAULT_HOST,
            Readers::nonBlank, s -> s,
            "Interface address to listen on (`0.0.0.0` for all). Non-blank.");
    static final Key<Integer> SERVER_PORT = scalar("server.port", ServerConfig.DEFAULT_PORT,
            integer(0, 65535), String::valueOf,
            "HTTP port, 0..65535; `0` picks a free port.");
    static final Key<Integer> SERVER_ADMIN_PORT = scalar("server.adminPort", ServerConfig.DEFAULT_ADMIN_PORT,
            integer(0, 65535), String::valueOf,
            "Second port serving only health and metrics, 0..65535; `0` turns it off. Must differ from "
                    + "`server.port`.");
    static final Key<Integer> SERVER_MAX_CONNECTIONS = scalar("server.maxConnections",
            ServerConfig.DEFAULT_MAX_CONNECTIONS, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Maximum open connections, >= 1.");
    static final Key<Integer> SERVER_MAX_CONNECTIONS_PER_CLIENT = scalar("server.maxConnectionsPerClient",
            ServerConfig.DEFAULT_MAX_CONNECTIONS_PER_CLIENT, integer(0, Integer.MAX_VALUE), String::valueOf,
            "Maximum open connections from one peer address, >= 0; further connections from it are closed at "
                    + "once. `0` disables: set it behind a reverse proxy, where every peer is the proxy.");
    static final Key<Duration> SERVER_HEADER_TIMEOUT = scalar("server.headerTimeout",
            ServerConfig.DEFAULT_HEADER_TIMEOUT, duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "Time a request's headers may take to arrive, counted from connection open (first request) or "
                    + "from the request's first byte (later requests on a kept-alive connection); the "
                    + "connection is closed when it passes. >= 1s.");
    static final Key<Duration> SERVER_IDLE_TIMEOUT = scalar("server.idleTimeout",
            ServerConfig.DEFAULT_IDLE_TIMEOUT, duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "Time an idle connection is kept open, >= 1s.");
    static final Key<Long> SERVER_MIN_REQUEST_DATA_RATE = scalar("server.minRequestDataRate",
            ServerConfig.DEFAULT_MIN_REQUEST_DATA_RATE, rate(), Units::formatSize,
            "Bytes per second below which a request body upload is cut (`1KiB`, `1024` or `1KiB/s`); "
                    + "`0` disables. >= 0.");
    static final Key<Duration> SERVER_SHUTDOWN_GRACE = scalar("server.shutdownGrace",
            ServerConfig.DEFAULT_SHUTDOWN_GRACE, duration(Duration.ZERO, null), Units::formatDuration,
            "How long shutdown waits for requests in flight, >= 0.");
    static final Key<List<String>> SERVER_CORS_ORIGINS = list("server.corsOrigins",
            Readers::origin,
            "Origins allowed for CORS: `*` or `http(s)://host[:port]`; empty disables CORS. List.");
    static final Key<List<String>> SERVER_TRUSTED_HOSTS = list("server.trustedHosts",
            Readers::trustedHost,
            "Accepted `Host` header names: `host[:port]`, `*.example.com` wildcards allowed, no scheme or path; "
                    + "empty accepts any. List.");
    static final Key<Integer> SERVER_MAX_REQUEST_HEADER_SIZE = scalar("server.maxRequestHeaderSize",
            ServerConfig.DEFAULT_MAX_REQUEST_HEADER_SIZE, intSize(1L << 10, 1L << 20), n -> Units.formatSize(n),
            "Largest request header block, 1KiB..1MiB.");
    static final Key<String> SERVER_STATIC_DIR = scalar("server.staticDir", "",
            Readers::staticDir, s -> s,
            "Directory of a static site (landing page) served at `/` for GET/HEAD requests no endpoint answers; "
                    + "`index.html` for directories, no listings. Must exist. Empty turns it off.");

    static final Key<Path> DATA_DIR = scalar("dataDir", SluiceConfig.DEFAULT_DATA_DIR,
            Readers::path, Path::toString,
            "Data directory; logs go to `<dataDir>/logs`. A relative path is resolved against the working "
                    + "directory. Non-blank.");

    static final Key<Long> LIMITS_MAX_FILE_SIZE = scalar("limits.maxFileSize",
            LimitsConfig.DEFAULT_MAX_FILE_SIZE, size(1, Long.MAX_VALUE), Units::formatSize,
            "Largest single uploaded file, >= 1 byte.");
    static final Key<Integer> LIMITS_MAX_FILES_PER_REQUEST = scalar("limits.maxFilesPerRequest",
            LimitsConfig.DEFAULT_MAX_FILES_PER_REQUEST, integer(1, 1000), String::valueOf,
            "Files in one upload request, 1..1000.");
    static final Key<Long> LIMITS_MAX_REQUEST_SIZE = scalar("limits.maxRequestSize",
            LimitsConfig.DEFAULT_MAX_REQUEST_SIZE, size(1, Long.MAX_VALUE), Units::formatSize,
            "Largest whole upload request, >= `limits.maxFileSize`.");
    static final Key<List<String>> LIMITS_ALLOWED_TYPES = list("limits.allowedTypes",
            Readers::mimeType,
            "Types accepted after detection from the bytes; empty accepts every type. `image/png` is that type "
                    + "exactly, `image/*` every image type, `text/plain+subtypes` the type and every type Tika "
                    + "derives from it (for text/plain: csv, but also scripts). List, lower-cased.");
    static final Key<Long> LIMITS_DISK_RESERVE = scalar("limits.diskReserve",
            LimitsConfig.DEFAULT_DISK_RESERVE, size(0, Long.MAX_VALUE), Units::formatSize,
            "Free space on the data disk that Sluice never writes into: every writer (uploads of every protocol, "
                    + "S3 spool files, local copies, job attempts) reserves its bytes on one ledger first, and one "
                    + "that would take free space minus what others reserved below this is refused (507 "
                    + "`insufficient_storage`, or a retryable job failure). >= 0.");

    static final Key<Double> ADMISSION_MEMORY_HIGH_WATERMARK = scalar("admission.memoryHighWatermark",
            AdmissionConfig.DEFAULT_MEMORY_HIGH_WATERMARK, Readers::fraction, Readers::showFraction,
            "Fraction (`0.85`) or percentage (`85%`) of each memory limit (heap, direct, cgroup, host) above "
                    + "which new uploads are refused; > 0 and <= 1 (100%).");
    static final Key<Long> ADMISSION_MEMORY_BUDGET = scalar("admission.memoryBudget",
            AdmissionConfig.DEFAULT_MEMORY_BUDGET, size(0, Long.MAX_VALUE), n -> n == 0 ? "0" : Units.formatSize(n),
            "Upload buffer memory in flight at once; `0` = auto ("
                    + Math.round(AdmissionConfig.AUTO_BUDGET_HEAP_FRACTION * 100) + "% of the heap). "
                    + "Otherwise >= 2 x `admission.bufferSize`: each upload streams through two buffers.");
    static final Key<Integer> ADMISSION_MAX_CONCURRENT_UPLOADS = scalar("admission.maxConcurrentUploads",
            AdmissionConfig.DEFAULT_MAX_CONCURRENT_UPLOADS, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Uploads in progress at once across all clients, >= 1.");
    static final Key<Integer> ADMISSION_MAX_UPLOADS_PER_CLIENT = scalar("admission.maxUploadsPerClient",
            AdmissionConfig.DEFAULT_MAX_UPLOADS_PER_CLIENT, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Uploads in progress at once per client, >= 1 and <= `admission.maxConcurrentUploads`; when unset, the "
                    + "default shrinks to a lower `admission.maxConcurrentUploads`.");
    static final Key<Integer> ADMISSION_BUFFER_SIZE = scalar("admission.bufferSize",
            AdmissionConfig.DEFAULT_BUFFER_SIZE,
            intSize(AdmissionConfig.MIN_BUFFER_SIZE, AdmissionConfig.MAX_BUFFER_SIZE), n -> Units.formatSize(n),
            "Size of one upload buffer, " + Units.formatSize(AdmissionConfig.MIN_BUFFER_SIZE) + ".."
                    + Units.formatSize(AdmissionConfig.MAX_BUFFER_SIZE) + ".");
    static final Key<Duration> ADMISSION_RETRY_AFTER = scalar("admission.retryAfter",
            AdmissionConfig.DEFAULT_RETRY_AFTER, duration(Duration.ofSeconds(1), Duration.ofHours(1)),
            Units::formatDuration,
            "Base of the `Retry-After` answered with 503/429 (jitter is added on top), 1s..1h.");
    static final Key<Duration> ADMISSION_QUEUE_TIMEOUT = scalar("admission.queueTimeout",
            AdmissionConfig.DEFAULT_QUEUE_TIMEOUT, duration(Duration.ZERO, AdmissionConfig.MAX_QUEUE_TIMEOUT),
            Units::formatDuration,
            "How long an upload over its client's share or over the slots waits for one to free before `429`/`503`, "
                    + "0.." + Units.formatDuration(AdmissionConfig.MAX_QUEUE_TIMEOUT) + "; `0` refuses at once. A request "
                    + "with `Expect: 100-continue` waits at most 1s.");
    static final Key<Integer> ADMISSION_MAX_QUEUED = scalar("admission.maxQueued",
            AdmissionConfig.DEFAULT_MAX_QUEUED, integer(0, 1_000_000), String::valueOf,
            "Uploads waiting for a slot at once, 0..1000000 (`0`: no queue); one client may hold at most "
                    + AdmissionConfig.QUEUED_SHARES_PER_CLIENT + " x `admission.maxUploadsPerClient` of them.");

    static final Key<String> LOGGING_LEVEL = scalar("logging.level", LoggingConfig.DEFAULT_LEVEL,
            Readers::level, s -> s,
            "Root log level: TRACE, DEBUG, INFO, WARN or ERROR (case-insensitive).");
    static final Key<Boolean> LOGGING_JSON = scalar("logging.json", LoggingConfig.DEFAULT_JSON,
            Readers::bool, String::valueOf,
            "Console lines as JSON instead of text: true/false, yes/no, 1/0.");
    static final Key<Long> LOGGING_MAX_FILE_SIZE = scalar("logging.maxFileSize",
            LoggingConfig.DEFAULT_MAX_FILE_SIZE, size(1L << 20, Long.MAX_VALUE), Units::formatSize,
            "Size at which the log file in `<dataDir>/logs` rolls, >= 1MiB.");
    static final Key<Long> LOGGING_TOTAL_SIZE_CAP = scalar("logging.totalSizeCap",
            LoggingConfig.DEFAULT_TOTAL_SIZE_CAP, size(0, Long.MAX_VALUE), Units::formatSize,
            "Cap on all rolled log files together, >= `logging.maxFileSize`.");

    static final Key<String> TUS_BASE_PATH = scalar("tus.basePath", TusConfig.DEFAULT_BASE_PATH,
            Readers::basePath, s -> s,
            "Path of the tus / IETF resumable upload endpoint: `/segment[/segment]/`, letters, digits, `-`, `_`, `.`; "
                    + "not under `/api/` or `/health`.");
    static final Key<Duration> TUS_EXPIRY = scalar("tus.expiry", TusConfig.DEFAULT_EXPIRY,
            duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "An unfinished resumable upload is removed this long after its last append (`Upload-Expires`), >= 1s.");
    static final Key<Integer> TUS_MAX_METADATA_SIZE = scalar("tus.maxMetadataSize",
            TusConfig.DEFAULT_MAX_METADATA_SIZE, intSize(256, 64L << 10), n -> Units.formatSize(n),
            "Largest `Upload-Metadata` header, 256..64KiB and below `server.maxRequestHeaderSize`.");

    static final Key<Integer> JOBS_WORKERS = scalar("jobs.workers", JobsConfig.DEFAULT_WORKERS,
            integer(1, 1000), String::valueOf,
            "Jobs running at once in this process, 1..1000. No job starts while memory is above "
                    + "`admission.memoryHighWatermark`.");
    static final Key<Duration> JOBS_LEASE_DURATION = scalar("jobs.leaseDuration",
            JobsConfig.DEFAULT_LEASE_DURATION, duration(Duration.ofSeconds(1), Duration.ofHours(1)),
            Units::formatDuration,
            "A running job's claim lasts this long unless its worker renews it (every third of it); the job of a "
                    + "crashed process is retried once it expires. 1s..1h.");
    static final Key<Duration> JOBS_POLL_INTERVAL = scalar("jobs.pollInterval",
            JobsConfig.DEFAULT_POLL_INTERVAL, duration(Duration.ofMillis(10), Duration.ofHours(1)),
            Units::formatDuration,
            "How often idle workers look for due jobs (an upload in this process wakes them at once), 10ms..1h.");
    static final Key<Duration> JOBS_RETENTION = scalar("jobs.retention", JobsConfig.DEFAULT_RETENTION,
            duration(Duration.ofMinutes(1), null), Units::formatDuration,
            "Finished jobs and their output are deleted this long after they finished, >= 1m.");
    static final Key<Duration> JOBS_BACKOFF_BASE = scalar("jobs.backoffBase",
            JobsConfig.DEFAULT_BACKOFF_BASE, duration(Duration.ofMillis(100), null), Units::formatDuration,
            "Delay before the retry of a failed attempt: the ceiling doubles per attempt from this, up to "
                    + "`jobs.backoffCap`, and the delay is half to all of it. >= 100ms.");
    static final Key<Duration> JOBS_BACKOFF_CAP = scalar("jobs.backoffCap",
            JobsConfig.DEFAULT_BACKOFF_CAP, duration(Duration.ofMillis(100), null), Units::formatDuration,
            "Largest delay between attempts, >= `jobs.backoffBase`.");
    static final Key<Integer> JOBS_MAX_ATTEMPTS = scalar("jobs.maxAttempts", JobsConfig.DEFAULT_MAX_ATTEMPTS,
            integer(1, 100), String::valueOf,
            "Attempts of a job before it fails for good, 1..100; a pipeline's `maxAttempts` overrides it.");
    static final Key<Duration> JOBS_TIMEOUT = scalar("jobs.timeout", JobsConfig.DEFAULT_TIMEOUT,
            duration(Duration.ofSeconds(1), null), Units::formatDuration,
            "Longest run of one attempt, >= 1s; past it the attempt fails with `timeout`. A pipeline's `timeout` "
                    + "overrides it.");

    static final Key<List<String>> WEBHOOKS_URLS = list("webhooks.urls", Readers::notifyUrl,
            "Webhook URLs every event is sent to, after the pipeline's own `notify` URLs; each attempt tries the "
                    + "URLs in order until one answers 2xx.");
    static final Key<String> WEBHOOKS_SECRET = scalar("webhooks.secret", "", Readers::secret,
            s -> s.isEmpty() ? "" : "(set)",
            "HMAC-SHA256 key of the `Sluice-Signature` header, >= 16 characters. Empty: one is generated at first "
                    + "start and kept in `<dataDir>/webhook-secret`.");
    static final Key<Duration> WEBHOOKS_BACKOFF_BASE = scalar("webhooks.backoffBase",
            WebhooksConfig.DEFAULT_BACKOFF_BASE, duration(Duration.ofMillis(10), Duration.ofHours(1)),
            Units::formatDuration,
            "Delay before a failed webhook delivery is tried again; it doubles per attempt up to 1h, with jitter "
                    + "(half to all of it). 10ms..1h.");
    static final Key<Integer> WEBHOOKS_MAX_ATTEMPTS = scalar("webhooks.maxAttempts",
            WebhooksConfig.DEFAULT_MAX_ATTEMPTS, integer(1, 100), String::valueOf,
            "Attempts of a webhook delivery before it is marked failed (it can still be redelivered), 1..100.");
    static final Key<Duration> WEBHOOKS_PROGRESS_INTERVAL = scalar("webhooks.progressInterval",
            Duration.ZERO, duration(Duration.ZERO, null), Units::formatDuration,
            "`job.progress` events go to webhooks at most this often per job; 0 (the default): never (SSE still "
                    + "gets them all).");

    static final Key<Boolean> ALERTS_ENABLED = scalar("alerts.enabled", AlertsConfig.DEFAULT_ENABLED,
            Readers::bool, String::valueOf,
            "Evaluate the alert rules (logged, listed in `/health/detailed`, posted to `alerts.webhook`): "
                    + "true/false.");
    static final Key<Duration> ALERTS_INTERVAL = scalar("alerts.interval", AlertsConfig.DEFAULT_INTERVAL,
            duration(Duration.ofMillis(100), Duration.ofHours(1)), Units::formatDuration,
            "How often the alert rules are evaluated, 100ms..1h.");
    static final Key<Duration> ALERTS_FOR = scalar("alerts.for", AlertsConfig.DEFAULT_FOR,
            duration(Duration.ZERO, Duration.ofHours(24)), Units::formatDuration,
            "How long a rule's condition must hold before it fires, 0..24h; a rule resolves as soon as it clears.");
    static final Key<Double> ALERTS_MEMORY_THRESHOLD = scalar("alerts.memoryThreshold",
            AlertsConfig.DEFAULT_MEMORY_THRESHOLD, Readers::fractionOrZero, Readers::showFraction,
            "Memory alert: used fraction (`0.8`) or percentage (`80%`) of the cgroup limit (working set, as "
                    + "kubelet counts it), else of physical memory (total minus `MemAvailable`); 0..1.");
    static final Key<Long> ALERTS_MIN_AVAILABLE_MEMORY = scalar("alerts.minAvailableMemory",
            AlertsConfig.DEFAULT_MIN_AVAILABLE_MEMORY, size(0, Long.MAX_VALUE), Units::formatSize,
            "Available-memory alert: fires when less than this is available under the memory limit. >= 0.");
    static final Key<Double> ALERTS_UPLOAD_FAILURE_RATE = scalar("alerts.uploadFailureRate",
            AlertsConfig.DEFAULT_UPLOAD_FAILURE_RATE, Readers::fractionOrZero, Readers::showFraction,
            "Upload alert: fires when more than this fraction of upload requests failed over "
                    + "`alerts.uploadFailureWindow`; 0..1.");
    static final Key<Integer> ALERTS_UPLOAD_FAILURE_MIN_COUNT = scalar("alerts.uploadFailureMinCount",
            AlertsConfig.DEFAULT_UPLOAD_FAILURE_MIN_COUNT, integer(1, Integer.MAX_VALUE), String::valueOf,
            "Upload alert: upload requests the window must hold before its rate counts (one failure out of one is "
                    + "not 100 %), >= 1.");
    static final Key<Duration> ALERTS_UPLOAD_FAILURE_WINDOW = scalar("alerts.uploadFailureWindow",
            AlertsConfig.DEFAULT_UPLOAD_FAILURE_WINDOW, duration(Duration.ofSeconds(1), Duration.ofDays(1)),
            Units::formatDuration, "Upload alert: the window of the failure rate, 1s..1d.");
    static final Key<Duration> ALERTS_QUEUE_AGE = scalar("alerts.queueAge", AlertsConfig.DEFAULT_QUEUE_AGE,
            duration(Duration.ofMillis(1), null), Units::formatDuration,
            "Queue alert: fires when the oldest due job has waited longer than this, >= 1ms.");
    static final Key<String> ALERTS_WEBHOOK = scalar("alerts.webhook", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL each alert transition is POSTed to as JSON, signed like webhooks (`Sluice-Signature`); empty: "
                    + "none.");
    static final Key<Duration> PRESIGN_EXPIRY = scalar("presign.expiry", PresignConfig.DEFAULT_EXPIRY,
            duration(Duration.ofSeconds(1), PresignConfig.MAX_EXPIRY), Units::formatDuration,
            "How long a presigned upload URL is valid, 1s..7d; an upload not completed by then is removed with its "
                    + "bytes.");
    static final Key<String> PRESIGN_SECRET = scalar("presign.secret", "", Readers::secret,
            s -> s.isEmpty() ? "" : "(set)",
            "HMAC-SHA256 key of the presigned URLs Sluice signs itself (local storage), >= 16 characters. Empty: one "
                    + "is generated at first start and kept in `<dataDir>/presign-secret`.");
    static final Key<String> PRESIGN_EVENT_TOKEN = scalar("presign.eventToken", "", Readers::secret,
            s -> s.isEmpty() ? "" : "(set)",
            "Bearer token `POST /api/v1/storage/events` requires (S3/MinIO notifications), >= 16 characters. Empty: "
                    + "the endpoint refuses every call.");
    static final Key<StorageConfig.Type> STORAGE_TYPE = scalar("storage.type", StorageConfig.Type.LOCAL,
            text -> oneOf(text, StorageConfig.Type.class), t -> t.name().toLowerCase(Locale.ROOT),
            "Where upload bytes live: `local` (files under `dataDir`) or `s3` (an S3-compatible bucket, "
                    + "`storage.s3.*`).");
    static final Key<String> STORAGE_S3_ENDPOINT = scalar("storage.s3.endpoint", "",
            Readers::s3Endpoint, s -> s,
            "S3 service URL, `http(s)://host[:port]` (MinIO, s3proxy, R2, ...); empty = AWS for "
                    + "`storage.s3.region`.");
    static final Key<String> STORAGE_S3_REGION = scalar("storage.s3.region", S3Settings.DEFAULT_REGION,
            Readers::s3Region, s -> s,
            "Signing region (lower-case letters, digits, `-`).");
    static final Key<String> STORAGE_S3_BUCKET = scalar("storage.s3.bucket", "",
            Readers::s3Bucket, s -> s,
            "Existing bucket name (3..63 of `a-z`, `0-9`, `.`, `-`); required with `storage.type: s3`.");
    static final Key<String> STORAGE_S3_ACCESS_KEY = scalar("storage.s3.accessKey", "",
            text -> text, s -> s,
            "Static access key; empty (with an empty secret key) uses the SDK's default credential chain "
                    + "(environment, profile, instance role).");
    static final Key<String> STORAGE_S3_SECRET_KEY = scalar("storage.s3.secretKey", "",
            text -> text, s -> s.isEmpty() ? "" : "(set)",
            "Static secret key, set together with `storage.s3.accessKey`; never printed.");
    static final Key<Boolean> STORAGE_S3_PATH_STYLE = scalar("storage.s3.pathStyle", false,
            Readers::bool, String::valueOf,
            "Path-style URLs (`host/bucket/key`, for MinIO and s3proxy) instead of virtual-hosted "
                    + "(`bucket.host/key`): true/false.");
    static final Key<String> STORAGE_S3_PREFIX = scalar("storage.s3.prefix", "",
            Readers::s3Prefix, s -> s,
            "Prefix of every object key (`sluice/`), so one bucket can serve several installations; segments of "
                    + "letters, digits, `.`, `_`, `-`. Empty: the bucket's root.");
    static final Key<Long> STORAGE_S3_PART_SIZE = scalar("storage.s3.partSize", S3Settings.DEFAULT_PART_SIZE,
            size(S3Settings.MIN_PART_SIZE, S3Settings.MAX_PART_SIZE), Units::formatSize,
            "Multipart part size, 5MiB..5GiB; each upload in progress spools at most three parts on local disk. "
                    + "S3 allows 10000 parts, so at least `limits.maxFileSize` / 10000.");
    static final Key<S3Settings.Downloads> STORAGE_DOWNLOADS = scalar("storage.downloads",
            S3Settings.Downloads.STREAM, text -> oneOf(text, S3Settings.Downloads.class),
            d -> d.name().toLowerCase(Locale.ROOT),
            "How a finished upload's content is served: `stream` (through Sluice, ranges included) or `redirect` "
                    + "(302 to a presigned GET; needs `storage.type: s3`).");
    static final Key<Duration> STORAGE_PRESIGN_EXPIRY = scalar("storage.presignExpiry",
            S3Settings.DEFAULT_PRESIGN_EXPIRY, duration(Duration.ofSeconds(1), S3Settings.MAX_PRESIGN_EXPIRY),
            Units::formatDuration,
            "Lifetime of a presigned URL Sluice hands out (download redirects), 1s..7d.");
    static final Key<String> DATABASE_URL = scalar("database.url", "", Readers::databaseUrl, s -> s,
            "Empty: SQLite in `<dataDir>/sluice.db`. Otherwise a PostgreSQL JDBC URL "
                    + "(`jdbc:postgresql://host[:port]/database`) that several nodes may share; the same migrations "
                    + "run there. Any other database is refused.");
    static final Key<String> DATABASE_USER = scalar("database.user", "", s -> s, s -> s,
            "PostgreSQL user; empty: the driver's default (or the one in the URL).");
    static final Key<String> DATABASE_PASSWORD = scalar("database.password", "", s -> s,
            s -> s.isEmpty() ? "" : "(set)",
            "PostgreSQL password; empty: none. Never printed or shown in health output.");
    static final Key<Integer> DATABASE_POOL_SIZE = scalar("database.poolSize",
            DatabaseConfig.DEFAULT_POOL_SIZE, integer(1, 1000), String::valueOf,
            "Pooled PostgreSQL connections per process, 1..1000 (the LISTEN connection and the upload-lock "
                    + "session come on top). Unused with SQLite.");
    static final Key<Long> DATABASE_HEADROOM = scalar("database.headroom",
            DatabaseConfig.DEFAULT_HEADROOM, size(0, 1L << 40), n -> n == 0 ? "0" : Units.formatSize(n),
            "Space of the data disk kept for SQLite in `<dataDir>/sluice.db-headroom`, released when a commit "
                    + "finds the disk full (so deletes and key changes still work) and written again once the disk "
                    + "has room; until then uploads and readiness count it as owed. `0` keeps none. Unused with "
                    + "PostgreSQL. 0..1TiB.");

    // hooks: the application's upload hooks (branch hooks, issue 17).
    static final Key<String> HOOKS_PRE_CREATE = scalar("hooks.preCreate", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL POSTed (JSON, signed like webhooks) before an upload is created; its answer allows it (optionally "
                    + "with metadata, a pipeline or a filename) or refuses it with a 4xx status. Empty: none.");
    static final Key<String> HOOKS_PRE_FINISH = scalar("hooks.preFinish", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL POSTed once an upload's bytes are all stored, before it is listed and its job queued; a refusal "
                    + "deletes the bytes and answers the upload's last request. Empty: none.");
    static final Key<Duration> HOOKS_TIMEOUT = scalar("hooks.timeout", HooksConfig.DEFAULT_TIMEOUT,
            duration(HooksConfig.MIN_TIMEOUT, HooksConfig.MAX_TIMEOUT), Units::formatDuration,
            "Longest a hook call may take, connection included, 100ms..60s; past it the call has failed (see "
                    + "`hooks.failOpen`).");
    static final Key<Boolean> HOOKS_FAIL_OPEN = scalar("hooks.failOpen", false, Readers::bool,
            String::valueOf,
            "What a failed hook call (timeout, non-200, malformed answer) does: `false` refuses the upload `503 "
                    + "hook_unavailable`, `true` lets it through as if allowed.");

    // jwt: application-signed upload tokens (issue 17), verified by io.sluice.auth.TokenVerifier.
    static final Key<String> AUTH_JWT_HMAC_SECRET = scalar("auth.jwt.hmacSecret", "",
            Readers::jwtSecret, s -> s.isEmpty() ? "" : "(set)",
            "HS256 key the application signs upload tokens with, >= " + JwtConfig.MIN_SECRET_BYTES + " bytes "
                    + "(shorter is refused at start-up). Empty: HS256 tokens are not accepted.");
    static final Key<String> AUTH_JWT_JWKS_URL = scalar("auth.jwt.jwksUrl", "",
            t -> t.isEmpty() ? t : notifyUrl(t), s -> s,
            "URL of the application's JWKS (RS256/ES256 public keys): fetched, cached, fetched again for an unknown "
                    + "`kid`; a failed fetch keeps the cached keys. Empty: none. With neither this nor "
                    + "`auth.jwt.hmacSecret`, JWTs are not accepted.");
    static final Key<String> AUTH_JWT_ISSUER = scalar("auth.jwt.issuer", "", s -> s, s -> s,
            "The `iss` every upload token must carry; empty: not checked.");
    static final Key<String> AUTH_JWT_AUDIENCE = scalar("auth.jwt.audience", "", s -> s, s -> s,
            "A value the upload token's `aud` must hold; empty: not checked.");
    static final Key<Duration> AUTH_JWT_MAX_LIFETIME = scalar("auth.jwt.maxLifetime",
            JwtConfig.DEFAULT_MAX_LIFETIME, duration(Duration.ofSeconds(1), JwtConfig.MAX_MAX_LIFETIME),
            Units::formatDuration,
            "Longest `exp - iat` of an accepted upload token (one without `iat` is refused), 1s..365d.");
    static final Key<Duration> AUTH_JWT_JWKS_REFETCH_INTERVAL = scalar("auth.jwt.jwksRefetchInterval",
            JwtConfig.DEFAULT_JWKS_REFETCH_INTERVAL, duration(Duration.ofMillis(1), Duration.ofHours(1)),
            Units::formatDuration,
            "Shortest time between two JWKS fetches (a token with an unknown `kid` asks for one), 1ms..1h.");

    /**
     * Every key in documentation order (the README table's order). A new key goes here too, beside its section's
     * keys; a branch adding several keys declares them as one block above, in its section, and lists them here.
     */
    static final List<Key<?>> KEYS = List.of(
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
            HOOKS_PRE_CREATE, HOOKS_PRE_FINISH, HOOKS_TIMEOUT, HOOKS_FAIL_OPEN,
            AUTH_JWT_HMAC_SECRET, AUTH_JWT_JWKS_URL, AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_JWT_MAX_LIFETIME,
            AUTH_JWT_JWKS_REFETCH_INTERVAL);


    /** Credentials: messages show them as {@code (set)} even when another key's rule names them. */
    static final Set<Key<?>> SECRETS = Set.of(WEBHOOKS_SECRET, STORAGE_S3_SECRET_KEY, PRESIGN_SECRET,
            PRESIGN_EVENT_TOKEN, DATABASE_PASSWORD, AUTH_JWT_HMAC_SECRET);

    static final Map<String, Key<?>> BY_NAME =
            KEYS.stream().collect(Collectors.toUnmodifiableMap(Key::name, k -> k));


    /** The section records from the parsed values: each key's value goes to its record's field here. */
    static SluiceConfig build(Values v, List<PipelineConfig> pipelines, List<RelayConfig> relays) {
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

    static StorageConfig storage(Values v) {
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
    static Map<String, Integer> concurrencyLimits(List<PipelineConfig> pipelines, int workers) {
        Map<String, Integer> limits = new LinkedHashMap<>();
        for (PipelineConfig p : pipelines) {
            if (p.concurrency() < workers) {
                limits.put(p.name(), p.concurrency());
            }
        }
        return limits;
    }
}
