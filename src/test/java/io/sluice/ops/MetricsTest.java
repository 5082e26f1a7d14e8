package io.sluice.ops;

import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.TestServer;
import io.sluice.testing.WebhookReceiver;
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

/**
 * {@code GET /metrics} against a real server after one stored direct upload, one refused one, one resumable
 * upload, one job that succeeds, one that fails twice (a retry, then a final failure), and webhook deliveries of
 * which the first is refused: every family the README lists is present with the expected values and tags.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MetricsTest {

    static final String SECRET = "metrics-secret-0123456789";
    static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private Scrape scrape(TestServer s) throws Exception {
        HttpResponse<String> r = s.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        return Scrape.parse(r.body());
    }

    @Test
    void everyFamilyIsScrapedWithItsValuesAndTags() throws Exception {
        WebhookReceiver receiver = new WebhookReceiver(1);
        open.add(receiver);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  backoffBase: 100ms
                  backoffCap: 100ms
                webhooks:
                  urls: [%s]
                  secret: %s
                  backoffBase: 50ms
                  maxAttempts: 5
                pipelines:
                  noop:
                    processor: noop
                  sleepy:
                    processor: test-sleep
                    maxAttempts: 2
                    options: {lines: 1}
                """.formatted(receiver.url(), SECRET));
        TestServer s = TestServer.start(dir.resolve("data"), config, "limits.maxFileSize", "1KiB",
                "limits.maxRequestSize", "4KiB");
        open.add(s);

        // One stored upload with a job that succeeds.
        HttpResponse<String> ok = s.put("/api/v1/uploads/a.txt?pipeline=noop", "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
        // One refused upload: over limits.maxFileSize.
        HttpResponse<String> big = s.put("/api/v1/uploads/big.txt", new byte[2048]);
        assertThat(big.statusCode()).isEqualTo(413);
        assertThat(Json.errorCode(big.body())).isEqualTo("file_too_large");
        // One job that fails: "lines" in the metadata is not a number, a retryable processor_error, twice.
        Multipart form = new Multipart().field("pipeline", "sleepy").field("lines", "many")
                .file("file", "b.txt", "data".getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> failing = s.send(HttpRequest.newBuilder(s.uri("/api/v1/uploads"))
                .header("Content-Type", form.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.build())).build());
        assertThat(failing.statusCode()).as(failing.body()).isEqualTo(201);
        // One resumable upload: creation, then one PATCH.
        HttpResponse<String> created = s.send(HttpRequest.newBuilder(s.uri("/files/"))
                .header("Tus-Resumable", "1.0.0").header("Upload-Length", "3")
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String location = created.headers().firstValue("Location").orElseThrow();
        HttpResponse<String> patched = s.send(HttpRequest.newBuilder(s.uri("/files/")
                        .resolve(location)).header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray("abc".getBytes(StandardCharsets.UTF_8)))
                .build());
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);
        s.assertNothingLeftBehind();

        // Webhooks: upload.completed for the two uploads with a job, job.succeeded, job.failed; the receiver
        // refuses the first request once, so one "retry" outcome.
        Await.until(WAIT, "jobs finished and webhooks delivered", () -> {
            Scrape m = scrape(s);
            return m.value("sluice_jobs_failures_total", "pipeline", "sleepy") == 1
                    && m.value("sluice_jobs_duration_seconds_count", "pipeline", "noop", "outcome", "succeeded") == 1
                    && m.value("sluice_webhooks_deliveries_total", "outcome", "delivered") >= 4;
        });
        Scrape m = scrape(s);

        // Uploads: count, bytes, duration histogram, in flight, rejected by reason.
        assertThat(m.value("sluice_uploads_stored_total")).isEqualTo(3);
        assertThat(m.value("sluice_uploads_stored_bytes_total")).isEqualTo(5 + 4 + 3);
        assertThat(m.value("sluice_uploads_requests_seconds_count", "protocol", "direct", "outcome", "ok"))
                .isEqualTo(2);
        assertThat(m.value("sluice_uploads_requests_seconds_count", "protocol", "direct", "outcome", "rejected"))
                .isEqualTo(1);
        assertThat(m.value("sluice_uploads_requests_seconds_count", "protocol", "tus", "outcome", "ok"))
                .isEqualTo(2);
        assertThat(m.find("sluice_uploads_requests_seconds_bucket", "protocol", "direct")).as("histogram buckets")
                .hasSizeGreaterThan(10);
        assertThat(m.value("sluice_uploads_rejected_total", "protocol", "direct", "reason", "file_too_large"))
                .isEqualTo(1);
        assertThat(m.has("sluice_uploads_in_flight")).isTrue();
        assertThat(m.value("sluice_uploads_in_flight")).isZero();
        // Resumable appends.
        assertThat(m.value("sluice_resumable_appends_total")).isEqualTo(1);
        assertThat(m.value("sluice_resumable_appended_bytes_total")).isEqualTo(3);
        // Admission.
        assertThat(m.value("sluice_admission_slots")).isPositive();
        assertThat(m.value("sluice_uploads_slots_available")).isEqualTo(m.value("sluice_admission_slots"));
        assertThat(m.value("sluice_admission_memory_budget_bytes")).isPositive();
        assertThat(m.value("sluice_admission_memory_used_bytes")).isZero();
        assertThat(m.has("sluice_admission_refused_total")).isTrue();
        // Jobs: queued/running per configured pipeline, duration per pipeline and outcome, failures, retries.
        assertThat(m.find("sluice_jobs_queued")).extracting(x -> x.labels().get("pipeline"))
                .containsExactlyInAnyOrder("noop", "sleepy");
        assertThat(m.has("sluice_jobs_running", "pipeline", "sleepy")).isTrue();
        assertThat(m.has("sluice_jobs_oldest_queued_age_seconds")).isTrue();
        assertThat(m.value("sluice_jobs_duration_seconds_count", "pipeline", "sleepy", "outcome", "retry"))
                .isEqualTo(1);
        assertThat(m.value("sluice_jobs_duration_seconds_count", "pipeline", "sleepy", "outcome", "failed"))
                .isEqualTo(1);
        assertThat(m.value("sluice_jobs_retries_total", "pipeline", "sleepy")).isEqualTo(1);
        assertThat(m.value("sluice_jobs_failures_total", "pipeline", "sleepy", "code", "processor_error"))
                .isEqualTo(1);
        // Webhook deliveries by outcome.
        assertThat(m.value("sluice_webhooks_deliveries_total", "outcome", "retry")).isEqualTo(1);
        assertThat(m.value("sluice_webhooks_deliveries_total", "outcome", "failed")).isZero();
        // JVM and process.
        assertThat(m.value("process_files_open_files")).isPositive();
        assertThat(m.has("sluice_process_memory_rss_bytes")).isTrue();
        assertThat(m.has("jvm_memory_used_bytes")).isTrue();
        assertThat(m.has("process_cpu_usage")).isTrue();
        // Bounded cardinality: no label value is an id or a URL.
        for (Scrape.Sample sample : m.samples()) {
            for (String v : sample.labels().values()) {
                assertThat(v).as(sample.toString()).doesNotContain("/").doesNotMatch("[0-9A-HJKMNP-TV-Z]{26}");
            }
        }
    }

    @Test
    void admissionRefusalsAreCountedByReason() throws Exception {
        TestServer s = TestServer.start(dir.resolve("data"), "limits.diskReserve", "1000TiB", "alerts.enabled", "false");
        open.add(s);
        HttpResponse<String> r = s.put("/api/v1/uploads/a.txt", "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(507);
        s.assertNothingLeftBehind();
        Scrape m = scrape(s);
        assertThat(m.value("sluice_admission_shed_total", "reason", "insufficient_storage")).isEqualTo(1);
        assertThat(m.value("sluice_uploads_rejected_total", "reason", "insufficient_storage")).isEqualTo(1);
        // Alerts off: /health/detailed lists none.
        assertThat(Json.parse(s.get("/health/detailed").body()).path("alerts").size()).isZero();
    }
}
