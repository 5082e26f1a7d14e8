package io.sluice.site;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.NodeScript;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core ({@code src/test/node/
 * dashboard-browser.mjs}). It drops a 12 MiB file on the drop zone (a {@code drop} event whose {@code DataTransfer}
 * holds the file, dispatched on the zone: the file reaches the page through a scratch file input, the only way
 * to get a disk file into a page), rides out a 503 with {@code Retry-After} on the creation, watches the bar reach
 * 100 % and the job reach {@code succeeded} in the jobs view (live, over SSE), opens the job's detail, reads numbers
 * in the system panel, then uploads a second file through the drop zone's file input, pauses it mid-chunk under
 * throttling and resumes it, and finally drops two more files at once, one of them twice (both upload side by side,
 * the duplicate is refused in the page) into a pipeline whose jobs take 4 s, one of which is seen running with
 * stage, progress and ETA, then with the first lines of its output. Every upload is then checked over HTTP: size,
 * sha256, job succeeded. The page's screenshot goes to {@code target/dashboard.png}.
 *
 * <p>Skipped, loudly, without node, the playwright-core package or {@code /usr/bin/chromium}
 * ({@code scripts/test-deps} installs all three).
 */
@Timeout(value = 110, unit = TimeUnit.SECONDS)
class DashboardBrowserTest {

    static final String PACKAGE = "playwright-core";
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final int MiB = 1024 * 1024;
    static final long SIZE = 12L * MiB;
    static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(90);
    static final Path SCREENSHOT = Path.of("target", "dashboard.png").toAbsolutePath();

    @BeforeEach
    void needsNodeAndChromium() {
        NodeScript.assumeAvailable(PACKAGE);
        if (!Files.isExecutable(CHROMIUM)) {
            String message = "SKIPPED: " + CHROMIUM + " is missing. Run scripts/test-deps as root (it installs "
                    + "Debian's chromium package), or apt-get install chromium.";
            System.err.println("=".repeat(80));
            System.err.println("WARNING: the dashboard's browser test is " + message);
            System.err.println("=".repeat(80));
            Assumptions.abort(message);
        }
    }

    @Test
    void dropWatchJobPauseResume(@TempDir Path dir) throws Exception {
        Path dropped = dir.resolve("dropped-12MiB.bin");
        Path paused = dir.resolve("paused-12MiB.bin");
        String droppedSha = writeRandom(dropped, SIZE, 5L);
        String pausedSha = writeRandom(paused, SIZE, 6L);
        Path parallelA = dir.resolve("parallel-a.bin");
        Path parallelB = dir.resolve("parallel-b.bin");
        String shaA = writeRandom(parallelA, 3L * MiB, 8L);
        String shaB = writeRandom(parallelB, 2L * MiB, 9L);
        Path config = pipelines(dir);
        Files.deleteIfExists(SCREENSHOT);
        Files.createDirectories(SCREENSHOT.getParent());
        try (TestServer server = TestServer.start(dir.resolve("data"), config)) {
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString())
                    .put("file", dropped.toString())
                    .put("pauseFile", paused.toString())
                    .put("pipeline", "noop")
                    .put("screenshot", SCREENSHOT.toString());
            options.putArray("parallelFiles").add(parallelA.toString()).add(parallelB.toString());
            options.put("slowPipeline", "sleepy");
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "dashboard-browser.mjs", options.toString());
            System.out.println(run.describe()); // the browser's steps, for the surefire report
            assertThat(run.exitCode()).as(run.describe()).isZero();
            List<JsonNode> events = run.events();
            JsonNode done = event(events, "done", run);
            assertThat(done.path("problems")).as("console errors, CSP violations, page errors").isEmpty();
            assertThat(done.path("refused").asInt()).as("the synthetic 503 was sent").isEqualTo(1);
            assertThat(event(events, "opened", run).path("askedForKey").asBoolean()).as("an open server never asks")
                    .isFalse();
            assertThat(event(events, "retrying", run).path("status").asText()).contains("503");

            JsonNode uploaded = event(events, "uploaded", run);
            assertThat(uploaded.path("bar").asInt()).isEqualTo(100);
            assertThat(uploaded.path("percent").asText()).isEqualTo("100 %");
            JsonNode job = event(events, "job", run);
            assertThat(job.path("state").asText()).isEqualTo("succeeded");
            assertThat(job.path("file").asText()).isEqualTo(dropped.getFileName().toString());
            JsonNode detail = event(events, "detail", run);
            assertThat(detail.path("state").asText()).isEqualTo("succeeded");
            assertThat(Json.parse(detail.path("result").asText()).path("bytes").asLong()).isEqualTo(SIZE);
            assertThat(detail.path("output").asText()).isNotBlank();

            JsonNode system = event(events, "system", run);
            assertThat(system.path("sys-state").asText()).isEqualTo("ACCEPTING");
            for (String id : List.of("sys-heap", "sys-memory", "sys-connections", "sys-uploads", "sys-queue",
                    "sys-disk")) {
                assertThat(system.path(id).asText()).as(id).containsPattern("\\d").doesNotContain("undefined")
                        .doesNotContain("NaN");
            }

