package io.sluice.processors.forward;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.relay.Targets;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code forward} processor end to end: an upload's job delivers the file to a live receiver, with failover. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ForwardProcessorTest {

    @TempDir
    static Path dir;
    static TestServer server;
    static Targets.Live receiver;
    static Targets.Live broken;
    static Targets.Live rows;

    @BeforeAll
    static void start() throws Exception {
        receiver = new Targets.Live("ok", 201);
        broken = new Targets.Live("broken", 503);
        rows = new Targets.Live("rows", 200);
        String dead = Targets.deadUrl();
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs: {pollInterval: 50ms, backoffBase: 100ms, backoffCap: 200ms}
                pipelines:
                  deliver:
                    processor: forward
                    options: {urls: [%s, %s, %s], timeout: 5s}
                  rows:
                    processor: forward
                    options:
                      urls: [%s]
                      send: output
                      processor: spreadsheet
                      processorOptions: {requiredColumns: [sku]}
                  nowhere:
                    processor: forward
                    options: {urls: [%s], retries: 1, timeout: 2s}
                    maxAttempts: 2
                """.formatted(dead, broken.url(), receiver.url(), rows.url(), dead));
        server = TestServer.start(dir.resolve("data"), config);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (receiver != null) {
            receiver.close();
        }
        if (broken != null) {
            broken.close();
        }
        if (rows != null) {
            rows.close();
        }
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    @Test
    void theFileIsDeliveredToTheFirstUrlThatAcceptsIt() throws Exception {
        byte[] data = "forward me\n".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = server.put("/api/v1/uploads/r%C3%A9sum%C3%A9.txt?pipeline=deliver", data);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode upload = Json.parse(r.body()).path("uploads").get(0);
        JsonNode done = awaitEnd(upload.at("/job/id").asText());
        assertThat(done.path("state").asText()).as(done.toString()).isEqualTo("succeeded");
        assertThat(receiver.lastBody).isEqualTo(data);
        assertThat(receiver.lastContentType).startsWith("text/plain");
        assertThat(receiver.lastHeaders.getFirst("Sluice-Upload-Id")).isEqualTo(upload.path("id").asText());
        assertThat(receiver.lastHeaders.getFirst("Sluice-Filename")).isEqualTo("r%C3%A9sum%C3%A9.txt");
        assertThat(broken.hits.get()).isPositive();
        JsonNode result = done.path("result");
        assertThat(result.path("status").asInt()).isEqualTo(201);
        assertThat(result.path("tries").asInt()).isEqualTo(3);
    }

    @Test
    void aProcessorsOutputIsDeliveredAsNdjsonAndKeptAsTheJobsOutput() throws Exception {
        byte[] csv = "sku,stock\nA-1,3\nB-2,0\n".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = server.put("/api/v1/uploads/stock.csv?pipeline=rows", csv);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode done = awaitEnd(Json.parse(r.body()).at("/uploads/0/job/id").asText());
        assertThat(done.path("state").asText()).as(done.toString()).isEqualTo("succeeded");
        assertThat(rows.lastContentType).isEqualTo("application/x-ndjson");
        List<String> sent = new String(rows.lastBody, StandardCharsets.UTF_8).lines().toList();
        assertThat(sent).hasSize(2);
        assertThat(Json.parse(sent.get(0)).path("sku").asText()).isEqualTo("A-1");
        assertThat(done.at("/result/processor/rows").asInt()).isEqualTo(2);
        assertThat(done.at("/result/outputLines").asInt()).isEqualTo(2);
        // The inner processor's precheck runs at upload time, as its own pipeline's would.
        HttpResponse<String> refused = server.put("/api/v1/uploads/other.csv?pipeline=rows",
                "name,stock\nx,1\n".getBytes(StandardCharsets.UTF_8));
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(422);
        assertThat(Json.errorCode(refused.body())).isEqualTo("missing_columns");
    }

    @Test
    void noUrlAcceptingIsARetryableForwardFailed() throws Exception {
        HttpResponse<String> r = server.put("/api/v1/uploads/x.txt?pipeline=nowhere", "x".getBytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode done = awaitEnd(Json.parse(r.body()).at("/uploads/0/job/id").asText());
        assertThat(done.path("state").asText()).as(done.toString()).isEqualTo("failed");
        assertThat(done.at("/error/code").asText()).isEqualTo("forward_failed");
        assertThat(done.path("attempt").asInt()).as("retried by the job: the failure is retryable").isEqualTo(2);
    }

    @Test
    void badOptionsAreRefusedAtConfiguration() {
        ForwardProcessor p = new ForwardProcessor();
        assertThatThrownBy(() -> p.configure(Map.of())).hasMessageStartingWith("options.urls:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("ftp://x/")))).hasMessageStartingWith("options.urls:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "send", "both")))
                .hasMessageStartingWith("options.send:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "send", "output")))
                .hasMessageStartingWith("options.processor:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "send", "output",
                "processor", "nope"))).hasMessageStartingWith("options.processor:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "send", "output",
                "processor", "spreadsheet", "processorOptions", Map.of("maxRows", 0))))
                .hasMessageStartingWith("options.processorOptions.maxRows");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "retries", -1)))
                .hasMessageStartingWith("options.retries:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "timeout", "soon")))
                .hasMessageStartingWith("options.timeout:");
        assertThatThrownBy(() -> p.configure(Map.of("urls", List.of("http://x/"), "url", "x")))
                .hasMessageStartingWith("options.url:");
    }

    static JsonNode awaitEnd(String jobId) throws Exception {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        Await.until(Duration.ofSeconds(30), "job " + jobId + " ends", () -> {
            JsonNode j = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            last.set(j);
            return List.of("succeeded", "failed", "cancelled").contains(j.path("state").asText());
        });
        return last.get();
    }
}
