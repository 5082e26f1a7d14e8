package io.sluice.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Json;
import io.sluice.config.HooksConfig;
import io.sluice.notify.Signature;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * The hooks as HTTP calls to the application: a JSON POST signed like webhooks ({@link Signature}, the webhook
 * secret), answered {@code 200} with {@code {"allow": true, ...}} or {@code {"allow": false, "status", "message"}}.
 * The whole call (connection, answer, its body) has {@link HooksConfig#timeout()}; nothing is retried. Every call is
 * timed in {@value #METRIC} by hook and outcome.
 */
public final class HttpUploadHooks implements UploadHooks, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HttpUploadHooks.class);
    /** Prometheus: {@code sluice_hook_duration_seconds{hook,outcome}}. */
    public static final String METRIC = "sluice.hook.duration";
    static final String PRE_CREATE = "preCreate";
    static final String PRE_FINISH = "preFinish";
    /** An answer is a small JSON object; a longer body is a malformed answer, never buffered whole. */
    static final int MAX_ANSWER_BYTES = 64 * 1024;
    static final int MAX_METADATA_ENTRIES = 64;
    static final int MAX_METADATA_KEY = 128;
    static final int MAX_METADATA_VALUE = 8 * 1024;
    static final int MAX_MESSAGE = 1000;
    static final int DEFAULT_REFUSAL_STATUS = 403;

    /** How a call ended, the {@code outcome} tag. */
    enum Outcome {
        ALLOW, REFUSE, ERROR, TIMEOUT;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A call that did not produce a decision. */
    private static final class Failed extends Exception {
        final Outcome outcome;

        Failed(Outcome outcome, String reason) {
            super(reason, null, false, false);
            this.outcome = outcome;
        }
    }

    private final URI preCreate;
    private final URI preFinish;
    private final HooksConfig config;
    private final String secret;
    private final Clock clock;
    private final Predicate<String> knownPipeline;
    private final UnaryOperator<String> filenames;
    private final Map<String, Timer> timers = new LinkedHashMap<>();
    /** Built on the first call, like the webhook sender's: most servers never call a hook. */
    private HttpClient http;

    /**
     * @param secret        the webhook signing secret ({@code webhooks.secret} or the generated one)
     * @param knownPipeline whether a pipeline an answer names is configured (else the answer is malformed)
     * @param filenames     sanitizes a filename an answer gives, throwing {@link ApiException} for an impossible one
     *                      (then the answer is malformed)
     */
    public HttpUploadHooks(HooksConfig config, String secret, Clock clock, MeterRegistry metrics,
                           Predicate<String> knownPipeline, UnaryOperator<String> filenames) {
        this.config = Objects.requireNonNull(config, "config");
        this.secret = Objects.requireNonNull(secret, "secret");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.knownPipeline = Objects.requireNonNull(knownPipeline, "knownPipeline");
        this.filenames = Objects.requireNonNull(filenames, "filenames");
        this.preCreate = config.preCreate().isEmpty() ? null : URI.create(config.preCreate());
        this.preFinish = config.preFinish().isEmpty() ? null : URI.create(config.preFinish());
        for (String hook : new String[] {PRE_CREATE, PRE_FINISH}) {
            for (Outcome o : Outcome.values()) {
                timers.put(hook + "/" + o.tag(), Timer.builder(METRIC)
                        .description("calls of the application's upload hooks, by hook and outcome")
                        .tag("hook", hook).tag("outcome", o.tag()).register(metrics));
            }
        }
    }

    /** {@link #NONE} when no hook is configured, else the HTTP hooks. */
    public static UploadHooks of(HooksConfig config, String secret, Clock clock, MeterRegistry metrics,
                                 Predicate<String> knownPipeline, UnaryOperator<String> filenames) {
        return config.any() ? new HttpUploadHooks(config, secret, clock, metrics, knownPipeline, filenames) : NONE;
    }

    @Override
    public Allowed preCreate(PreCreate upload) {
        if (preCreate == null) {
            return Allowed.AS_ASKED;
        }
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("hook", PRE_CREATE);
        ObjectNode u = body.putObject("upload");
        u.put("filename", upload.filename());
        if (upload.size() == null) {
            u.putNull("size");
        } else {
            u.put("size", upload.size());
        }
        u.put("type", upload.type());
        u.set("metadata", Json.mapper().valueToTree(upload.metadata()));
        u.put("pipeline", upload.pipeline());
        caller(body, upload.caller(), upload.client(), upload.address());
        long start = System.nanoTime();
        try {
            JsonNode answer = call(PRE_CREATE, preCreate, body);
            if (allows(answer)) {
                Allowed allowed = allowed(answer);
                timed(PRE_CREATE, Outcome.ALLOW, start);
                return allowed;
            }
            ApiException refusal = refusal(PRE_CREATE, answer);
            timed(PRE_CREATE, Outcome.REFUSE, start);
            log.info("preCreate hook refused '{}' ({}: {})", upload.filename(), refusal.status(),
                    refusal.getMessage());
            throw refusal;
        } catch (Failed f) {
            timed(PRE_CREATE, f.outcome, start);
            return failed(PRE_CREATE, f, Allowed.AS_ASKED);
        }
    }

    @Override
    public void preFinish(PreFinish upload) {
        if (preFinish == null) {
            return;
        }
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("hook", PRE_FINISH);
        ObjectNode u = body.putObject("upload");
        u.put("id", upload.id());
        u.put("filename", upload.filename());
        u.put("size", upload.size());
        u.put("type", upload.type());
        u.put("sha256", upload.sha256());
        u.set("metadata", Json.mapper().valueToTree(upload.metadata()));
        u.put("pipeline", upload.pipeline());
        caller(body, upload.caller(), upload.client(), null);
        long start = System.nanoTime();
        try {
            JsonNode answer = call(PRE_FINISH, preFinish, body);
            if (allows(answer)) {
                timed(PRE_FINISH, Outcome.ALLOW, start);
                return;
            }
            ApiException refusal = refusal(PRE_FINISH, answer);
            timed(PRE_FINISH, Outcome.REFUSE, start);
            log.info("preFinish hook refused upload {} '{}' ({}: {})", upload.id(), upload.filename(),
                    refusal.status(), refusal.getMessage());
            throw refusal;
        } catch (Failed f) {
            timed(PRE_FINISH, f.outcome, start);
            failed(PRE_FINISH, f, null);
        }
    }

    private static void caller(ObjectNode body, Caller caller, String client, String address) {
        ObjectNode c = body.putObject("caller");
        c.put("keyId", caller.keyId());
        c.put("subject", caller.subject());
        body.put("client", client);
        body.put("address", address);
    }

    /** One POST with the whole call bounded by the timeout; the parsed answer of a 200, else {@link Failed}. */
    private JsonNode call(String hook, URI url, ObjectNode payload) throws Failed {
        byte[] body = Json.bytes(payload);
        HttpRequest request = HttpRequest.newBuilder(url).timeout(config.timeout())
                .header("Content-Type", "application/json")
                .header("User-Agent", "Sluice-Hooks")
                .header("Sluice-Hook", hook)
                .header(Signature.HEADER, Signature.header(secret, clock.millis() / 1000, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        CompletableFuture<HttpResponse<byte[]>> sent = http().sendAsync(request,
                HttpResponse.BodyHandlers.limiting(HttpResponse.BodyHandlers.ofByteArray(), MAX_ANSWER_BYTES));
        HttpResponse<byte[]> response;
        try {
            response = sent.get(config.timeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            sent.cancel(true);
            throw new Failed(Outcome.TIMEOUT, "no answer within " + config.timeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            sent.cancel(true);
            Thread.currentThread().interrupt();
            throw new Failed(Outcome.ERROR, "interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof HttpTimeoutException) {
                throw new Failed(Outcome.TIMEOUT, "no answer within " + config.timeout().toMillis() + " ms");
            }
            throw new Failed(Outcome.ERROR, cause instanceof IOException && cause.getMessage() != null
                    ? cause.getClass().getSimpleName() + ": " + cause.getMessage() : String.valueOf(cause));
        }
        if (response.statusCode() != 200) {
            throw new Failed(Outcome.ERROR, "answered HTTP " + response.statusCode() + " (a decision is a 200)");
        }
        JsonNode answer;
        try {
            answer = Json.mapper().readTree(response.body());
        } catch (IOException e) {
            throw new Failed(Outcome.ERROR, "answered with a body that is not JSON");
        }
        if (answer == null || !answer.isObject() || !answer.path("allow").isBoolean()) {
            throw new Failed(Outcome.ERROR, "answered without a boolean \"allow\"");
        }
        return answer;
    }

    private static boolean allows(JsonNode answer) {
        return answer.get("allow").booleanValue();
    }

    /** What a preCreate "yes" changes; any part that is not as documented makes the whole answer malformed. */
    private Allowed allowed(JsonNode answer) throws Failed {
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode m = answer.path("metadata");
        if (!m.isMissingNode() && !m.isNull()) {
            if (!m.isObject() || m.size() > MAX_METADATA_ENTRIES) {
                throw malformed("\"metadata\" is not an object of at most " + MAX_METADATA_ENTRIES + " entries");
            }
            for (var e : m.properties()) {
                JsonNode v = e.getValue();
                if (e.getKey().isEmpty() || e.getKey().length() > MAX_METADATA_KEY || !v.isValueNode() || v.isNull()
                        || v.asText().length() > MAX_METADATA_VALUE) {
                    throw malformed("metadata \"" + e.getKey() + "\" is not a key of 1.." + MAX_METADATA_KEY
                            + " characters with a scalar value of at most " + MAX_METADATA_VALUE);
                }
                metadata.put(e.getKey(), v.asText());
            }
        }
        String pipeline = text(answer, "pipeline");
        if (pipeline != null && !knownPipeline.test(pipeline)) {
            throw malformed("names pipeline '" + pipeline + "', which is not configured");
        }
        String filename = text(answer, "filename");
        if (filename != null) {
            try {
                filename = filenames.apply(filename);
            } catch (ApiException e) {
                throw malformed("names an impossible filename (" + e.getMessage() + ")");
            }
        }
        return new Allowed(metadata, pipeline, filename);
    }

    /** A string field, null when absent, null or blank; {@link Failed} when of another type. */
    private static String text(JsonNode answer, String field) throws Failed {
        JsonNode v = answer.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw malformed("\"" + field + "\" is not a string");
        }
        return v.textValue().isBlank() ? null : v.textValue().strip();
    }

    private static ApiException refusal(String hook, JsonNode answer) throws Failed {
        JsonNode s = answer.path("status");
        int status = DEFAULT_REFUSAL_STATUS;
        if (!s.isMissingNode() && !s.isNull()) {
            if (!s.isInt() || s.intValue() < 400 || s.intValue() > 499) {
                throw malformed("a refusal's \"status\" must be a 4xx");
            }
            status = s.intValue();
        }
        String message = text(answer, "message");
        return ErrorCode.HOOK_REFUSED.error(status, message == null ? "the application refused this upload"
                : printable(message), Map.of("hook", hook));
    }

    /** The application's message as one line of bounded length: it goes to the client and into logs. */
    static String printable(String message) {
        StringBuilder out = new StringBuilder(Math.min(message.length(), MAX_MESSAGE));
        message.codePoints().limit(MAX_MESSAGE).forEach(c ->
                out.appendCodePoint(Character.isISOControl(c) || Character.getType(c) == Character.FORMAT ? ' ' : c));
        return out.toString().strip();
    }

    private static Failed malformed(String why) {
        return new Failed(Outcome.ERROR, "answered 200 with a malformed decision: " + why);
    }

    /** A failed call: allowed as asked under {@code failOpen}, else 503 {@code hook_unavailable}. */
    private <T> T failed(String hook, Failed f, T allowed) {
        if (config.failOpen()) {
            log.warn("{} hook call failed ({}); allowed because hooks.failOpen is true", hook, f.getMessage());
            return allowed;
        }
        log.warn("{} hook call failed ({}); the upload is refused 503 {}", hook, f.getMessage(),
                ErrorCode.HOOK_UNAVAILABLE.code());
        throw ErrorCode.HOOK_UNAVAILABLE.error("the application did not decide on this upload ("
                + hook + " hook " + (f.outcome == Outcome.TIMEOUT ? "timed out" : "failed") + "); try again later",
                Map.of("hook", hook), retryAfter());
    }

    private Duration retryAfter() {
        long seconds = Math.max(1, (config.timeout().toMillis() + 999) / 1000);
        return Duration.ofSeconds(seconds);
    }

    private void timed(String hook, Outcome outcome, long startNanos) {
        timers.get(hook + "/" + outcome.tag()).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(config.timeout())
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        }
        return http;
    }

    @Override
    public Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("failOpen", config.failOpen());
        s.put("timeoutMs", config.timeout().toMillis());
        s.put(PRE_CREATE, hookStatus(PRE_CREATE, preCreate));
        s.put(PRE_FINISH, hookStatus(PRE_FINISH, preFinish));
        return s;
    }

    private Map<String, Object> hookStatus(String hook, URI url) {
        Map<String, Object> h = new LinkedHashMap<>();
        // The host only: the path or query may carry the application's token.
        h.put("host", url == null ? null : url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort()));
        Map<String, Object> calls = new LinkedHashMap<>();
        for (Outcome o : Outcome.values()) {
            calls.put(o.tag(), timers.get(hook + "/" + o.tag()).count());
        }
        h.put("calls", calls);
        return h;
    }

    @Override
    public synchronized void close() {
        if (http != null) {
            http.shutdownNow();
        }
    }
}
