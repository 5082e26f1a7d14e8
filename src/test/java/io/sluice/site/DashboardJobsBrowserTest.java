package io.sluice.site;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.testing.Await;
import io.sluice.testing.JobRows;
import io.sluice.testing.Json;
import io.sluice.testing.NodeScript;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The jobs view (jobs.js) in Chromium through playwright-core ({@code src/test/node/dashboard-jobs.mjs}): counts
 * per state as the server counts them, filtering by state and by pipeline, bulk retry of failed jobs that then
 * succeed live, search by upload name, a failed job's stage, attempt wording, the whole output downloaded, a cancel
 * shown as "cancelling" then "cancelled", and keyset paging through every job with none twice. A second test renders
 * the view at 10,000 jobs to {@code target/dashboard-jobs.png} (the source of docs/dashboard-jobs.png).
 *
 * <p>Skipped, loudly, without node, playwright-core or {@code /usr/bin/chromium} (as DashboardBrowserTest).
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class DashboardJobsBrowserTest {

    static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(80);
    static final Duration WAIT = Duration.ofSeconds(20);
    static final Path SCREENSHOT = Path.of("target", "dashboard-jobs.png").toAbsolutePath();

    @BeforeEach
    void needsNodeAndChromium() {
        NodeScript.assumeAvailable(DashboardBrowserTest.PACKAGE);
        if (!Files.isExecutable(DashboardBrowserTest.CHROMIUM)) {
            String message = "SKIPPED: " + DashboardBrowserTest.CHROMIUM + " is missing (scripts/test-deps)";
            System.err.println("WARNING: the jobs view's browser test is " + message);
            Assumptions.abort(message);
        }
    }

    @Test
    void filtersSearchPagesCountsBulkRetryCancelStageAttemptsAndDownload(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("sluice.yaml"), """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 3s
                pipelines:
                  noop:
                    processor: noop
                    default: true
                  broken:
                    processor: test-sleep
                    options: {lines: 5, failAtLine: 2}
                    maxAttempts: 1
                  flaky:
                    processor: test-sleep
                    options: {lines: 3, failFirstIn: "%s"}
                    maxAttempts: 1
                  lines:
                    processor: test-sleep
                    options: {lines: 30}
                  slow:
                    processor: test-sleep
                    options: {lines: 2000, delayMillis: 50}
                """.formatted(dir.resolve("markers").toString().replace("\\", "/")));
        try (TestServer server = TestServer.start(dir.resolve("data"), config);
             JobRows rows = new JobRows(server)) {
            // 120 older jobs of an archived pipeline, so that paging has three pages.
            List<JobRows.Row> archive = new ArrayList<>();
            Instant t = Instant.now().minusSeconds(86_400);
            for (int i = 0; i < 120; i++) {
                archive.add(rows.row("archive-" + i + ".csv", "archive", i % 5 == 0 ? "failed" : "succeeded",
                        t.plusSeconds(i)));
            }
            rows.insert(archive);
            String failed = upload(server, "stage-fails.txt", "broken");
            List<String> flaky = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                flaky.add(upload(server, "flaky-" + i + ".txt", "flaky"));
            }
            String ok = upload(server, "forty-two-lines.txt", "lines");
            await(server, failed, "failed");
            for (String id : flaky) {
                await(server, id, "failed");
            }
            await(server, ok, "succeeded");
            String slow = upload(server, "slow.txt", "slow");
            await(server, slow, "running");

            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString())
                    .put("failedId", failed).put("failedName", "stage-fails.txt")
                    .put("okId", ok).put("okName", "forty-two-lines.txt")
                    .put("slowId", slow).put("flakyPipeline", "flaky");
            JsonNode countsBefore = Json.parse(server.get("/api/v1/jobs/counts").body()).path("counts");
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "dashboard-jobs.mjs", options.toString());
            System.out.println(run.describe());
            assertThat(run.exitCode()).as(run.describe()).isZero();
            List<JsonNode> events = run.events();
            assertThat(event(events, "done", run).path("problems")).as("console errors, CSP violations").isEmpty();

            JsonNode counts = event(events, "counts", run);
            assertThat(counts.path("all").asInt()).isEqualTo(120 + 6);
            assertThat(counts.path("failed").asInt()).isEqualTo(countsBefore.path("failed").asInt()).isEqualTo(24 + 4);
            assertThat(counts.path("running").asInt()).isEqualTo(1);
            assertThat(counts.path("succeeded").asInt()).isEqualTo(96 + 1);

            assertThat(event(events, "state", run).path("states")).extracting(JsonNode::asText)
                    .containsExactly("failed");
            assertThat(event(events, "state", run).path("rows").asInt()).isEqualTo(28);
            assertThat(event(events, "pipeline", run).path("ids")).extracting(JsonNode::asText)
                    .containsExactlyInAnyOrderElementsOf(flaky);

            JsonNode bulk = event(events, "bulk", run);
            assertThat(bulk.path("ids")).extracting(JsonNode::asText).containsExactlyInAnyOrderElementsOf(flaky);
            assertThat(bulk.path("status").asText()).isEqualTo("3 retried");
            for (String id : flaky) {
                JsonNode j = Json.parse(server.get("/api/v1/jobs/" + id).body());
                assertThat(j.path("state").asText()).isEqualTo("succeeded");
                assertThat(j.path("attempt").asInt()).isEqualTo(2);
            }

            assertThat(event(events, "search", run).path("ids")).extracting(JsonNode::asText).containsExactly(failed);
            JsonNode stage = event(events, "stage", run);
            assertThat(stage.path("row").asText()).isEqualTo("failed in writing");
            assertThat(stage.path("detail").asText()).isEqualTo("failed in writing");
            assertThat(stage.path("error").asText()).startsWith("test_failure: failed on purpose at line 2")
                    .contains("in stage writing");
            assertThat(stage.path("attempt").asText()).isEqualTo("attempt 1 (of at most 1)");

            assertThat(event(events, "attempt", run).path("text").asText()).isEqualTo("attempt 1 (of at most "
                    + io.sluice.jobs.JobsConfig.DEFAULT_MAX_ATTEMPTS + ")");
            JsonNode download = event(events, "download", run);
            assertThat(download.path("href").asText()).isEqualTo("/api/v1/jobs/" + ok + "/output");
            assertThat(download.path("name").asText()).isEqualTo("job-" + ok + ".ndjson");
            assertThat(download.path("lines").asInt()).as("the whole output, not the preview").isEqualTo(30);
            assertThat(download.path("preview").asInt()).isEqualTo(20);

            JsonNode cancelling = event(events, "cancelling", run);
            assertThat(cancelling.path("detail").asText()).isEqualTo("cancelling");
            assertThat(cancelling.path("row").asText()).isEqualTo("cancelling");
            JsonNode cancelled = event(events, "cancelled", run);
            assertThat(cancelled.path("detail").asText()).isEqualTo("cancelled");
            assertThat(cancelled.path("row").asText()).isEqualTo("cancelled");
            assertThat(Json.parse(server.get("/api/v1/jobs/" + slow).body()).path("state").asText())
                    .isEqualTo("cancelled");

            JsonNode pages = event(events, "pages", run);
            assertThat(pages.path("sizes")).extracting(JsonNode::asInt).containsExactly(50, 50, 26);
            List<String> ids = new ArrayList<>();
            pages.path("ids").forEach(n -> ids.add(n.asText()));
            assertThat(new HashSet<>(ids)).as("no job twice").hasSize(126);
            assertThat(ids).as("newest first").isSortedAccordingTo(java.util.Comparator.reverseOrder());
            assertThat(pages.path("backTo").asText()).isEqualTo(pages.path("expectedBack").asText());
            server.assertNothingLeftBehind();
        }
    }

    /** The view at a realistic size: 10,000 jobs written straight into the database, then a picture of it. */
    @Test
    void screenshotAt10000Jobs(@TempDir Path dir) throws Exception {
        Files.deleteIfExists(SCREENSHOT);
        Files.createDirectories(SCREENSHOT.getParent());
        Path config = Files.writeString(dir.resolve("sluice.yaml"), """
                pipelines:
                  extract-text: {processor: noop, default: true}
                  thumbnails: {processor: noop}
                  invoices: {processor: noop}
                """);
        try (TestServer server = TestServer.start(dir.resolve("data"), config);
             JobRows rows = new JobRows(server)) {
            String[] pipelines = {"extract-text", "thumbnails", "invoices"};
            String[] kinds = {"invoice-%05d.pdf", "scan-%05d.png", "export-%05d.csv", "report-%05d.xlsx"};
            List<JobRows.Row> many = new ArrayList<>();
            Instant t = Instant.now().minusSeconds(10_000L * 7);
            for (int i = 0; i < 10_000; i++) {
                String state = i % 23 == 0 ? "failed" : i % 41 == 0 ? "cancelled" : "succeeded";
                JobRows.Row r = rows.row(String.format(kinds[i % kinds.length], i), pipelines[i % 3], state,
                        t.plusSeconds(7L * i));
                many.add(i % 23 == 0 && i % 2 == 0 ? new JobRows.Row(r.id(), r.uploadId(), r.fileName(),
                        r.pipeline(), r.state(), 2, 3, "ocr", "timeout", "the attempt ran longer than 5m",
                        r.createdAt(), null) : r);
            }
            rows.insert(many);
            assertThat(Json.parse(server.get("/api/v1/jobs/counts").body()).path("total").asInt())
                    .isEqualTo(10_000);
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString()).put("screenshot", SCREENSHOT.toString());
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "dashboard-jobs.mjs", options.toString());
            System.out.println(run.describe());
            assertThat(run.exitCode()).as(run.describe()).isZero();
            JsonNode shot = event(run.events(), "screenshot", run);
            assertThat(shot.path("rows").asInt()).isEqualTo(50);
            assertThat(shot.path("all").asText()).isEqualTo("10000");
            assertThat(event(run.events(), "done", run).path("problems")).isEmpty();
            assertThat(SCREENSHOT).isNotEmptyFile();
        }
    }

    private static String upload(TestServer server, String name, String pipeline) throws Exception {
        HttpResponse<String> r = server.put("/api/v1/uploads/" + name + "?pipeline=" + pipeline,
                ("content of " + name + "\n").getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).at("/uploads/0/job/id").asText();
    }

    private static void await(TestServer server, String id, String state) throws Exception {
        Await.until(WAIT, "job " + id + " " + state, () -> state.equals(
                Json.parse(server.get("/api/v1/jobs/" + id).body()).path("state").asText()));
    }

    private static JsonNode event(List<JsonNode> events, String name, NodeScript.Result run) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + name + "' event\n" + run.describe()));
    }
}