            JsonNode resumed = event(events, "resumed", run);
            long pausedAt = resumed.path("pausedAt").asLong();
            assertThat(pausedAt).as("paused after the first chunk, before the end").isBetween(1L, SIZE - 1);
            assertThat(resumed.path("stillAt").asLong()).as("nothing moves while paused").isEqualTo(pausedAt);
            assertThat(resumed.path("resumedAt").asLong()).as("the offset the resume's HEAD reported")
                    .isBetween(pausedAt, SIZE - 1);
            assertThat(resumed.path("percent").asText()).isEqualTo("100 %");

            // What the page said must be what the server holds.
            checkStored(server, uploaded, SIZE, droppedSha);
            checkStored(server, resumed, SIZE, pausedSha);
            JsonNode parallel = event(events, "parallel", run);
            assertThat(parallel.path("duplicate").asText()).contains("already being uploaded");
            checkStored(server, parallel.path("uploads").get(0), 3L * MiB, shaA);
            checkStored(server, parallel.path("uploads").get(1), 2L * MiB, shaB);
            JsonNode running = event(events, "running", run);
            assertThat(running.path("progress").asInt()).isBetween(1, 99);
            assertThat(running.path("stage").asText()).isEqualTo("writing");
            assertThat(running.path("eta").asText()).matches("\\d+ s|\\d+ min \\d+ s");
            assertThat(event(events, "output", run).path("text").asText()).startsWith("{\"line\":0}")
                    .contains("{\"line\":19}").doesNotContain("{\"line\":20}");
            assertThat(SCREENSHOT).isNotEmptyFile();
            server.assertNothingLeftBehind();
        }
    }

    /**
     * A server that wants a key (simulated in the page by a playwright route answering 401 to every API, health and
     * tus request without it): the page asks once, says so when a key is refused, then sends the key as a Bearer
     * header on fetch and tus requests and as {@code access_token} on the event stream, and works as on an open one.
     */
    @Test
    void asksForAKeyOnlyWhenRefusedAndSendsIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("small.bin");
        String sha = writeRandom(file, 200 * 1024, 7L);
        try (TestServer server = TestServer.start(dir.resolve("data"), pipelines(dir))) {
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString())
                    .put("key", "k-" + Long.toHexString(System.nanoTime()))
                    .put("file", file.toString());
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "dashboard-key.mjs", options.toString());
            System.out.println(run.describe());
            assertThat(run.exitCode()).as(run.describe()).isZero();
            List<JsonNode> events = run.events();
            event(events, "asked", run);
            assertThat(event(events, "live", run).path("stored").asText()).isEqualTo(options.path("key").asText());
            JsonNode seen = event(events, "seen", run);
            assertThat(seen.path("wrongKey").asInt()).as("the wrong key was sent, and refused").isPositive();
            assertThat(seen.path("bearer").asInt()).as("requests with Authorization: Bearer").isPositive();
            assertThat(seen.path("streamToken").asInt()).as("event streams with access_token").isPositive();
            assertThat(event(events, "done", run).path("problems")).isEmpty();
            checkStored(server, event(events, "uploaded", run), 200 * 1024, sha);
            server.assertNothingLeftBehind();
        }
    }

    private static Path pipelines(Path dir) throws Exception {
        return Files.writeString(dir.resolve("sluice.yaml"), """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  noop:
                    processor: noop
                    default: true
                  sleepy:
                    processor: test-sleep
                    options: {lines: 40, delayMillis: 100}
                """);
    }

    private static void checkStored(TestServer server, JsonNode shown, long size, String sha256) throws Exception {
        String uploadId = shown.path("uploadId").asText();
        JsonNode upload = Json.parse(server.get("/api/v1/uploads/" + uploadId).body());
        assertThat(upload.path("size").asLong()).as(uploadId).isEqualTo(size);
        assertThat(upload.path("sha256").asText()).as(uploadId).isEqualTo(sha256);
        String jobId = shown.path("jobId").asText();
        Await.until(Duration.ofSeconds(10), "job " + jobId + " succeeded", () -> "succeeded".equals(
                Json.parse(server.get("/api/v1/jobs/" + jobId).body()).path("state").asText()));
        assertThat(Json.parse(server.get("/api/v1/jobs/" + jobId).body()).path("uploadId").asText())
                .isEqualTo(uploadId);
    }

    private static JsonNode event(List<JsonNode> events, String name, NodeScript.Result run) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + name + "' event\n" + run.describe()));
    }

    /** Writes {@code size} reproducible random bytes and returns their sha256 in hex. */
    static String writeRandom(Path file, long size, long seed) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        Random random = new Random(seed);
        byte[] buf = new byte[MiB];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= buf.length) {
                random.nextBytes(buf);
                int n = (int) Math.min(buf.length, left);
                out.write(buf, 0, n);
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
