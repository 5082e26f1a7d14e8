package io.sluice.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.ops.alerts.Alerts;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import io.sluice.testing.WebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Alert rules on a real server, each forced by configuration: a 0 % memory threshold, an available-memory floor
 * and a disk reserve no machine has, failed uploads, and a job left waiting behind a pipeline of concurrency 1.
 * Checked: {@code /health/detailed}'s {@code alerts}, exactly one log line per transition, and a signed POST per
 * transition to a receiver on loopback; the rules that can clear (upload failures, queue age) resolve.
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class AlertsTest {

    static final String SECRET = "alerts-secret-0123456789";
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();
    final ListAppender<ILoggingEvent> log = new ListAppender<>();
    final Logger alertsLogger = (Logger) LoggerFactory.getLogger(Alerts.class);

    @BeforeEach
    void captureLog() {
        log.start();
        alertsLogger.addAppender(log);
    }

    @AfterEach
    void closeAll() throws Exception {
        alertsLogger.detachAppender(log);
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private WebhookReceiver receiver() throws Exception {
        return receiver(0);
    }

    /** @param failFirst requests answered 500 before the receiver accepts */
    private WebhookReceiver receiver(int failFirst) throws Exception {
        WebhookReceiver r = new WebhookReceiver(failFirst);
        open.add(r);
        return r;
    }

    private TestServer server(Path config, String... settings) throws Exception {
        List<String> all = new ArrayList<>(List.of("alerts.interval", "100ms", "alerts.for", "0s",
                "webhooks.secret", SECRET));
        all.addAll(List.of(settings));
        TestServer s = TestServer.start(dir.resolve("data"), config, all.toArray(String[]::new));
        open.add(s);
        return s;
    }

    private static JsonNode alert(TestServer s, String name) throws Exception {
        for (JsonNode a : Json.parse(s.get("/health/detailed").body()).path("alerts")) {
            if (a.path("name").asText().equals(name)) {
                return a;
            }
        }
        throw new AssertionError("no alert " + name + " in /health/detailed");
    }

    /** Log lines of {@code level} about {@code rule}'s transition {@code state}, as captured so far. */
    private List<String> lines(Level level, String state, String rule) {
        synchronized (log) {
            return new ArrayList<>(log.list).stream().filter(e -> e.getLevel() == level)
                    .map(ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.startsWith("Alert " + state + ": " + rule + " ")).toList();
        }
    }

    /** The accepted POSTs of {@code type} about {@code rule}; every request received must be signed. */
    private static List<JsonNode> posted(WebhookReceiver r, String type, String rule) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (WebhookReceiver.Received x : r.received) {
            assertThat(x.signedWith(SECRET)).as("signature of " + x).isTrue();
            if (x.answered() / 100 != 2) {
                continue;
            }
            assertThat(x.header("Sluice-Event")).isEqualTo(Json.parse(x.body()).path("type").asText());
            JsonNode body = Json.parse(x.body());
            if (body.path("type").asText().equals(type) && body.path("alert").path("name").asText().equals(rule)) {
                out.add(body);
            }
        }
        return out;
    }

    @Test
    void memoryAvailableMemoryAndDiskFireOnceEachAndArePostedSigned() throws Exception {
        WebhookReceiver receiver = receiver();
        TestServer s = server(null, "alerts.webhook", receiver.url(), "alerts.memoryThreshold", "0",
                "alerts.minAvailableMemory", "1000TiB", "limits.diskReserve", "1000TiB");
        List<String> rules = List.of("memory", "available_memory", "disk");
        Await.until(WAIT, "three alerts posted", () -> receiver.received.size() >= 3);
        // Many more evaluations (every 100 ms) change nothing: no second line, no second POST.
        Await.until(WAIT, "ten more evaluations", () -> {
            Thread.sleep(1000);
            return true;
        });
        for (String rule : rules) {
            JsonNode a = alert(s, rule);
            assertThat(a.path("state").asText()).as(rule).isEqualTo("FIRING");
            assertThat(a.path("since").asText()).as(rule).isNotEmpty();
            assertThat(a.path("value").isNumber()).as(rule).isTrue();
            assertThat(a.path("threshold").isNumber()).as(rule).isTrue();
            assertThat(lines(Level.WARN, "FIRING", rule)).as("WARN lines for " + rule).hasSize(1);
            assertThat(posted(receiver, "alert.firing", rule)).as("POSTs for " + rule).hasSize(1);
        }
        assertThat(alert(s, "memory").path("threshold").asDouble()).isZero();
        assertThat(alert(s, "disk").path("threshold").asDouble()).isEqualTo(1000.0 * (1L << 40));
        assertThat(alert(s, "upload_failures").path("state").asText()).isEqualTo("OK");
        assertThat(alert(s, "queue_age").path("state").asText()).isEqualTo("OK");
        assertThat(receiver.received).hasSize(3);
        // The effective configuration shows the thresholds, not the webhook's URL.
        JsonNode cfg = Json.parse(s.get("/health/detailed").body()).path("config").path("alerts");
        assertThat(cfg.path("memoryThreshold").asDouble()).isZero();
        assertThat(cfg.path("webhook").asBoolean()).isTrue();
        assertThat(cfg.toString()).doesNotContain(receiver.url());
    }

    @Test
    void uploadFailureRateNeedsItsMinimumCountFiresAndResolves() throws Exception {
        // The receiver refuses the first POST: the alert webhook tries again.
        WebhookReceiver receiver = receiver(1);
        TestServer s = server(null, "alerts.webhook", receiver.url(), "alerts.uploadFailureRate", "50%",
                "alerts.uploadFailureMinCount", "4", "limits.maxFileSize", "1KiB");
        byte[] tooBig = new byte[2048];
        byte[] fine = "hello".getBytes(StandardCharsets.UTF_8);

        // One failure out of one is 100 %, but below the minimum count: measured, not firing.
        assertThat(s.put("/api/v1/uploads/a.bin", tooBig).statusCode()).isEqualTo(413);
        Await.until(WAIT, "the failure measured", () -> alert(s, "upload_failures").path("value").asDouble() == 1.0);
        assertThat(alert(s, "upload_failures").path("state").asText()).isEqualTo("OK");

        for (int i = 0; i < 3; i++) {
            assertThat(s.put("/api/v1/uploads/a.bin", tooBig).statusCode()).isEqualTo(413);
        }
        Await.until(WAIT, "firing", () -> alert(s, "upload_failures").path("state").asText().equals("FIRING"));
        Await.until(WAIT, "firing posted", () -> posted(receiver, "alert.firing", "upload_failures").size() == 1);

        // 4 failed of 9: 44 % is under 50 %.
        for (int i = 0; i < 5; i++) {
            assertThat(s.put("/api/v1/uploads/ok.txt", fine).statusCode()).isEqualTo(201);
        }
        Await.until(WAIT, "resolved", () -> alert(s, "upload_failures").path("state").asText().equals("RESOLVED"));
        Await.until(WAIT, "resolution posted",
                () -> posted(receiver, "alert.resolved", "upload_failures").size() == 1);
        JsonNode resolved = posted(receiver, "alert.resolved", "upload_failures").getFirst().path("alert");
        assertThat(resolved.path("state").asText()).isEqualTo("RESOLVED");
        // Resolved at 4 of 8 (not above 50 %) or 4 of 9, depending on when the evaluation ran.
        assertThat(resolved.path("value").asDouble()).isBetween(4.0 / 9, 0.5);
        assertThat(resolved.path("threshold").asDouble()).isEqualTo(0.5);
        assertThat(lines(Level.WARN, "FIRING", "upload_failures")).hasSize(1);
        assertThat(lines(Level.INFO, "RESOLVED", "upload_failures")).hasSize(1);
        assertThat(posted(receiver, "alert.firing", "upload_failures")).hasSize(1);
        assertThat(receiver.received).extracting(WebhookReceiver.Received::answered).containsExactly(500, 204, 204);
        s.assertNothingLeftBehind();
    }

    @Test
    void aJobWaitingLongerThanQueueAgeFiresAndResolvesWhenTheQueueEmpties() throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  slow:
                    processor: test-sleep
                    concurrency: 1
                    options: {lines: 600, delayMillis: 100}
                """);
        TestServer s = server(config, "alerts.queueAge", "1ms");
        String first = job(s, "a.txt");
        String second = job(s, "b.txt");
        // The second waits behind the first (concurrency 1); queue statistics are cached for 5 s.
        Await.until(WAIT, "queue_age firing", () -> alert(s, "queue_age").path("state").asText().equals("FIRING"));
        assertThat(alert(s, "queue_age").path("value").asDouble()).isGreaterThan(0.001);
        for (String id : List.of(second, first)) {
            HttpResponse<String> r = s.send(HttpRequest.newBuilder(s.uri("/api/v1/jobs/" + id + "/cancel"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(r.statusCode()).as(r.body()).isLessThan(300);
        }
        Await.until(WAIT, "queue_age resolved",
                () -> alert(s, "queue_age").path("state").asText().equals("RESOLVED"));
        assertThat(lines(Level.WARN, "FIRING", "queue_age")).hasSize(1);
        assertThat(lines(Level.INFO, "RESOLVED", "queue_age")).hasSize(1);
    }

    private static String job(TestServer s, String name) throws Exception {
        HttpResponse<String> r = s.put("/api/v1/uploads/" + name + "?pipeline=slow",
                "x".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).path("uploads").get(0).path("job").path("id").asText();
    }
}
