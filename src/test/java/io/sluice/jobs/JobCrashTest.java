package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server killed with SIGKILL in the middle of a job: after a restart on the same data directory the job's lease
 * expires, the job runs again (attempt 2) and succeeds once, with exactly one output file, and the half-written
 * output of the killed attempt is swept.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JobCrashTest {

    static final Duration WAIT = Duration.ofSeconds(40);
    static final int LINES = 40;

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void aJobInterruptedByAKillRunsAgainAfterTheRestartAndSucceedsOnce() throws Exception {
        Path data = dir.resolve("data");
        Path config = dir.resolve("sluice.yaml");
        // 40 lines 100 ms apart: long enough to be killed in the middle. A 2 s lease lets the restarted server
        // take the job back quickly; a short backoff lets it run again at once.
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 2s
                  backoffBase: 100ms
                  backoffCap: 200ms
                pipelines:
                  long:
                    processor: test-sleep
                    options: {lines: %d, delayMillis: 100}
                """.formatted(LINES));

        String jobId;
        try (ServerProcess first = ServerProcess.serve(data, List.of("-Xmx128m"), "--config", config.toString())) {
            HttpResponse<String> put = send(first, HttpRequest.newBuilder(uri(first, "/api/v1/uploads/k.bin?pipeline=long"))
                    .PUT(HttpRequest.BodyPublishers.ofString("crash me")));
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            jobId = Json.parse(put.body()).at("/uploads/0/job/id").asText();
            Await.until(WAIT, "job running with progress", () -> {
                JsonNode j = job(first, jobId);
                return j.path("state").asText().equals("running") && j.path("progress").asInt() > 0;
            });
            first.process().destroyForcibly();
            assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        // The killed attempt left only its temporary output; nothing was published.
        assertThat(files(data.resolve("outputs/tmp"))).hasSize(1);
        assertThat(publishedOutputs(data)).isEmpty();

        try (ServerProcess second = ServerProcess.serve(data, List.of("-Xmx128m"), "--config", config.toString())) {
            Await.until(WAIT, "job succeeded after the restart",
                    () -> job(second, jobId).path("state").asText().equals("succeeded"));
            JsonNode done = job(second, jobId);
            assertThat(done.path("attempt").asInt()).isEqualTo(2);
            assertThat(done.at("/result/outputLines").asInt()).isEqualTo(LINES);

            HttpResponse<String> output = send(second, HttpRequest.newBuilder(uri(second,
                    "/api/v1/jobs/" + jobId + "/output")).GET());
            assertThat(output.body().lines()).hasSize(LINES).first().isEqualTo("{\"line\":0}");
            assertThat(publishedOutputs(data)).singleElement()
                    .satisfies(p -> assertThat(p.getFileName().toString()).isEqualTo(jobId + ".ndjson"));
            // The killed attempt's files: swept at start once its lease ran out, or when attempt 2 began.
            assertThat(files(data.resolve("outputs/tmp"))).isEmpty();
            assertThat(files(data.resolve("work"))).isEmpty();
            JsonNode list = Json.parse(send(second, HttpRequest.newBuilder(uri(second, "/api/v1/jobs")).GET()).body());
            assertThat(list.path("jobs")).hasSize(1);

            second.sigterm();
            assertThat(second.waitFor(Duration.ofSeconds(30))).isZero();
        }
    }

    private JsonNode job(ServerProcess p, String id) throws Exception {
        HttpResponse<String> r = send(p, HttpRequest.newBuilder(uri(p, "/api/v1/jobs/" + id)).GET());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    private HttpResponse<String> send(ServerProcess p, HttpRequest.Builder b) throws Exception {
        return http.send(b.timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static URI uri(ServerProcess p, String path) {
        return URI.create("http://127.0.0.1:" + p.port() + path);
    }

    private static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    /** Output files outside {@code outputs/tmp}. */
    private static List<Path> publishedOutputs(Path data) throws Exception {
        Path outputs = data.resolve("outputs");
        try (Stream<Path> s = Files.walk(outputs)) {
            return s.filter(Files::isRegularFile).filter(p -> !p.startsWith(outputs.resolve("tmp"))).toList();
        }
    }
}
