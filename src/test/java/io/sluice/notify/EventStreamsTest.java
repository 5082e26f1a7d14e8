package io.sluice.notify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

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

/** Server-sent events on a real server: live events of a job, resumption with Last-Event-ID, shutdown. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EventStreamsTest {

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

    private TestServer server() throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 3s       # a cancel reaches a running job at its next heartbeat (a third of this)
                pipelines:
                  noop:
                    processor: noop
                  failing:
                    processor: test-sleep
                    options: {lines: 1, failFirstIn: "%s"}
                    maxAttempts: 1
                  slow:                   # far longer than a heartbeat, so a cancel always finds it running
                    processor: test-sleep
                    options: {lines: 100, delayMillis: 300}
                """.formatted(dir.resolve("markers").toString().replace("\\", "/")));
        TestServer s = TestServer.start(dir.resolve("data"), config);
        open.add(s);
        return s;
    }

    private SseClient stream(TestServer s, String path, String lastEventId) throws Exception {
        SseClient c = new SseClient(s.client(), s.uri(path), lastEventId);
        open.add(c);
        assertThat(c.response.statusCode()).isEqualTo(200);
        assertThat(c.response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        return c;
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

    private static void assertFrame(SseClient.Frame f, String type, String jobId) {
        JsonNode data = Json.parse(f.data());
        assertThat(data.path("id").asText()).isEqualTo(f.id());
        assertThat(data.path("type").asText()).isEqualTo(type);
        assertThat(data.path("data").path("job").path("id").asText()).isEqualTo(jobId);
    }

    @Test
    void eventsOfAJobArriveLiveAndAreReplayedAfterLastEventId() throws Exception {
        TestServer s = server();
        SseClient all = stream(s, "/api/v1/events", null);
        String jobId = uploadWithJob(s, "a.txt");

        SseClient.Frame completed = all.nextEvent("upload.completed", WAIT);
        assertFrame(completed, "upload.completed", jobId);
        assertThat(Json.parse(completed.data()).path("data").path("upload").path("filename").asText())
                .isEqualTo("a.txt");
        SseClient.Frame succeeded = all.nextEvent("job.succeeded", WAIT);
        assertFrame(succeeded, "job.succeeded", jobId);
        assertThat(Long.parseLong(succeeded.id())).isGreaterThan(Long.parseLong(completed.id()));

        // Another job's events do not appear in this job's stream.
        String other = uploadWithJob(s, "b.txt");
        all.nextEvent("job.succeeded", WAIT);

        SseClient replay = stream(s, "/api/v1/jobs/" + jobId + "/events", "0");
        assertFrame(replay.nextEvent("upload.completed", WAIT), "upload.completed", jobId);
        SseClient.Frame again = replay.nextEvent("job.succeeded", WAIT);
        assertThat(again.id()).isEqualTo(succeeded.id());

        SseClient resumed = stream(s, "/api/v1/jobs/" + jobId + "/events", completed.id());
        SseClient.Frame first = resumed.next(WAIT);
        assertThat(first.comment()).isNull(); // "retry:" alone makes no frame
        assertThat(first.id()).isEqualTo(succeeded.id());
        assertThat(other).isNotEqualTo(jobId);

        // The query parameter, for clients that cannot set headers, on the all-events stream.
        SseClient byQuery = stream(s, "/api/v1/events?lastEventId=" + completed.id(), null);
        assertThat(byQuery.nextEvent("job.succeeded", WAIT).id()).isEqualTo(succeeded.id());
        s.assertNothingLeftBehind();
    }

    @Test
    void progressFailureAndCancellationAreEvents() throws Exception {
        TestServer s = server();
        SseClient all = stream(s, "/api/v1/events", null);
        String failing = uploadWithJob(s, "f.txt", "failing");
        SseClient.Frame failed = all.nextEvent("job.failed", WAIT);
        assertFrame(failed, "job.failed", failing);
        JsonNode job = Json.parse(failed.data()).path("data").path("job");
        assertThat(job.path("state").asText()).isEqualTo("failed");
        assertThat(job.path("error").path("code").asText()).isEqualTo("test_failure");

        String slow = uploadWithJob(s, "s.txt", "slow");
        SseClient one = stream(s, "/api/v1/jobs/" + slow + "/events", null);
        SseClient.Frame progress = one.nextEvent("job.progress", WAIT);
        assertFrame(progress, "job.progress", slow);
        assertThat(Json.parse(progress.data()).path("data").path("job").path("stage").asText()).isEqualTo("writing");
        HttpResponse<String> cancel = s.send(HttpRequest.newBuilder(s.uri("/api/v1/jobs/" + slow + "/cancel"))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(202);
        SseClient.Frame cancelled = one.nextEvent("job.cancelled", WAIT);
        assertFrame(cancelled, "job.cancelled", slow);
        assertThat(Json.parse(cancelled.data()).path("data").path("job").path("state").asText())
                .isEqualTo("cancelled");
        s.assertNothingLeftBehind();
    }

    @Test
    void eventIdsKeepGrowingAcrossARestart() throws Exception {
        TestServer s = server();
        String before = uploadWithJob(s, "a.txt");
        SseClient c = stream(s, "/api/v1/jobs/" + before + "/events", "0");
        long lastBefore = Long.parseLong(c.nextEvent("job.succeeded", WAIT).id());
        c.close();
        open.remove(c);
        s.close();
        open.remove(s);

        TestServer again = TestServer.start(dir.resolve("data"), dir.resolve("sluice.yaml"));
        open.add(again);
        SseClient live = stream(again, "/api/v1/events", String.valueOf(lastBefore));
        String after = uploadWithJob(again, "b.txt");
        SseClient.Frame f = live.nextEvent("upload.completed", WAIT);
        assertFrame(f, "upload.completed", after);
        assertThat(Long.parseLong(f.id())).isGreaterThan(lastBefore);
    }

    @Test
    void badRequestsAreRefused() throws Exception {
        TestServer s = server();
        HttpResponse<String> r = s.send(HttpRequest.newBuilder(s.uri("/api/v1/events"))
                .header("Last-Event-ID", "abc").build());
        WebhooksTest.assertError(r, 400, "invalid_last_event_id");
        WebhooksTest.assertError(s.get("/api/v1/events?lastEventId=-1"), 400, "invalid_last_event_id");
        WebhooksTest.assertError(s.get("/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/events"), 404, "not_found");
        s.assertNothingLeftBehind();
    }

    @Test
    void shutdownEndsOpenStreams() throws Exception {
        TestServer s = server();
        SseClient a = stream(s, "/api/v1/events", null);
        SseClient b = stream(s, "/api/v1/events", "0");
        s.close();
        open.remove(s);
        // Both end: the server did not wait for them until some timeout (the @Timeout bounds the whole test).
        Await.until(WAIT, "stream a ended", () -> a.next(Duration.ofMillis(10)) == SseClient.END);
        Await.until(WAIT, "stream b ended", () -> b.next(Duration.ofMillis(10)) == SseClient.END);
    }
}
