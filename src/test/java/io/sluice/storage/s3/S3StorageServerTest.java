package io.sluice.storage.s3;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.S3Server;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
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
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real server with {@code storage.type: s3} against a real S3-compatible server: direct and tus uploads land
 * in the bucket whole, downloads stream (with ranges) or redirect to a presigned GET, a pipeline reads its blob
 * through a local copy, and every failed or abandoned upload leaves nothing behind: no object, no unfinished
 * multipart upload, no spool file, no local copy.
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class S3StorageServerTest {

    private static final int PART = (int) S3Settings.MIN_PART_SIZE;

    @TempDir
    static Path dir;
    static S3Server s3;
    static String bucket;
    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
                    jobs:
                      pollInterval: 50ms
                    pipelines:
                      inventory:
                        processor: spreadsheet
                        options:
                          requiredColumns: [sku, stock]
                    """).settings(dir -> {
                        s3 = S3Server.get();
                        bucket = s3.newBucket();
                        return List.of(s3.serverSettings(bucket, "storage.s3.partSize", "5MiB",
                                "admission.bufferSize", "64KiB"));
                    });

    @AfterEach
    void nothingLeftBehind() throws Exception {
        assertNothingLeftBehind(server.server(), bucket);
    }

    static void assertNothingLeftBehind(TestServer server, String bucket) throws Exception {
        server.assertNothingLeftBehind();
        Await.until(Duration.ofSeconds(10), "no unfinished multipart upload", () -> s3.multipartUploads(bucket).isEmpty());
        assertThat(s3.multipartUploads(bucket)).as("unfinished multipart uploads").isEmpty();
        assertThat(count(server.dataDir().resolve("s3-spool"))).as("spool files").isZero();
        assertThat(count(server.dataDir().resolve("blob-copies"))).as("local copies").isZero();
        assertThat(server.blobFiles()).as("nothing on local disk").isZero();
    }

    private static long count(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }

    private static JsonNode created(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).path("uploads").get(0);
    }

    private static HttpResponse<byte[]> download(TestServer srv, String path, String range) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(srv.uri(path)).GET();
        if (range != null) {
            b.header("Range", range);
        }
        return srv.client().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void rawPutOfSeveralPartsLandsWholeAndStreamsBackWithRanges() throws Exception {
        byte[] data = HeldUpload.bytes(2 * PART + 12_345, 7);
        JsonNode upload = created(server.put("/api/v1/uploads/big.bin", data));
        String id = upload.path("id").asText();
        assertThat(upload.path("sha256").asText()).isEqualTo(HeldUpload.sha256(data));
        assertThat(s3.objects(bucket)).contains("blobs/" + id);

        HttpResponse<byte[]> whole = download(server.server(), "/api/v1/uploads/" + id + "/content", null);
        assertThat(whole.statusCode()).isEqualTo(200);
        assertThat(HeldUpload.sha256(whole.body())).isEqualTo(HeldUpload.sha256(data));

        HttpResponse<byte[]> range = download(server.server(), "/api/v1/uploads/" + id + "/content",
                "bytes=" + (PART - 10) + "-" + (PART + 9));
        assertThat(range.statusCode()).isEqualTo(206);
        assertThat(range.body()).isEqualTo(Arrays.copyOfRange(data, PART - 10, PART + 10));

        assertThat(server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/" + id)).DELETE().build())
                .statusCode()).isEqualTo(204);
        assertThat(s3.objects(bucket)).doesNotContain("blobs/" + id);
    }

    @Test
    void multipartUploadLandsInTheBucket() throws Exception {
        byte[] data = "a small file\n".getBytes(StandardCharsets.UTF_8);
        Multipart form = new Multipart().file("f", "small.txt", data);
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads"))
                .header("Content-Type", form.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.build())).build());
        String id = created(r).path("id").asText();
        assertThat(s3.objects(bucket)).contains("blobs/" + id);
        assertThat(download(server.server(), "/api/v1/uploads/" + id + "/content", null).body()).isEqualTo(data);
    }

    @Test
    void tusUploadIsCopiedIntoTheBucketWhenFinished() throws Exception {
        byte[] data = HeldUpload.bytes(PART + 99, 3);
        Tus tus = tusUpload(server.server(), data);
        URI upload = tus.url();
        String id = tus.uploadId();
        assertThat(s3.objects(bucket)).contains("blobs/" + id);
        HttpResponse<byte[]> got = server.client().send(HttpRequest.newBuilder(upload).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).isEqualTo(data);
    }

    record Tus(URI url, String uploadId) {
    }

    /** A tus upload of {@code data} in one PATCH: its URL and the finished upload's id. */
    private static Tus tusUpload(TestServer srv, byte[] data) throws Exception {
        HttpResponse<String> post = srv.send(HttpRequest.newBuilder(srv.uri("/files/"))
                .header("Tus-Resumable", "1.0.0").header("Upload-Length", Integer.toString(data.length))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(post.statusCode()).as(post.body()).isEqualTo(201);
        URI upload = srv.uri("/").resolve(post.headers().firstValue("Location").orElseThrow());
        HttpResponse<String> patch = srv.send(HttpRequest.newBuilder(upload)
                .header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data)).build());
        assertThat(patch.statusCode()).as(patch.body()).isEqualTo(204);
        return new Tus(upload, patch.headers().firstValue("Sluice-Upload-Id").orElseThrow());
    }

    @Test
    void aPipelineReadsItsBlobThroughALocalCopy() throws Exception {
        StringBuilder csv = new StringBuilder("sku,stock\n");
        for (int i = 0; i < 500; i++) {
            csv.append("S-").append(i).append(',').append(i % 17).append('\n');
        }
        JsonNode upload = created(server.put("/api/v1/uploads/stock.csv?pipeline=inventory",
                csv.toString().getBytes(StandardCharsets.UTF_8)));
        String jobId = upload.at("/job/id").asText();
        JsonNode[] job = new JsonNode[1];
        Await.until(Duration.ofSeconds(30), "job " + jobId, () -> {
            job[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            return job[0].path("state").asText().matches("succeeded|failed|dead");
        });
        assertThat(job[0].path("state").asText()).as(job[0].toString()).isEqualTo("succeeded");
        assertThat(job[0].at("/result/rows").asInt()).isEqualTo(500);
        String output = server.get("/api/v1/jobs/" + jobId + "/output?offset=499&limit=1").body();
        assertThat(Json.parse(output.strip()).path("sku").asText()).isEqualTo("S-499");
    }

    @Test
    void aPrecheckRefusalRemovesTheObject() throws Exception {
        int before = s3.objects(bucket).size();
        HttpResponse<String> r = server.put("/api/v1/uploads/wrong.csv?pipeline=inventory",
                "sku,price\nX,1\n".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(Json.errorCode(r.body())).isEqualTo("missing_columns");
        assertThat(s3.objects(bucket)).hasSize(before);
    }

    @Test
    void aClientThatDisconnectsMidUploadLeavesNothingBehind() throws Exception {
        int before = s3.objects(bucket).size();
        byte[] body = HeldUpload.bytes(3 * PART, 11);
        try (HeldUpload held = HeldUpload.start(server.port(), null, "gone.bin", body, PART + PART / 2)) {
            // The first part is uploading or uploaded: a multipart upload exists for this blob.
            Await.until(Duration.ofSeconds(20), "a multipart upload to start", () -> !s3.multipartUploads(bucket)
                    .isEmpty());
            held.raw().socket().setSoLinger(true, 0); // a reset, as when a client dies
        }
        // @AfterEach: no multipart upload, no spool file, nothing staged; and no object either.
        Await.until(Duration.ofSeconds(20), "the abandoned upload to be aborted",
                () -> s3.multipartUploads(bucket).isEmpty() && server.app().store().stagedCount() == 0);
        assertThat(s3.objects(bucket)).hasSize(before);
    }

    @Test
    void redirectModeAnswers302ToAPresignedGet() throws Exception {
        String other = s3.newBucket();
        try (TestServer redirecting = TestServer.start(dir.resolve("redirect"),
                s3.serverSettings(other, "storage.downloads", "redirect", "storage.presignExpiry", "5m"))) {
            byte[] data = HeldUpload.bytes(70_000, 5);
            JsonNode upload = created(redirecting.put("/api/v1/uploads/report.pdf.bin", data));
            String id = upload.path("id").asText();
            HttpResponse<byte[]> r = download(redirecting, "/api/v1/uploads/" + id + "/content", null);
            assertThat(r.statusCode()).isEqualTo(302);
            URI location = URI.create(r.headers().firstValue("Location").orElseThrow());
            assertThat(location.getPort()).isEqualTo(s3.endpoint().getPort());
            assertThat(r.headers().firstValue("Cache-Control").orElseThrow()).contains("no-store");

            HttpClient follower = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();
            HttpResponse<byte[]> followed = follower.send(HttpRequest.newBuilder(
                    redirecting.uri("/api/v1/uploads/" + id + "/content")).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(followed.statusCode()).isEqualTo(200);
            assertThat(followed.body()).isEqualTo(data);
            assertThat(followed.headers().firstValue("Content-Disposition").orElseThrow()).contains("report.pdf.bin");
            HttpResponse<byte[]> ranged = follower.send(HttpRequest.newBuilder(
                    redirecting.uri("/api/v1/uploads/" + id + "/content")).header("Range", "bytes=10-19").build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(ranged.statusCode()).isEqualTo(206);
            assertThat(ranged.body()).isEqualTo(Arrays.copyOfRange(data, 10, 20));

            // tus GET of a finished upload is the same download.
            URI tus = tusUpload(redirecting, data).url();
            HttpResponse<byte[]> tusGet = redirecting.client().send(HttpRequest.newBuilder(tus).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(tusGet.statusCode()).isEqualTo(302);
            assertThat(follower.send(HttpRequest.newBuilder(tus).GET().build(), HttpResponse.BodyHandlers.ofByteArray())
                    .body()).isEqualTo(data);
            assertNothingLeftBehind(redirecting, other);
        }
    }
}
