package io.sluice.http;

import com.fasterxml.jackson.databind.JsonNode;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The middleware around the routes: request ids, JSON errors, connection cap, trusted hosts, CORS, admin port. */
class HttpLayerTest {

    @TempDir
    Path dir;

    @Test
    void everyResponseCarriesARequestIdAndSaneOnesAreEchoed() throws Exception {
        try (TestServer ts = TestServer.start(dir)) {
            HttpResponse<String> plain = ts.get("/health");
            assertThat(plain.headers().firstValue("X-Request-Id")).get().asString().matches("[A-Za-z0-9]{16,}");

            HttpResponse<String> echoed = ts.send(HttpRequest.newBuilder(ts.uri("/health"))
                    .header("X-Request-Id", "client-42.a_b:c").build());
            assertThat(echoed.headers().firstValue("X-Request-Id")).hasValue("client-42.a_b:c");

            for (String insane : List.of("has space", "x".repeat(129), "semi;colon", "<script>")) {
                HttpResponse<String> r = ts.send(HttpRequest.newBuilder(ts.uri("/health"))
                        .header("X-Request-Id", insane).build());
                assertThat(r.headers().firstValue("X-Request-Id")).get().asString()
                        .isNotEqualTo(insane).matches("[A-Za-z0-9]{16,}");
            }

            HttpResponse<String> notFound = ts.get("/no/such/path");
            assertThat(notFound.statusCode()).isEqualTo(404);
            assertJsonError(notFound, "not_found");
            assertThat(Json.parse(notFound.body()).at("/error/requestId").asText())
                    .isEqualTo(notFound.headers().firstValue("X-Request-Id").orElseThrow());

            HttpResponse<String> notAllowed = ts.send(HttpRequest.newBuilder(ts.uri("/health")).DELETE().build());
            assertThat(notAllowed.statusCode()).isEqualTo(405);
            assertJsonError(notAllowed, "method_not_allowed");
            assertThat(notAllowed.headers().firstValue("Allow")).hasValue("GET");
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void oversizedHeaderIs431Json() throws Exception {
        Logger accessLogger = (Logger) LoggerFactory.getLogger("sluice.access");
        ListAppender<ILoggingEvent> access = new ListAppender<>();
        access.start();
        accessLogger.addAppender(access);
        try (TestServer ts = TestServer.start(dir); RawHttp raw = new RawHttp(ts.port(), 10_000)) {
            raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(64 * 1024) + "\r\n\r\n");
            RawResponse r = raw.readResponse();
            assertThat(r.status()).isEqualTo(431);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            assertThat(Json.errorCode(r.body())).isEqualTo("header_too_large");
            assertThat(r.header("X-Request-Id")).isNotBlank();
            // Jetty answers this before any handler runs; it still gets its one access-log line, with the same id.
            Await.until(Duration.ofSeconds(5), "access-log line for the 431", () -> snapshot(access).stream()
                    .anyMatch(e -> e.getFormattedMessage().startsWith(r.header("X-Request-Id") + " ")
                            && e.getFormattedMessage().contains(" 431 ")));
            ts.assertNothingLeftBehind();
        } finally {
            accessLogger.detachAppender(access);
        }
    }

    @Test
    void oversizedRequestLineIs414Json() throws Exception {
        // Jetty refuses a request target longer than the header limit before any handler runs; the README lists
        // the code it gets (uri_too_long) since the error registry documents every code the server answers.
        try (TestServer ts = TestServer.start(dir); RawHttp raw = new RawHttp(ts.port(), 10_000)) {
            raw.send("GET /health?" + "a".repeat(64 * 1024) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            RawResponse r = raw.readResponse();
            assertThat(r.status()).isEqualTo(414);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            assertThat(Json.errorCode(r.body())).isEqualTo("uri_too_long");
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void garbageRequestLineIs400Json() throws Exception {
        try (TestServer ts = TestServer.start(dir); RawHttp raw = new RawHttp(ts.port(), 10_000)) {
            raw.send("THIS IS NOT HTTP\r\n\r\n");
            RawResponse r = raw.readResponse();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.header("Content-Type")).startsWith("application/json");
            assertThat(Json.errorCode(r.body())).isEqualTo("bad_request");
            assertThat(r.header("X-Request-Id")).isNotBlank();
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void connectionsPastTheCapGet503ButHealthStillAnswers() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.maxConnections", "2")) {
            List<RawHttp> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    RawHttp c = new RawHttp(ts.port(), 10_000);
                    idle.add(c);
                    assertThat(get(c, "/health").status()).isEqualTo(200);
                }
                try (RawHttp third = new RawHttp(ts.port(), 10_000)) {
                    RawResponse health = get(third, "/health");
                    assertThat(health.status()).as("liveness past the cap").isEqualTo(200);
                    RawResponse ready = get(third, "/health/ready");
                    // Every slot is taken: the pod should leave the load balancer until connections drain.
                    assertThat(ready.status()).as("readiness past the cap").isEqualTo(503);
                    assertThat(Json.parse(ready.body()).at("/checks/connections").asText()).isEqualTo("EXHAUSTED");

                    RawResponse refused = get(third, "/api/v1/uploads");
                    assertThat(refused.status()).isEqualTo(503);
                    assertThat(Json.errorCode(refused.body())).isEqualTo("too_many_connections");
                    assertThat(Long.parseLong(refused.header("Retry-After"))).isGreaterThanOrEqualTo(1);
                    assertThat(refused.header("X-Request-Id")).isNotBlank();
                    assertThat(refused.header("Connection")).containsIgnoringCase("close");
                    assertThat(third.closedByServer()).isTrue();
                }
                // The connections within the cap are served normally.
                assertThat(get(idle.getFirst(), "/api/v1/uploads").status()).isEqualTo(200);
            } finally {
                for (RawHttp c : idle) {
                    c.close();
                }
            }
            // Below the cap again, a new connection is served and readiness recovers.
            Await.until(Duration.ofSeconds(10), "closed connections counted down",
                    () -> openConnections(ts) == 0);
            try (RawHttp again = new RawHttp(ts.port(), 10_000)) {
                assertThat(get(again, "/health/ready").status()).isEqualTo(200);
                assertThat(get(again, "/api/v1/uploads").status()).isEqualTo(200);
            }
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void untrustedHostIs400AndTrustedPasses() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.trustedHosts", "good.example")) {
            try (RawHttp raw = new RawHttp(ts.port(), 10_000)) {
                RawResponse bad = withHost(raw, "/api/v1/uploads", "bad.example");
                assertThat(bad.status()).isEqualTo(400);
                assertThat(Json.errorCode(bad.body())).isEqualTo("untrusted_host");
                assertThat(bad.header("X-Request-Id")).isNotBlank();
            }
            try (RawHttp raw = new RawHttp(ts.port(), 10_000)) {
                // Kubernetes probes send the pod IP as Host: health must answer them.
                assertThat(withHost(raw, "/health", "10.1.2.3:8080").status()).isEqualTo(200);
            }
            try (RawHttp raw = new RawHttp(ts.port(), 10_000)) {
                RawResponse good = withHost(raw, "/api/v1/uploads", "good.example");
                assertThat(good.status()).as(good.body()).isEqualTo(200);
                assertThat(withHost(raw, "/health", "GOOD.example:8080").status()).isEqualTo(200);
            }
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void trustedHostEntriesWithPortsWildcardsAndIpv6() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.trustedHosts",
                "*.apps.example, api.example:8443, [::1]:9000, [fd00::5]")) {
            Map<String, Integer> expected = new LinkedHashMap<>();
            expected.put("x.apps.example", 200);
            expected.put("a.b.apps.example:81", 200);
            expected.put("apps.example", 400);
            expected.put("evilapps.example", 400);
            expected.put("api.example:8443", 200);
            expected.put("api.example:8444", 400);
            expected.put("api.example", 400);
            expected.put("[::1]:9000", 200);
            expected.put("[::1]:9001", 400);
            expected.put("[fd00::5]", 200);
            expected.put("[fd00::5]:1234", 200);
            for (Map.Entry<String, Integer> e : expected.entrySet()) {
                try (RawHttp raw = new RawHttp(ts.port(), 10_000)) {
                    RawResponse r = withHost(raw, "/api/v1/uploads", e.getKey());
                    assertThat(r.status()).as("Host: %s -> %s", e.getKey(), r.body()).isEqualTo(e.getValue());
                    if (r.status() == 400) {
                        assertThat(Json.errorCode(r.body())).isEqualTo("untrusted_host");
                    }
                }
            }
            ts.assertNothingLeftBehind();
        }
    }

