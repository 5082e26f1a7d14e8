package io.sluice.notify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import io.sluice.testing.WebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Webhooks end to end: a real server runs the {@code noop} pipeline for an upload and posts {@code upload.completed}
 * and {@code job.succeeded} to a receiver on loopback, which fails the first deliveries; the signature of every
 * request is checked here the way the README tells receivers to.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WebhooksTest {

    static final String SECRET = "test-secret-0123456789";
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private WebhookReceiver receiver(int failFirst) throws Exception {
        WebhookReceiver r = new WebhookReceiver(failFirst);
        open.add(r);
        return r;
    }

    /** A server whose {@code noop} pipeline notifies {@code pipelineUrls}, then {@code webhooks.urls}. */
    private TestServer server(List<String> pipelineUrls, List<String> globalUrls, String backoff, int maxAttempts)
            throws Exception {
        return server(pipelineUrls, globalUrls, backoff, maxAttempts, SECRET);
    }

    /** @param secret null for none configured (one is generated) */
    private TestServer server(List<String> pipelineUrls, List<String> globalUrls, String backoff, int maxAttempts,
                              String secret, String... settings) throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                webhooks:
                  urls: [%s]
                  %s
                  backoffBase: %s
                  maxAttempts: %d
                pipelines:
                  noop:
                    processor: noop
                    notify: [%s]
                  slow:
                    processor: test-sleep
                    options: {lines: 20, delayMillis: 60}
                """.formatted(String.join(", ", globalUrls), secret == null ? "" : "secret: " + secret, backoff, maxAttempts,
                String.join(", ", pipelineUrls)));
        TestServer s = TestServer.start(dir.resolve("data"), config, settings);
        open.add(s);
        return s;
    }

    private static String uploadWithJob(TestServer s, String name) throws Exception {
        return uploadWithJob(s, name, "noop");
    }

    private static String uploadWithJob(TestServer s, String name, String pipeline) throws Exception {
        HttpResponse<String> r = s.put("/api/v1/uploads/" + name + "?pipeline=" + pipeline,
                "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).path("uploads").get(0).path("job").path("id").asText();
    }

    /** The receiver's side of the contract, as documented in the README. */
    static void assertSigned(WebhookReceiver.Received r) throws Exception {
        String header = r.header("Sluice-Signature");
        assertThat(header).matches("t=\\d+,v1=[0-9a-f]{64}");
        String t = header.substring(2, header.indexOf(','));
        String v1 = header.substring(header.indexOf("v1=") + 3);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        byte[] expected = mac.doFinal((t + "." + r.body()).getBytes(StandardCharsets.UTF_8));
        assertThat(MessageDigest.isEqual(expected, HexFormat.of().parseHex(v1))).as("signature of " + r).isTrue();
        assertThat(Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(t))).isLessThan(300);
        JsonNode body = Json.parse(r.body());
        assertThat(body.path("type").asText()).isEqualTo(r.header("Sluice-Event"));
        assertThat(r.header("Sluice-Delivery")).matches("\\d+");
    }

    private static JsonNode deliveries(TestServer s, String query) throws Exception {
        HttpResponse<String> r = s.get("/api/v1/webhooks/deliveries" + query);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body()).path("deliveries");
    }

    @Test
    void failingReceiverGetsEveryEventOnceItAcceptsAndEachRequestIsSigned() throws Exception {
        WebhookReceiver receiver = receiver(3);
        TestServer s = server(List.of(), List.of(receiver.url()), "50ms", 10);
        String jobId = uploadWithJob(s, "a.txt");

        Await.until(WAIT, "both events accepted", () -> receiver.accepted().size() == 2);
        assertThat(receiver.accepted()).extracting(r -> r.header("Sluice-Event"))
                .containsExactlyInAnyOrder("upload.completed", "job.succeeded");
        for (WebhookReceiver.Received r : receiver.received) {
            assertSigned(r);
        }
        JsonNode succeeded = receiver.accepted().stream().map(r -> Json.parse(r.body()))
                .filter(b -> b.path("type").asText().equals("job.succeeded")).findFirst().orElseThrow();
        assertThat(succeeded.path("data").path("job").path("id").asText()).isEqualTo(jobId);
        assertThat(succeeded.path("data").path("job").path("state").asText()).isEqualTo("succeeded");

        Await.until(WAIT, "deliveries recorded as delivered",
                () -> deliveries(s, "?state=delivered").size() == 2);
        JsonNode list = deliveries(s, "?state=delivered");
        int attempts = 0;
        for (JsonNode d : list) {
            attempts += d.path("attempt").asInt();
            assertThat(d.path("lastStatus").asInt()).isEqualTo(204);
            assertThat(d.path("lastUrl").asText()).isEqualTo(receiver.url());
            assertThat(d.path("payload").path("id").asLong()).isEqualTo(d.path("eventId").asLong());
        }
        // Three 500s, then one success each: every request the receiver saw is an attempt the API counts.
        assertThat(attempts).isEqualTo(receiver.received.size()).isEqualTo(5);
        assertThat(deliveries(s, "?state=pending")).isEmpty();
        s.assertNothingLeftBehind();
    }

    @Test
    void aDownUrlFallsBackToTheNextOneInTheSameAttempt() throws Exception {
        WebhookReceiver receiver = receiver(0);
        TestServer s = server(List.of(WebhookReceiver.deadUrl()), List.of(receiver.url()), "1h", 5);
        uploadWithJob(s, "b.txt");

        Await.until(WAIT, "both events accepted", () -> receiver.accepted().size() == 2);
        Await.until(WAIT, "deliveries recorded", () -> deliveries(s, "?state=delivered").size() == 2);
        for (JsonNode d : deliveries(s, "?state=delivered")) {
            // backoffBase is 1h: had the first URL's failure ended the attempt, nothing would be delivered yet.
            assertThat(d.path("attempt").asInt()).isEqualTo(1);
            assertThat(d.path("urls")).hasSize(2);
            assertThat(d.path("lastUrl").asText()).isEqualTo(receiver.url());
        }
        s.assertNothingLeftBehind();
    }

    @Test
    void aFailedDeliveryIsListedAndCanBeRedelivered() throws Exception {
        WebhookReceiver receiver = receiver(Integer.MAX_VALUE);
        TestServer s = server(List.of(), List.of(receiver.url()), "50ms", 2);
        uploadWithJob(s, "c.txt");

        Await.until(WAIT, "both deliveries failed", () -> deliveries(s, "?state=failed").size() == 2);
        JsonNode failed = deliveries(s, "?state=failed").get(0);
        assertThat(failed.path("attempt").asInt()).isEqualTo(2);
        assertThat(failed.path("lastStatus").asInt()).isEqualTo(500);
        assertThat(failed.path("lastError").asText()).isEqualTo("HTTP 500");
        assertThat(failed.has("nextAttemptAt")).isFalse();
        String id = failed.path("id").asText();
        JsonNode one = Json.parse(s.get("/api/v1/webhooks/deliveries/" + id).body());
        assertThat(one.path("state").asText()).isEqualTo("failed");

        receiver.failNext.set(0);
        int before = receiver.received.size();
        HttpResponse<String> r = s.send(HttpRequest.newBuilder(s.uri("/api/v1/webhooks/deliveries/" + id
                + "/redeliver")).POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(Json.parse(r.body()).path("state").asText()).isEqualTo("pending");
        Await.until(WAIT, "redelivered", () -> Json.parse(s.get("/api/v1/webhooks/deliveries/" + id).body())
                .path("state").asText().equals("delivered"));
        assertThat(receiver.received.size()).isEqualTo(before + 1);
        assertSigned(receiver.received.getLast());
        assertThat(receiver.received.getLast().header("Sluice-Delivery")).isEqualTo(id);
        assertThat(deliveries(s, "?state=failed")).hasSize(1);
        assertThat(deliveries(s, "?limit=1").size()).isEqualTo(1);
        s.assertNothingLeftBehind();
    }

    @Test
    void progressGoesToWebhooksOncePerIntervalWhenConfigured() throws Exception {
        WebhookReceiver receiver = receiver(0);
        TestServer s = server(List.of(), List.of(receiver.url()), "50ms", 3, SECRET,
                "webhooks.progressInterval", "1h");
        String jobId = uploadWithJob(s, "slow.txt", "slow");
        Await.until(WAIT, "job.succeeded delivered", () -> receiver.accepted().stream()
                .anyMatch(r -> r.header("Sluice-Event").equals("job.succeeded")));
        // Several progress writes (see the SSE test), one delivery: the interval is an hour.
        List<WebhookReceiver.Received> progress = receiver.accepted().stream()
                .filter(r -> r.header("Sluice-Event").equals("job.progress")).toList();
        assertThat(progress).hasSize(1);
        assertSigned(progress.getFirst());
        assertThat(Json.parse(progress.getFirst().body()).path("data").path("job").path("id").asText())
                .isEqualTo(jobId);
        s.assertNothingLeftBehind();
    }

    @Test
    void badRequestsAreRefused() throws Exception {
        TestServer s = server(List.of(), List.of(), "1s", 3);
        assertError(s.get("/api/v1/webhooks/deliveries?state=bogus"), 400, "invalid_state");
        assertError(s.get("/api/v1/webhooks/deliveries?limit=0"), 400, "invalid_limit");
        assertError(s.get("/api/v1/webhooks/deliveries?cursor=x"), 400, "invalid_cursor");
        assertError(s.get("/api/v1/webhooks/deliveries/12345"), 404, "not_found");
        assertError(s.get("/api/v1/webhooks/deliveries/abc"), 404, "not_found");
        assertError(s.send(HttpRequest.newBuilder(s.uri("/api/v1/webhooks/deliveries/999/redeliver"))
                .POST(HttpRequest.BodyPublishers.noBody()).build()), 404, "not_found");
        // No webhook URL anywhere: events are recorded, nothing is to be delivered.
        uploadWithJob(s, "d.txt");
        assertThat(deliveries(s, "")).isEmpty();
        s.assertNothingLeftBehind();
    }

    @Test
    void aPendingDeliveryIsSentAfterARestart() throws Exception {
        WebhookReceiver receiver = receiver(Integer.MAX_VALUE);
        TestServer s = server(List.of(), List.of(receiver.url()), "2s", 20);
        uploadWithJob(s, "e.txt");
        Await.until(WAIT, "a first failed attempt", () -> receiver.received.size() >= 1);
        s.close();
        open.remove(s);
        assertThat(receiver.accepted()).isEmpty();

        receiver.failNext.set(0);
        TestServer again = TestServer.start(dir.resolve("data"), dir.resolve("sluice.yaml"));
        open.add(again);
        Await.until(WAIT, "both events delivered after the restart", () -> receiver.accepted().size() == 2);
        for (WebhookReceiver.Received r : receiver.received) {
            assertSigned(r);
        }
        Await.until(WAIT, "recorded", () -> deliveries(again, "?state=delivered").size() == 2);
        again.assertNothingLeftBehind();
    }

    @Test
    void theReadmeExampleVerifiesADeliverySignedWithTheGeneratedSecret() throws Exception {
        Assumptions.assumeTrue(python3(), "python3 is needed to run the README's verification example");
        WebhookReceiver receiver = receiver(0);
        TestServer s = server(List.of(), List.of(receiver.url()), "50ms", 3, null);
        Path secretFile = s.dataDir().resolve(WebhookSecret.FILE);
        assertThat(secretFile).exists();
        if (Files.getFileStore(secretFile).supportsFileAttributeView("posix")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secretFile)))
                    .isEqualTo("rw-------");
        }
        String secret = Files.readString(secretFile).strip();
        uploadWithJob(s, "p.txt");
        Await.until(WAIT, "a delivery", () -> !receiver.accepted().isEmpty());
        WebhookReceiver.Received r = receiver.accepted().getFirst();

        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("## Events: webhooks and server-sent events");
        int start = readme.indexOf("```python\n", section) + "```python\n".length();
        String example = readme.substring(start, readme.indexOf("```", start));
        Path script = dir.resolve("verify.py");
        Files.writeString(script, example + """

                import sys
                body = open(sys.argv[3], "rb").read()
                print(verify(sys.argv[1].encode(), sys.argv[2], body))
                """);
        Path body = dir.resolve("body.json");
        Files.writeString(body, r.body());
        assertThat(python(script, secret, r.header("Sluice-Signature"), body)).isEqualTo("True");
        assertThat(python(script, "another-secret-0123", r.header("Sluice-Signature"), body)).isEqualTo("False");
        String old = "t=1000000000" + r.header("Sluice-Signature").substring(r.header("Sluice-Signature").indexOf(','));
        assertThat(python(script, secret, old, body)).isEqualTo("False");
    }

    private static boolean python3() {
        try {
            Process p = new ProcessBuilder("python3", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return true;
            }
        } catch (Exception e) {
            // reported below
        }
        System.err.println("SKIPPED: python3 is not available, so the README's webhook verification example was "
                + "not run");
        return false;
    }

    private static String python(Path script, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("python3", script.toString()));
        for (String a : args) {
            command.add(a);
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static String python(Path script, String secret, String header, Path body) throws Exception {
        return python(script, new String[] {secret, header, body.toString()});
    }

    static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).isEqualTo(code);
    }
}
