package io.sluice.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Admission over real HTTP: every kind of refusal, its status, code and Retry-After, and recovery afterwards. */
class AdmissionTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void bufferBudgetAdmitsOneUploadRefusesTheNextAndRecovers() throws Exception {
        try (TestServer ts = TestServer.start(dir, "admission.memoryBudget", "128KiB", "admission.bufferSize", "64KiB")) {
            byte[] first = HeldUpload.bytes(200_000, 1);
            try (HeldUpload held = HeldUpload.start(ts.port(), null, "first.bin", first, 10_000)) {
                awaitActive(ts, 1);

                HttpResponse<String> second = ts.put("/api/v1/uploads/second.bin", HeldUpload.bytes(1000, 2));
                assertThat(second.statusCode()).isEqualTo(503);
                assertThat(Json.errorCode(second.body())).isEqualTo("memory_budget_exhausted");
                assertThat(retryAfter(second)).isGreaterThanOrEqualTo(1);

                RawResponse done = held.finish();
                assertThat(done.status()).as(done.body()).isEqualTo(201);
                assertThat(Json.parse(done.body()).at("/uploads/0/sha256").asText())
                        .isEqualTo(HeldUpload.sha256(first));
            }
            awaitActive(ts, 0);
            byte[] third = HeldUpload.bytes(100_000, 3);
            HttpResponse<String> ok = ts.put("/api/v1/uploads/third.bin", third);
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
            assertThat(Json.parse(ok.body()).at("/uploads/0/sha256").asText()).isEqualTo(HeldUpload.sha256(third));
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isEqualTo(2);
        }
    }

    @Test
    void allSlotsBusyIs503UploadSlotsExhausted() throws Exception {
        try (TestServer ts = TestServer.start(dir, "admission.maxConcurrentUploads", "1",
                "admission.maxUploadsPerClient", "1")) {
            try (HeldUpload held = HeldUpload.start(ts.port(), null, "first.bin", HeldUpload.bytes(50_000, 1), 1000)) {
                awaitActive(ts, 1);
                // Another client, so that its own share is free and the global slot count decides.
                RawResponse other = HeldUpload.put(ts.port(), "127.0.0.2", "other.bin", HeldUpload.bytes(1000, 2));
                assertThat(other.status()).as(other.body()).isEqualTo(503);
                assertThat(Json.errorCode(other.body())).isEqualTo("upload_slots_exhausted");
                assertThat(Long.parseLong(other.header("Retry-After"))).isGreaterThanOrEqualTo(1);
                assertThat(held.finish().status()).isEqualTo(201);
            }
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isEqualTo(1);
        }
    }

    @Test
    void clientOverItsShareIs429WhileOtherClientsProceed() throws Exception {
        try (TestServer ts = TestServer.start(dir, "admission.maxConcurrentUploads", "4",
                "admission.maxUploadsPerClient", "1")) {
            try (HeldUpload held = HeldUpload.start(ts.port(), null, "first.bin", HeldUpload.bytes(50_000, 1), 1000)) {
                awaitActive(ts, 1);
                HttpResponse<String> same = ts.put("/api/v1/uploads/again.bin", HeldUpload.bytes(1000, 2));
                assertThat(same.statusCode()).isEqualTo(429);
                assertThat(Json.errorCode(same.body())).isEqualTo("client_upload_limit");
                assertThat(retryAfter(same)).isGreaterThanOrEqualTo(1);

                RawResponse other = HeldUpload.put(ts.port(), "127.0.0.2", "other.bin", HeldUpload.bytes(1000, 3));
                assertThat(other.status()).as(other.body()).isEqualTo(201);
                assertThat(held.finish().status()).isEqualTo(201);
            }
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isEqualTo(2);
        }
    }

    @Test
    void diskReserveCrossedIs507ForRawAndMultipart() throws Exception {
        try (TestServer ts = TestServer.start(dir, "limits.diskReserve", "1000TiB")) {
            HttpResponse<String> put = ts.put("/api/v1/uploads/a.bin", HeldUpload.bytes(1000, 1));
            assertThat(put.statusCode()).isEqualTo(507);
            assertThat(Json.errorCode(put.body())).isEqualTo("insufficient_storage");

            Multipart mp = new Multipart().file("file", "b.bin", HeldUpload.bytes(1000, 2));
            HttpResponse<String> post = ts.send(HttpRequest.newBuilder(ts.uri("/api/v1/uploads"))
                    .header("Content-Type", mp.contentType())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(mp.build())).build());
            assertThat(post.statusCode()).isEqualTo(507);
            assertThat(Json.errorCode(post.body())).isEqualTo("insufficient_storage");

            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isZero();
        }
    }

    @Test
    void largestReserveTheConfigAcceptsStillRefuses() throws Exception {
        // Reserve plus the declared length must not wrap around to a negative "need".
        try (TestServer ts = TestServer.start(dir, "limits.diskReserve", String.valueOf(Long.MAX_VALUE))) {
            HttpResponse<String> put = ts.put("/api/v1/uploads/a.bin", HeldUpload.bytes(1000, 1));
            assertThat(put.statusCode()).as(put.body()).isEqualTo(507);
            assertThat(Json.errorCode(put.body())).isEqualTo("insufficient_storage");
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isZero();
        }
    }

    @Test
    void declaredLengthBeyondFreeDiskIs507BeforeAnyByteIsRead() throws Exception {
        try (TestServer ts = TestServer.start(dir, "limits.maxFileSize", "1000TiB",
                "limits.maxRequestSize", "1000TiB")) {
            long free = Files.getFileStore(dir).getUsableSpace();
            long declared = free + (1L << 30);
            try (RawHttp raw = new RawHttp(ts.port(), 10_000)) {
                raw.send("PUT /api/v1/uploads/huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Content-Type: application/octet-stream\r\nContent-Length: " + declared + "\r\n\r\n");
                raw.send(HeldUpload.bytes(4096, 1));
                RawResponse r = raw.readResponse();
                assertThat(r.status()).as(r.body()).isEqualTo(507);
                assertThat(Json.errorCode(r.body())).isEqualTo("insufficient_storage");
            }
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isZero();
        }
    }

    @Test
    void memoryAboveWatermarkRefusesUploadsAndTurnsReadinessButNotLiveness() throws Exception {
        System.gc(); // so "heap after GC" is a real reading in this JVM
        try (TestServer ts = TestServer.start(dir, "admission.memoryHighWatermark", "1%")) {
            HttpResponse<String> put = ts.put("/api/v1/uploads/a.bin", HeldUpload.bytes(1000, 1));
            assertThat(put.statusCode()).isEqualTo(503);
            assertThat(Json.errorCode(put.body())).isEqualTo("memory_pressure");
            assertThat(retryAfter(put)).isGreaterThanOrEqualTo(1);

            long ticks = SheddingTracker.ENTER_TICKS * SheddingTracker.TICK_MILLIS;
            Await.until(Duration.ofMillis(ticks + 5_000), "readiness SHEDDING", () -> {
                assertThat(ts.get("/health").statusCode()).as("liveness under memory pressure").isEqualTo(200);
                HttpResponse<String> ready = ts.get("/health/ready");
                return ready.statusCode() == 503 && Json.parse(ready.body()).path("state").asText().equals("SHEDDING");
            });
            JsonNode ready = Json.parse(ts.get("/health/ready").body());
            assertThat(ready.path("reason").asText()).contains("memory_pressure");
            assertThat(ts.get("/health").statusCode()).isEqualTo(200);
            assertThat(ts.get("/health/detailed").statusCode()).isEqualTo(200);
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isZero();
        }
    }

    @Test
    void readinessReturnsAfterRefusalsStop() throws Exception {
        try (TestServer ts = TestServer.start(dir, "admission.memoryBudget", "128KiB", "admission.bufferSize", "64KiB")) {
            assertThat(ts.get("/health/ready").statusCode()).isEqualTo(200);
            try (HeldUpload held = HeldUpload.start(ts.port(), null, "first.bin", HeldUpload.bytes(200_000, 1), 10_000)) {
                awaitActive(ts, 1);
                long enter = SheddingTracker.ENTER_TICKS * SheddingTracker.TICK_MILLIS;
                Await.until(Duration.ofMillis(enter + 5_000), "readiness SHEDDING while refusing", () -> {
                    HttpResponse<String> refused = ts.put("/api/v1/uploads/x.bin", HeldUpload.bytes(1000, 2));
                    assertThat(refused.statusCode()).isEqualTo(503);
                    assertThat(ts.get("/health").statusCode()).isEqualTo(200);
                    HttpResponse<String> ready = ts.get("/health/ready");
                    return ready.statusCode() == 503
                            && Json.parse(ready.body()).path("state").asText().equals("SHEDDING");
                });
                assertThat(Json.parse(ts.get("/health/ready").body()).path("reason").asText())
                        .isEqualTo("memory_budget_exhausted");

                // No more refusals: the held upload alone is load, not shedding.
                long exit = SheddingTracker.EXIT_TICKS * SheddingTracker.TICK_MILLIS;
                Await.until(Duration.ofMillis(exit + 2_000 + SheddingTracker.TICK_MILLIS), "readiness ACCEPTING", () -> {
                    HttpResponse<String> ready = ts.get("/health/ready");
                    return ready.statusCode() == 200
                            && Json.parse(ready.body()).path("state").asText().equals("ACCEPTING");
                });
                assertThat(held.finish().status()).isEqualTo(201);
            }
            ts.assertNothingLeftBehind();
        }
    }

    private static void awaitActive(TestServer ts, int n) throws Exception {
        Await.until(WAIT, n + " upload(s) in flight", () -> ts.app().admission().activeUploads() == n);
    }

    private static long retryAfter(HttpResponse<?> r) {
        return Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
    }
}