    private static RawResponse withHost(RawHttp c, String path, String host) throws IOException {
        return c.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").readResponse();
    }

    @Test
    void corsPreflightAnsweredOnlyForConfiguredOrigins() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.corsOrigins", "https://app.example")) {
            HttpResponse<String> allowed = preflight(ts, "https://app.example");
            assertThat(allowed.statusCode()).isBetween(200, 204);
            assertThat(allowed.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://app.example");
            assertThat(allowed.headers().firstValue("Access-Control-Allow-Methods")).get().asString().contains("PUT");

            HttpResponse<String> other = preflight(ts, "https://evil.example");
            assertThat(other.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();

            HttpResponse<String> simple = ts.send(HttpRequest.newBuilder(ts.uri("/api/v1/uploads"))
                    .header("Origin", "https://app.example").build());
            assertThat(simple.statusCode()).isEqualTo(200);
            assertThat(simple.headers().firstValue("Access-Control-Allow-Origin")).hasValue("https://app.example");
            assertThat(simple.headers().firstValue("Access-Control-Expose-Headers")).get().asString()
                    .containsIgnoringCase("X-Request-Id");
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void adminPortServesHealthAndMetricsOnlyAndIgnoresTheConnectionCap() throws Exception {
        try (TestServer ts = startWithAdminPort(dir, "server.maxConnections", "1")) {
            int admin = ts.app().adminPort();
            assertThat(admin).isPositive().isNotEqualTo(ts.port());
            try (RawHttp holder = new RawHttp(ts.port(), 10_000)) {
                // Answered, so counted: only then does the next connection arrive past the cap.
                assertThat(get(holder, "/health").status()).isEqualTo(200);
                try (RawHttp over = new RawHttp(ts.port(), 10_000)) {
                    RawResponse refused = get(over, "/api/v1/uploads");
                    assertThat(refused.status()).as("public port saturated").isEqualTo(503);
                }

                for (int i = 0; i < 3; i++) {
                    HttpResponse<String> health = ts.send(HttpRequest.newBuilder(adminUri(admin, "/health")).build());
                    assertThat(health.statusCode()).isEqualTo(200);
                    assertThat(health.headers().firstValue("X-Request-Id")).isPresent();
                }
                // The admin port answers although the public one is saturated, and says that it is.
                HttpResponse<String> ready = ts.send(HttpRequest.newBuilder(adminUri(admin, "/health/ready")).build());
                assertThat(ready.statusCode()).isEqualTo(503);
                assertThat(Json.parse(ready.body()).at("/reason").asText()).contains("connections exhausted");
                HttpResponse<String> detailed = ts.send(HttpRequest.newBuilder(adminUri(admin, "/health/detailed"))
                        .build());
                assertThat(detailed.statusCode()).isEqualTo(200);
                assertThat(Json.parse(detailed.body()).at("/connections/open").asInt()).isGreaterThanOrEqualTo(1);
                HttpResponse<String> metrics = ts.send(HttpRequest.newBuilder(adminUri(admin, "/metrics")).build());
                assertThat(metrics.statusCode()).isEqualTo(200);
                assertThat(metrics.body()).contains("sluice_uploads_active");

                HttpResponse<String> uploads = ts.send(HttpRequest.newBuilder(adminUri(admin, "/api/v1/uploads"))
                        .build());
                assertThat(uploads.statusCode()).isEqualTo(404);
                assertJsonError(uploads, "not_found");
                HttpResponse<String> put = ts.send(HttpRequest.newBuilder(adminUri(admin, "/api/v1/uploads/a.bin"))
                        .PUT(HttpRequest.BodyPublishers.ofString("hello")).build());
                assertThat(put.statusCode()).isEqualTo(404);
            }
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isZero();
        }
    }

    @Test
    void aClientDisconnectingMidUploadIsRoutineNotAWarning() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        root.addAppender(events);
        try (TestServer ts = TestServer.start(dir)) {
            for (int i = 0; i < 3; i++) {
                HeldUpload upload = HeldUpload.start(ts.port(), null, "gone.bin", HeldUpload.bytes(1 << 20, i), 100_000);
                Await.until(Duration.ofSeconds(10), "upload in flight",
                        () -> ts.app().admission().activeUploads() == 1);
                upload.close();
                ts.assertNothingLeftBehind();
            }
            Await.until(Duration.ofSeconds(10), "three aborted uploads logged", () -> snapshot(events).stream()
                    .filter(e -> e.getFormattedMessage().contains("aborted=")).count() == 3);
            assertThat(snapshot(events).stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList())
                    .as("WARN/ERROR lines for routine disconnects").isEmpty();
        } finally {
            root.detachAppender(events);
        }
    }

    static TestServer startWithAdminPort(Path dir, String... settings) throws Exception {
        for (int attempt = 0; ; attempt++) {
            int port;
            try (ServerSocket probe = new ServerSocket(0)) {
                port = probe.getLocalPort();
            }
            String[] all = new String[settings.length + 2];
            all[0] = "server.adminPort";
            all[1] = String.valueOf(port);
            System.arraycopy(settings, 0, all, 2, settings.length);
            try {
                return TestServer.start(dir, all);
            } catch (IOException e) {
                // Another process took the free port between the probe and the bind: try another.
                if (attempt >= 4 || !(e instanceof BindException || e.getCause() instanceof BindException)) {
                    throw e;
                }
            }
        }
    }

    private static URI adminUri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static int openConnections(TestServer ts) throws Exception {
        try (RawHttp probe = new RawHttp(ts.port(), 10_000)) {
            JsonNode d = Json.parse(get(probe, "/health/detailed").body());
            return d.at("/connections/open").asInt() - 1; // minus the probe itself
        }
    }

    private static HttpResponse<String> preflight(TestServer ts, String origin) throws Exception {
        return ts.send(HttpRequest.newBuilder(ts.uri("/api/v1/uploads/a.bin"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "PUT")
                .header("Access-Control-Request-Headers", "content-type")
                .build());
    }

    static RawResponse get(RawHttp c, String path) throws IOException {
        return c.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").readResponse();
    }

    private static void assertJsonError(HttpResponse<String> r, String code) {
        assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("application/json");
        assertThat(Json.errorCode(r.body())).isEqualTo(code);
        assertThat(r.headers().firstValue("X-Request-Id")).isPresent();
    }

    /** AppenderBase appends under its own monitor: copying under it never races a server thread that logs. */
    private static java.util.List<ILoggingEvent> snapshot(ListAppender<ILoggingEvent> appender) {
        synchronized (appender) {
            return java.util.List.copyOf(appender.list);
        }
    }
}
