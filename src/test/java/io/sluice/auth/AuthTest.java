package io.sluice.auth;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Authentication over real HTTP: open mode, Bearer keys, revocation, admin-only endpoints, what stays open, the
 * SSE {@code access_token}, and a server bound to every address with no keys.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class AuthTest {

    @TempDir
    Path dir;

    @Test
    void openModeOnLoopbackUntilTheFirstKeyThenKeysAreRequired() throws Exception {
        ListAppender<ILoggingEvent> log = capture();
        try (TestServer server = TestServer.start(dir)) {
            assertThat(messages(log, Level.INFO)).anyMatch(m -> m.startsWith("Open mode"));
            AuthTestSupport http = new AuthTestSupport(server);
            // Open mode: no keys, loopback: everything works without a key, and what it creates has no owner.
            String openUpload = http.put(null, "open.txt", "hello".getBytes());
            assertThat(http.get("/api/v1/uploads/" + openUpload, null).statusCode()).isEqualTo(200);
            assertThat(http.get("/metrics", null).statusCode()).isEqualTo(200);

            AuthTestSupport.Key admin = http.create(null, "{\"name\":\"ops\",\"admin\":true}");
            AuthTestSupport.Key user = http.create(admin.secret(), "{\"name\":\"app\"}");
            assertThat(messages(log, Level.INFO)).anyMatch(m -> m.startsWith("API keys required"));

            // From now on a key is needed.
            http.refused(http.get("/api/v1/uploads", null), 401, "unauthorized");
            http.refused(http.send("PUT", "/api/v1/uploads/x.txt", null, "x".getBytes()), 401, "unauthorized");
            http.refused(http.get("/api/v1/uploads", "not-a-key"), 401, "unauthorized");
            http.refused(http.get("/api/v1/uploads", "sk_" + user.id() + "_wrongsecretwrongsecretwrongsecret00000000000"),
                    401, "unauthorized");
            http.refused(http.send("GET", "/api/v1/uploads", null, null, "Authorization", "Basic dXNlcjpwYXNz"),
                    401, "unauthorized");
            http.refused(http.send("POST", "/files", null, null, "Tus-Resumable", "1.0.0", "Upload-Length", "5"),
                    401, "unauthorized");
            assertThat(http.get("/api/v1/uploads", user.secret()).statusCode()).isEqualTo(200);
            // The open-mode upload has no owner: only an admin sees it.
            http.refused(http.get("/api/v1/uploads/" + openUpload, user.secret()), 404, "not_found");
            assertThat(http.get("/api/v1/uploads/" + openUpload, admin.secret()).statusCode()).isEqualTo(200);

            // Probes stay open; details and metrics need an admin key.
            assertThat(http.get("/health", null).statusCode()).isEqualTo(200);
            assertThat(http.get("/health/ready", null).statusCode()).isEqualTo(200);
            http.refused(http.get("/health/detailed", null), 401, "unauthorized");
            http.refused(http.get("/health/detailed", user.secret()), 403, "forbidden");
            assertThat(http.get("/health/detailed", admin.secret()).statusCode()).isEqualTo(200);
            http.refused(http.get("/metrics", user.secret()), 403, "forbidden");
            assertThat(http.get("/metrics", admin.secret()).statusCode()).isEqualTo(200);

            // Key management is for admins only, and never shows a secret.
            http.refused(http.get("/api/v1/keys", user.secret()), 403, "forbidden");
            http.refused(http.send("POST", "/api/v1/keys", user.secret(), "{\"name\":\"x\"}".getBytes(),
                    "Content-Type", "application/json"), 403, "forbidden");
            http.refused(http.send("DELETE", "/api/v1/keys/" + admin.id(), user.secret(), null), 403, "forbidden");
            http.refused(http.send("POST", "/api/v1/keys", admin.secret(), "{\"admin\":true}".getBytes(),
                    "Content-Type", "application/json"), 400, "invalid_key_spec");
            HttpResponse<String> list = http.get("/api/v1/keys", admin.secret());
            assertThat(list.statusCode()).isEqualTo(200);
            assertThat(Json.parse(list.body()).path("keys")).hasSize(2);
            assertThat(list.body()).doesNotContain(user.secret()).doesNotContain(admin.secret())
                    .doesNotContain("hash");
            http.refused(http.send("DELETE", "/api/v1/keys/01ARZ3NDEKTSV4RRFFQ69G5FAV", admin.secret(), null),
                    404, "not_found");

            // Revocation takes effect within the key cache period.
            assertThat(http.send("DELETE", "/api/v1/keys/" + user.id(), admin.secret(), null).statusCode())
                    .isEqualTo(204);
            Await.until(Duration.ofSeconds(10), "the revoked key is refused",
                    () -> http.get("/api/v1/uploads", user.secret()).statusCode() == 401);
            http.refused(http.get("/api/v1/uploads", user.secret()), 401, "unauthorized");
            assertThat(http.get("/api/v1/uploads", admin.secret()).statusCode()).isEqualTo(200);
            server.assertNothingLeftBehind();
        } finally {
            release(log);
        }
    }

    @Test
    void accessTokenWorksForEventStreamsOnly() throws Exception {
        try (TestServer server = TestServer.start(dir)) {
            AuthTestSupport http = new AuthTestSupport(server);
            AuthTestSupport.Key admin = http.create(null, "{\"name\":\"ops\",\"admin\":true}");
            AuthTestSupport.Key user = http.create(admin.secret(), "{\"name\":\"browser\"}");

            HttpResponse<InputStream> stream = server.client().send(http.request(
                    "/api/v1/events?access_token=" + user.secret(), null).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = stream.body()) {
                assertThat(stream.statusCode()).isEqualTo(200);
                assertThat(stream.headers().firstValue("Content-Type")).hasValueSatisfying(
                        v -> assertThat(v).startsWith("text/event-stream"));
                byte[] first = in.readNBytes("retry:".length());
                assertThat(new String(first, StandardCharsets.UTF_8)).isEqualTo("retry:");
            }
            http.refused(http.get("/api/v1/events?access_token=sk_nope", null), 401, "unauthorized");
            // Anywhere else a token in the URL is not a credential.
            http.refused(http.get("/api/v1/uploads?access_token=" + user.secret(), null), 401, "unauthorized");
            http.refused(http.get("/api/v1/jobs?access_token=" + user.secret(), null), 401, "unauthorized");
            server.assertNothingLeftBehind();
        }
    }

    @Test
    void boundToEveryAddressWithoutKeysEverythingButHealthIsRefused() throws Exception {
        // Bound to 0.0.0.0, but the test only ever talks to 127.0.0.1.
        ListAppender<ILoggingEvent> log = capture();
        try (TestServer server = TestServer.start(dir, "server.host", "0.0.0.0")) {
            assertThat(messages(log, Level.WARN)).anyMatch(m -> m.startsWith("API keys required but none exist"));
            AuthTestSupport http = new AuthTestSupport(server);
            assertThat(http.get("/health", null).statusCode()).isEqualTo(200);
            assertThat(http.get("/health/ready", null).statusCode()).isEqualTo(200);
            http.refused(http.get("/api/v1/uploads", null), 401, "unauthorized");
            http.refused(http.send("PUT", "/api/v1/uploads/a.txt", null, "abc".getBytes()), 401, "unauthorized");
            http.refused(http.send("POST", "/files", null, null, "Tus-Resumable", "1.0.0", "Upload-Length", "3"),
                    401, "unauthorized");
            http.refused(http.get("/api/v1/jobs", null), 401, "unauthorized");
            http.refused(http.get("/api/v1/events", null), 401, "unauthorized");
            http.refused(http.get("/api/v1/keys", null), 401, "unauthorized");
            http.refused(http.send("POST", "/api/v1/keys", null, "{\"name\":\"x\",\"admin\":true}".getBytes(),
                    "Content-Type", "application/json"), 401, "unauthorized");
            http.refused(http.get("/health/detailed", null), 401, "unauthorized");
            http.refused(http.get("/metrics", null), 401, "unauthorized");
            http.refused(http.get("/api/v1/webhooks/deliveries", null), 401, "unauthorized");
            assertThat(server.blobFiles()).isZero();
        } finally {
            release(log);
        }
    }

    private static ListAppender<ILoggingEvent> capture() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((Logger) LoggerFactory.getLogger(Authenticator.class)).addAppender(appender);
        return appender;
    }

    private static void release(ListAppender<ILoggingEvent> appender) {
        ((Logger) LoggerFactory.getLogger(Authenticator.class)).detachAppender(appender);
    }

    /** The messages logged at exactly {@code level} so far. */
    private static List<String> messages(ListAppender<ILoggingEvent> appender, Level level) {
        synchronized (appender) {
            return appender.list.stream().filter(e -> e.getLevel() == level).map(ILoggingEvent::getFormattedMessage)
                    .toList();
        }
    }

    @Test
    void corsPreflightAllowsTheAuthorizationHeader() throws Exception {
        try (TestServer server = TestServer.start(dir, "server.corsOrigins", "https://app.example")) {
            AuthTestSupport http = new AuthTestSupport(server);
            http.create(null, "{\"name\":\"ops\",\"admin\":true}");
            // A preflight carries no credentials: it must be answered, not refused with 401.
            HttpResponse<String> r = http.send("OPTIONS", "/files", null, null, "Origin", "https://app.example",
                    "Access-Control-Request-Method", "POST",
                    "Access-Control-Request-Headers", "authorization,tus-resumable,upload-length");
            assertThat(r.statusCode()).isBetween(200, 204);
            assertThat(r.headers().firstValue("Access-Control-Allow-Headers").orElse("").toLowerCase())
                    .contains("authorization");
            server.assertNothingLeftBehind();
        }
    }
}
