package io.sluice.scaleout;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.Postgres;
import io.sluice.testing.S3Server;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 5's scenario, as separate OS processes over one data set: a real PostgreSQL (embedded) and a real
 * S3-compatible server (s3proxy), two API nodes ({@code serve --no-workers}) with data directories of their own and
 * worker processes. An upload started on node A is resumed and finished on node B and processed by a worker; the
 * worker is killed with SIGKILL mid-job and another worker completes the job exactly once (attempt 2), and either
 * API node serves the result (the output is in the bucket). A presigned upload goes straight to the bucket with the
 * URL node A signed and is completed on node B. Nothing is shared between the processes but the database and the
 * bucket.
 */
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class MultiNodeTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final List<String> JVM = List.of("-Xmx160m");
    static final int LINES = 60;

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void anUploadStartedOnOneNodeIsFinishedOnAnotherAndSurvivesAKilledWorker() throws Exception {
        String database = Postgres.freshDatabase();
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 1s
                  leaseDuration: 2s
                pipelines:
                  long:
                    processor: test-sleep
                    options: {lines: %d, delayMillis: 100}
                """.formatted(LINES));
        List<String> shared = new ArrayList<>(List.of("--config", config.toString(),
                "--set", "database.url=" + database, "--set", "database.user=" + Postgres.USER,
                "--set", "database.password=" + Postgres.PASSWORD, "--set", "limits.diskReserve=0"));
        String[] storage = s3.serverSettings(bucket);
        for (int i = 0; i < storage.length; i += 2) {
            shared.addAll(List.of("--set", storage[i] + "=" + storage[i + 1]));
        }

        try (ServerProcess a = node("serve", "a", shared, "--no-workers");
             ServerProcess b = node("serve", "b", shared, "--no-workers")) {
            // tus: created and half sent through A, resumed and finished through B.
            byte[] body = HeldUpload.bytes(12 * 1024 * 1024 + 17, 5);
            String metadata = "filename " + b64("report.bin") + ",pipeline " + b64("long");
            HttpResponse<String> created = send(a, "POST", "/files/", null, "Tus-Resumable", "1.0.0",
                    "Upload-Length", String.valueOf(body.length), "Upload-Metadata", metadata);
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
            int half = 6 * 1024 * 1024 + 3;
            HttpResponse<String> first = send(a, "PATCH", path, Arrays.copyOfRange(body, 0, half),
                    "Tus-Resumable", "1.0.0", "Upload-Offset", "0",
                    "Content-Type", "application/offset+octet-stream");
            assertThat(first.statusCode()).as(first.body()).isEqualTo(204);

            HttpResponse<String> head = send(b, "HEAD", path, null, "Tus-Resumable", "1.0.0");
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(half));
            HttpResponse<String> rest = send(b, "PATCH", path, Arrays.copyOfRange(body, half, body.length),
                    "Tus-Resumable", "1.0.0", "Upload-Offset", String.valueOf(half),
                    "Content-Type", "application/offset+octet-stream");
            assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
            String uploadId = rest.headers().firstValue("Sluice-Upload-Id").orElseThrow();
            String jobId = rest.headers().firstValue("Sluice-Job-Id").orElseThrow();

            JsonNode record = Json.parse(send(a, "GET", "/api/v1/uploads/" + uploadId, null).body());
            assertThat(record.path("sha256").asText()).isEqualTo(HeldUpload.sha256(body));
            HttpResponse<byte[]> content = http.send(HttpRequest.newBuilder(uri(b, "/api/v1/uploads/" + uploadId
                    + "/content")).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(content.statusCode()).isEqualTo(200);
            assertThat(HeldUpload.sha256(content.body())).isEqualTo(HeldUpload.sha256(body));
            assertThat(s3.objects(bucket)).as("the finished upload is an object in the bucket")
                    .anyMatch(k -> k.endsWith(uploadId));

            // No worker yet: API nodes never run jobs.
            assertThat(job(a, jobId).path("state").asText()).isEqualTo("queued");
            ServerProcess doomed = node("worker", "w1", shared, "--port", "0");
            try {
                Await.until(WAIT, "the first worker running the job", () -> {
                    JsonNode j = job(b, jobId);
                    return j.path("state").asText().equals("running") && j.path("progress").asInt() > 0;
                });
                doomed.process().destroyForcibly();
                assertThat(doomed.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
            } finally {
                doomed.close();
            }
            assertThat(job(a, jobId).path("attempt").asInt()).isEqualTo(1);

            try (ServerProcess second = node("worker", "w2", shared, "--port", "0")) {
                Await.until(WAIT, "the job completed by the second worker",
                        () -> job(a, jobId).path("state").asText().equals("succeeded"));
                JsonNode done = job(b, jobId);
                assertThat(done.path("attempt").asInt()).as("the killed attempt's lease ran out; one retry").isEqualTo(2);
                assertThat(done.at("/result/outputLines").asInt()).isEqualTo(LINES);
                for (ServerProcess api : List.of(a, b)) {
                    HttpResponse<String> output = send(api, "GET", "/api/v1/jobs/" + jobId + "/output", null);
                    assertThat(output.statusCode()).as(output.body()).isEqualTo(200);
                    assertThat(output.body().lines()).as("exactly one attempt's output").hasSize(LINES);
                }
                presignedStraightToTheBucket(a, b, s3, bucket);
                second.sigterm();
                assertThat(second.waitFor(Duration.ofSeconds(30))).as(second.output()).isZero();
            }
            a.sigterm();
            b.sigterm();
            assertThat(a.waitFor(Duration.ofSeconds(30))).as(a.output()).isZero();
            assertThat(b.waitFor(Duration.ofSeconds(30))).as(b.output()).isZero();
        }
        assertThat(s3.multipartUploads(bucket)).as("no multipart upload left open").isEmpty();
    }

    /**
     * A presigned upload over S3 across nodes: the URL from node A, the bytes straight to the bucket (never through
     * Sluice), the completion on node B, the job by the running worker. A tampered URL is refused by the storage.
     */
    private void presignedStraightToTheBucket(ServerProcess a, ServerProcess b, S3Server s3, String bucket)
            throws Exception {
        byte[] doc = "a policy line that goes straight to the bucket\n".repeat(4000).getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> presigned = send(a, "POST", "/api/v1/uploads/presign",
                ("{\"filename\":\"policy.txt\",\"size\":" + doc.length
                        + ",\"contentType\":\"text/plain\",\"pipeline\":\"long\"}").getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json");
        assertThat(presigned.statusCode()).as(presigned.body()).isEqualTo(201);
        JsonNode p = Json.parse(presigned.body());
        String id = p.path("uploadId").asText();
        URI url = URI.create(p.path("url").asText());
        assertThat(url.getPort()).as("an S3 URL, not one to Sluice").isEqualTo(s3.endpoint().getPort());

        // Change the signature's first hex digit to another one (replacing it by a fixed '0' changed nothing when the
        // signature already started with '0', about one run in sixteen).
        String signed = url.toString();
        int at = signed.indexOf("X-Amz-Signature=") + "X-Amz-Signature=".length();
        char other = signed.charAt(at) == '0' ? '1' : '0';
        URI tampered = URI.create(signed.substring(0, at) + other + signed.substring(at + 1));
        assertThat(S3Server.refusal(() -> putTo(tampered, p, doc)).statusCode()).as("a tampered signature")
                .isEqualTo(403);
        HttpResponse<String> early = send(b, "POST", "/api/v1/uploads/" + id + "/complete", null);
        assertThat(early.statusCode()).as(early.body()).isEqualTo(409);
        assertThat(Json.errorCode(early.body())).isEqualTo("not_uploaded");

        HttpResponse<String> put = putTo(url, p, doc);
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        HttpResponse<String> completed = send(b, "POST", "/api/v1/uploads/" + id + "/complete", null);
        assertThat(completed.statusCode()).as(completed.body()).isEqualTo(200);
        JsonNode upload = Json.parse(completed.body());
        assertThat(upload.path("sha256").asText())
                .isEqualTo(HeldUpload.sha256(doc));
        String jobId = upload.at("/job/id").asText();
        assertThat(jobId).isNotEmpty();
        // Idempotent on the other node too: the same upload and job, no second job.
        JsonNode again = Json.parse(send(a, "POST", "/api/v1/uploads/" + id + "/complete", null).body());
        assertThat(again.at("/job/id").asText()).isEqualTo(jobId);
        Await.until(WAIT, "the presigned upload's job done by the worker",
                () -> job(a, jobId).path("state").asText().equals("succeeded"));
        assertThat(s3.objects(bucket)).anyMatch(k -> k.endsWith(id));
    }

    private HttpResponse<String> putTo(URI url, JsonNode presigned, byte[] body)
            throws IOException, InterruptedException {
        HttpRequest.Builder put = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(60))
                .method(presigned.path("method").asText(), HttpRequest.BodyPublishers.ofByteArray(body));
        for (var h : presigned.path("headers").properties()) {
            // The client sets Content-Length and Host itself (and from the same body and URL).
            if (!h.getKey().equalsIgnoreCase("Content-Length") && !h.getKey().equalsIgnoreCase("Host")) {
                put.header(h.getKey(), h.getValue().asText());
            }
        }
        return http.send(put.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private ServerProcess node(String command, String name, List<String> shared, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of(command, "--data", dir.resolve(name).toString()));
        if (command.equals("serve")) {
            args.addAll(List.of("--port", "0"));
        }
        args.addAll(shared);
        args.addAll(List.of(extra));
        ServerProcess p = ServerProcess.start(JVM, Map.of(), args.toArray(String[]::new));
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    private JsonNode job(ServerProcess p, String id) throws Exception {
        HttpResponse<String> r = send(p, "GET", "/api/v1/jobs/" + id, null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    private HttpResponse<String> send(ServerProcess p, String method, String path, byte[] body, String... headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(p, path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static URI uri(ServerProcess p, String path) {
        return URI.create("http://127.0.0.1:" + p.port() + path);
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
