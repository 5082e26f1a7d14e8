package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.processors.pdf.PdfFixtures;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Isolated pipelines on a real server: each attempt runs in a child JVM ({@code sluice run-job}), so a processor
 * that fills its heap or hangs costs one attempt and the server carries on with the next job.
 */
@Timeout(value = 110, unit = TimeUnit.SECONDS)
class IsolationTest {

    static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        Path markers = dir.resolve("markers");
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 3s
                pipelines:
                  hog:
                    processor: test-oom
                    isolate: true
                    memory: 32MiB
                    maxAttempts: 1
                  stuck:
                    processor: test-hang
                    isolate: true
                    timeout: 3s
                    maxAttempts: 1
                  boom:
                    processor: test-crash
                    isolate: true
                    maxAttempts: 2
                  child-noop:
                    processor: noop
                    isolate: true
                  here-noop:
                    processor: noop
                  child-sleep:
                    processor: test-sleep
                    isolate: true
                    options: {lines: 3, failFirstIn: "%s"}
                    maxAttempts: 2
                  child-long:
                    processor: test-sleep
                    isolate: true
                  pdf:
                    processor: pdf
                    options: {chunkSize: 200, chunkOverlap: 0}
                """.formatted(markers.toString().replace("\\", "/")));
        server = TestServer.start(dir.resolve("data"), config);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void nothingHeld() throws Exception {
        server.assertNothingLeftBehind();
        Await.until(WAIT, "the attempt's temporary files removed", () -> isEmpty("outputs/tmp") && isEmpty("work"));
    }

    @Test
    void aProcessorThatRunsOutOfMemoryFailsItsJobAndTheServerServesTheNext() throws Exception {
        String id = jobOf(server.put("/api/v1/uploads/h.bin?pipeline=hog", bytes("hog")));
        JsonNode failed = awaitState(id, "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("out_of_memory");
        assertThat(failed.at("/error/message").asText()).contains("32MiB");
        assertThat(failed.path("attempt").asInt()).isEqualTo(1);

        // The server is still up and runs both kinds of job.
        JsonNode next = awaitState(jobOf(server.put("/api/v1/uploads/n.bin?pipeline=child-noop", bytes("next"))),
                "succeeded");
        assertThat(next.at("/result/bytes").asLong()).isEqualTo(4);
        awaitState(jobOf(server.put("/api/v1/uploads/m.bin?pipeline=here-noop", bytes("next"))), "succeeded");
    }

    @Test
    void aCrashedChildCostsAnAttemptAndIsRetried() throws Exception {
        String id = jobOf(server.put("/api/v1/uploads/b.bin?pipeline=boom", bytes("boom")));
        JsonNode failed = awaitState(id, "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("processor_crashed");
        assertThat(failed.at("/error/message").asText()).contains("exit code 134").contains("going down");
        // Retryable: both attempts were used.
        assertThat(failed.path("attempt").asInt()).isEqualTo(2);
    }

    @Test
    void aHungProcessorTimesOutAndItsChildIsKilled() throws Exception {
        String id = jobOf(server.put("/api/v1/uploads/s.bin?pipeline=stuck", bytes("stuck")));
        JsonNode failed = awaitState(id, "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("timeout");
        // No run-job child of this JVM survives its job.
        Await.until(WAIT, "no child JVM left", () -> ProcessHandle.current().children()
                .noneMatch(p -> p.info().commandLine().orElse("").contains("run-job")));
    }

    @Test
    void aChildsProcessorFailureKeepsItsCodeAndTheRetrySucceedsWithItsOutput() throws Exception {
        String id = jobOf(server.put("/api/v1/uploads/c.bin?pipeline=child-sleep", bytes("child")));
        JsonNode failed = awaitState(id, "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("test_failure");
        assertThat(failed.at("/error/message").asText()).isEqualTo("the first attempt fails on purpose");
        HttpResponse<String> retry = server.send(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id
                + "/retry")).POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(202);
        JsonNode done = awaitState(id, "succeeded");
        assertThat(done.path("attempt").asInt()).isEqualTo(2);
        assertThat(done.at("/result/lines").asInt()).isEqualTo(3);
        assertThat(done.at("/result/outputLines").asInt()).isEqualTo(3);
        assertThat(done.path("progress").asInt()).isEqualTo(100);
        HttpResponse<String> out = server.get("/api/v1/jobs/" + id + "/output");
        assertThat(out.statusCode()).isEqualTo(200);
        assertThat(out.body().lines().toList()).containsExactly("{\"line\":0}", "{\"line\":1}", "{\"line\":2}");
    }

    @Test
    void aRunningChildIsKilledWhenItsJobIsCancelled() throws Exception {
        String id = jobOf(post(new Multipart().field("pipeline", "child-long").field("lines", "2000")
                .field("delayMillis", "10").file("f", "long.bin", bytes("long"))));
        Await.until(WAIT, "job running with progress from the child",
                () -> job(id).path("state").asText().equals("running") && job(id).path("progress").asInt() > 0);
        assertThat(job(id).path("stage").asText()).isEqualTo("writing");
        HttpResponse<String> cancel = server.send(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id
                + "/cancel")).POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(202);
        awaitState(id, "cancelled");
        Await.until(WAIT, "no child JVM left", () -> ProcessHandle.current().children()
                .noneMatch(p -> p.info().commandLine().orElse("").contains("run-job")));
    }

    @Test
    void pdfRunsInAChildByDefaultAndSucceeds() throws Exception {
        Path pdf = PdfFixtures.write(dir.resolve("three.pdf"), 3, d -> { });
        String id = jobOf(server.put("/api/v1/uploads/three.pdf?pipeline=pdf", Files.readAllBytes(pdf)));
        JsonNode done = awaitState(id, "succeeded");
        assertThat(done.at("/result/pages").asInt()).isEqualTo(3);
        assertThat(done.at("/result/outputLines").asInt()).isPositive();
        assertThat(server.get("/api/v1/jobs/" + id + "/output").body()).contains(PdfFixtures.pageLines(2).getFirst());
    }

    // ------------------------------------------------------------------------------------------ helpers

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String jobOf(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(201);
        return Json.parse(r.body()).path("uploads").get(0).at("/job/id").asText();
    }

    static HttpResponse<String> post(Multipart body) throws IOException, InterruptedException {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads"))
                .header("Content-Type", body.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }

    static JsonNode job(String id) throws Exception {
        HttpResponse<String> r = server.get("/api/v1/jobs/" + id);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    static JsonNode awaitState(String id, String state) throws Exception {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        Await.until(WAIT, "job " + id + " " + state, () -> {
            JsonNode j = job(id);
            last.set(j);
            String now = j.path("state").asText();
            if (!now.equals(state) && List.of("succeeded", "failed", "cancelled").contains(now)) {
                throw new AssertionError("job " + id + " ended " + now + " instead of " + state + ": " + j);
            }
            return now.equals(state);
        });
        return last.get();
    }

    static boolean isEmpty(String sub) throws IOException {
        Path p = server.dataDir().resolve(sub);
        if (!Files.exists(p)) {
            return true;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
