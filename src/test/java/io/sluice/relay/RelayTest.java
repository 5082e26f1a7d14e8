package io.sluice.relay;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Relay routes end to end: a real Sluice relaying to loopback targets (JDK HTTP servers, a closed port, a port
 * that hangs up), failover, limits, circuit breakers, and no temp file left behind.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RelayTest {

    static final String JSON = "{\"q\":\"hello\"}";

    @TempDir
    static Path dir;
    static TestServer server;
    static Targets.Live live;
    static Targets.Live broken;
    static Targets.Live refusing;
    static Targets.Live failing;
    static Targets.HangUp hangUp2;
    static Targets.Gate slow;
    static Targets.Gate held;

    @BeforeAll
    static void start() throws Exception {
        live = new Targets.Live("live", 200);
        broken = new Targets.Live("broken", 500);
        refusing = new Targets.Live("refusing", 422);
        failing = new Targets.Live("failing", 503);
        hangUp2 = new Targets.HangUp();
        slow = new Targets.Gate();
        held = new Targets.Gate();
        String dead = Targets.deadUrl();
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                relay:
                  failover: {targets: [%s, %s], timeout: 5s, maxFiles: 2, maxFileSize: 1KiB}
                  fallback: {targets: [%s, %s]}
                  nothing: {targets: [%s, %s]}
                  rejected: {targets: [%s, %s]}
                  breaker: {targets: [%s, %s]}
                  slow: {targets: [%s, %s], timeout: 500ms}
                  single: {targets: [%s], maxConnections: 1}
                """.formatted(dead, live.url(), broken.url(), live.url(), dead, hangUp2.url(),
                refusing.url(), live.url(), failing.url(), live.url(),
                slow.url(), live.url(), held.url()));
        server = TestServer.start(dir.resolve("data"), config);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        for (AutoCloseable c : new AutoCloseable[]{live, broken, refusing, failing, hangUp2, slow, held}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
        try (Stream<Path> s = Files.list(server.dataDir().resolve("relay-tmp"))) {
            assertThat(s.toList()).as("relay temp files").isEmpty();
        }
    }

    @Test
    void relayWithOneDeadAndOneLiveTargetAnswersWithTheLiveOne() throws Exception {
        HttpResponse<String> r = postJson("/relay/failover", JSON);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("live:" + JSON);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; charset=utf-8");
        assertThat(live.lastContentType).isEqualTo("application/json");
        assertThat(live.lastHeaders.getFirst("X-Request-Id")).isNotBlank();
    }

    @Test
    void aPrimaryAnswering500FailsOverToTheNext() throws Exception {
        int before = broken.hits.get();
        HttpResponse<String> r = postJson("/relay/fallback", JSON);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("live:" + JSON);
        assertThat(broken.hits.get()).isEqualTo(before + 1);
    }

    @Test
    void aClientErrorIsTheTargetsAnswerAndIsNotFailedOver() throws Exception {
        int liveBefore = live.hits.get();
        HttpResponse<String> r = postJson("/relay/rejected", JSON);
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(r.body()).isEqualTo("refusing:" + JSON);
        assertThat(live.hits.get()).isEqualTo(liveBefore);
    }

    @Test
    void allTargetsDeadIs502NamingWhatWasTried() throws Exception {
        HttpResponse<String> r = postJson("/relay/nothing", JSON);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
        assertThat(Json.errorCode(r.body())).isEqualTo("relay_failed");
        JsonNode tried = Json.parse(r.body()).at("/error/tried");
        assertThat(tried).hasSize(2);
        assertThat(tried.get(0).path("target").asText()).endsWith("/dead");
        assertThat(tried.get(1).path("target").asText()).endsWith("/hangup");
    }

    @Test
    void multipartFilesAreRelayedAsMultipart() throws Exception {
        Multipart body = new Multipart().field("note", "hi").file("doc", "a.txt", "alpha".getBytes())
                .file("doc", "b.txt", "bravo".getBytes());
        HttpResponse<String> r = postMultipart("/relay/failover", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(live.lastContentType).startsWith("multipart/form-data; boundary=");
        String got = new String(live.lastBody, StandardCharsets.UTF_8);
        assertThat(got).contains("name=\"note\"").contains("hi")
                .contains("name=\"doc\"; filename=\"a.txt\"").contains("alpha")
                .contains("filename=\"b.txt\"").contains("bravo");
    }

    @Test
    void oneFileMoreThanMaxFilesIs413() throws Exception {
        Multipart body = new Multipart().file("a", "1.txt", "1".getBytes()).file("a", "2.txt", "2".getBytes())
                .file("a", "3.txt", "3".getBytes());
        HttpResponse<String> r = postMultipart("/relay/failover", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
        assertThat(Json.errorCode(r.body())).isEqualTo("too_many_files");
    }

    @Test
    void aFileOverMaxFileSizeIs413() throws Exception {
        Multipart body = new Multipart().file("a", "big.bin", new byte[1025]);
        HttpResponse<String> r = postMultipart("/relay/failover", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(413);
        assertThat(Json.errorCode(r.body())).isEqualTo("file_too_large");
    }

    @Test
    void otherContentTypesAre415AndUnknownRelays404() throws Exception {
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/relay/failover"))
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("x")).build());
        assertThat(r.statusCode()).isEqualTo(415);
        assertThat(Json.errorCode(r.body())).isEqualTo("unsupported_content_type");
        HttpResponse<String> unknown = postJson("/relay/nope", JSON);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(Json.errorCode(unknown.body())).isEqualTo("not_found");
    }

    @Test
    void aTargetThatTimesOutFailsOverToTheNext() throws Exception {
        HttpResponse<String> r = postJson("/relay/slow", JSON);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("live:" + JSON);
        assertThat(slow.arrived.availablePermits()).as("the slow target was tried").isEqualTo(1);
    }

    @Test
    void overMaxConnectionsIs503WithRetryAfter() throws Exception {
        var first = server.client().sendAsync(HttpRequest.newBuilder(server.uri("/relay/single"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(JSON))
                        .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(held.arrived.tryAcquire(20, TimeUnit.SECONDS)).as("the first request reached the target").isTrue();
        HttpResponse<String> second = postJson("/relay/single", JSON);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(503);
        assertThat(Json.errorCode(second.body())).isEqualTo("relay_busy");
        assertThat(second.headers().firstValue("Retry-After")).isPresent();
        held.open();
        HttpResponse<String> r = first.get(20, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("gate");
    }

    /**
     * The failing target counts requests before it answers, so the count is exact when the relay's answer arrives
     * (a port that hangs up would do too, but the JDK client may retry a reset connect, and its count lags).
     */
    @Test
    void anOpenBreakerSkipsItsTarget() throws Exception {
        for (int i = 0; i < Relay.BREAKER_THRESHOLD; i++) {
            HttpResponse<String> r = postJson("/relay/breaker", JSON);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        int tries = failing.hits.get();
        assertThat(tries).isEqualTo(Relay.BREAKER_THRESHOLD);
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = postJson("/relay/breaker", JSON);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("live:" + JSON);
        }
        assertThat(failing.hits.get()).as("tries of the target while its breaker is open").isEqualTo(tries);
    }

    static HttpResponse<String> postJson(String path, String json) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    static HttpResponse<String> postMultipart(String path, Multipart body) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri(path)).header("Content-Type", body.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }
}
