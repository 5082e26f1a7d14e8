package io.sluice.ops;

import io.sluice.config.SluiceConfig;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The effective configuration for {@code /health/detailed}. Keys that hold secrets are left out here
 * ({@code webhooks.secret}, {@code database.password}, and the query of {@code database.url}, which may carry one). */
final class ConfigSummary {

    private ConfigSummary() {
    }

    static Map<String, Object> of(SluiceConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        var s = c.server();
        m.put("server", Map.ofEntries(Map.entry("host", s.host()), Map.entry("port", s.port()),
                Map.entry("adminPort", s.adminPort()), Map.entry("maxConnections", s.maxConnections()),
                Map.entry("maxConnectionsPerClient", s.maxConnectionsPerClient()),
                Map.entry("headerTimeout", s.headerTimeout().toString()),
                Map.entry("idleTimeout", s.idleTimeout().toString()),
                Map.entry("minRequestDataRate", s.minRequestDataRate()),
                Map.entry("shutdownGrace", s.shutdownGrace().toString()), Map.entry("corsOrigins", s.corsOrigins()),
                Map.entry("trustedHosts", s.trustedHosts())));
        m.put("dataDir", c.dataDir().toString());
        var l = c.limits();
        m.put("limits", Map.of("maxFileSize", l.maxFileSize(), "maxFilesPerRequest", l.maxFilesPerRequest(),
                "maxRequestSize", l.maxRequestSize(), "allowedTypes", l.allowedTypes(), "diskReserve", l.diskReserve()));
        var a = c.admission();
        m.put("admission", Map.of("memoryHighWatermark", a.memoryHighWatermark(), "memoryBudget", a.memoryBudget(),
                "maxConcurrentUploads", a.maxConcurrentUploads(), "maxUploadsPerClient", a.maxUploadsPerClient(),
                "bufferSize", a.bufferSize(), "retryAfter", a.retryAfter().toString()));
        var j = c.jobs();
        m.put("jobs", Map.of("workers", j.workers(), "leaseDuration", j.leaseDuration().toString(),
                "pollInterval", j.pollInterval().toString(), "retention", j.retention().toString(),
                "backoffBase", j.backoffBase().toString(), "backoffCap", j.backoffCap().toString(),
                "maxAttempts", j.defaultMaxAttempts(), "timeout", j.defaultTimeout().toString()));
        var al = c.alerts();
        // The alert webhook's URL is left out like the notify URLs; whether one is set is enough.
        m.put("alerts", Map.of("enabled", al.enabled(), "interval", al.interval().toString(),
                "for", al.forDuration().toString(), "memoryThreshold", al.memoryThreshold(),
                "minAvailableMemory", al.minAvailableMemory(), "uploadFailureRate", al.uploadFailureRate(),
                "uploadFailureMinCount", al.uploadFailureMinCount(),
                "uploadFailureWindow", al.uploadFailureWindow().toString(), "queueAge", al.queueAge().toString(),
                "webhook", !al.webhook().isEmpty()));
        // Options and notify URLs are left out: they are where credentials (tokens in URLs) will live.
        m.put("pipelines", c.pipelines().stream().map(p -> Map.of("name", p.name(), "processor", p.processor(),
                "types", p.types(), "default", p.isDefault(), "maxAttempts", p.maxAttempts(),
                "timeout", p.timeout().toString(), "concurrency", p.concurrency())).toList());
        // Target URLs are left out for the same reason; their number says enough.
        m.put("relays", c.relays().stream().map(r -> Map.of("name", r.name(), "targets", r.targets().size(),
                "timeout", r.timeout().toString(), "maxFiles", r.maxFiles(), "maxFileSize", r.maxFileSize(),
                "maxConnections", r.maxConnections())).toList());
        var st = c.storage();
        if (st.s3() == null) {
            m.put("storage", Map.of("type", "local"));
        } else {
            var s3 = st.s3();
            // Credentials are left out: only whether static ones are set.
            m.put("storage", Map.of("type", "s3", "endpoint", String.valueOf(s3.endpoint()), "region", s3.region(),
                    "bucket", s3.bucket(), "pathStyle", s3.pathStyle(), "prefix", s3.prefix(),
                    "partSize", s3.partSize(), "staticCredentials", s3.staticCredentials(),
                    "downloads", s3.downloads().name().toLowerCase(Locale.ROOT),
                    "presignExpiry", s3.presignExpiry().toString()));
        }
        var d = c.database();
        int query = d.url().indexOf('?');
        m.put("database", Map.of("kind", d.postgres() ? "postgresql" : "sqlite",
                "url", query < 0 ? d.url() : d.url().substring(0, query), "user", d.user(),
                "poolSize", d.poolSize()));
        return m;
    }
}
