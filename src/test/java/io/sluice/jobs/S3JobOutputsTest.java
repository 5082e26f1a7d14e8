package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.storage.s3.S3BlobStore;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.S3Server;
import io.sluice.testing.TestServer;
import io.sluice.upload.IdGenerator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;
import software.amazon.awssdk.core.sync.RequestBody;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Job outputs with {@code storage.type: s3}, against a real S3-compatible server (s3proxy): a worker publishes a
 * job's output into the bucket (blob {@code out-<jobId>}), not under {@code outputs/} of its data directory; the
 * jobs API streams it from the bucket (offset/limit too), also after that directory is gone; publishing again
 * replaces it (one object); pruning the job removes the object, as the sweep does for strays, and leaves upload
 * blobs alone.
 *
 * <p>A second API node with its own data directory needs a shared database (PostgreSQL), which this build does not
 * have yet; "a node without the worker's files" is shown by deleting the outputs directory while the server is
 * stopped.
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class S3JobOutputsTest {

    static final Duration WAIT = Duration.ofSeconds(30);
    static final int LINES = 10_000; // about 160 KB: more than one 64 KiB read buffer

    @TempDir
    static Path dir;
    static S3Server s3;
    static Path config;

    @BeforeAll
    static void setUp() throws Exception {
        s3 = S3Server.get();
        config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  sleepy:
                    processor: test-sleep
                    options: {lines: %d}
                """.formatted(LINES));
    }

    private static TestServer start(Path data, String bucket) throws Exception {
        return TestServer.start(data, config, s3.serverSettings(bucket));
    }

    @Test
    void anOutputLivesInTheBucketIsServedFromItAndGoesWithItsPrunedJob() throws Exception {
        String bucket = s3.newBucket();
        Path data = dir.resolve("data-" + bucket);
        String jobId;
        String uploadId;
        try (TestServer server = start(data, bucket)) {
            HttpResponse<String> r = server.put("/api/v1/uploads/a.bin?pipeline=sleepy",
                    "anything\n".getBytes(StandardCharsets.UTF_8));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            JsonNode upload = Json.parse(r.body()).path("uploads").get(0);
            uploadId = upload.path("id").asText();
            jobId = upload.at("/job/id").asText();
            awaitSucceeded(server, jobId);

            assertThat(s3.objects(bucket)).containsExactlyInAnyOrder("blobs/" + uploadId, "blobs/out-" + jobId);
            assertThat(regularFiles(data.resolve("outputs"))).as("files under outputs/").isEmpty();
            assertServed(server, jobId);
            server.assertNothingLeftBehind();
        }

        // What a node without the worker's files sees: the output comes from the bucket alone.
        deleteTree(data.resolve("outputs"));
        try (TestServer server = start(data, bucket)) {
            assertServed(server, jobId);
            server.assertNothingLeftBehind();
        }

        // The job finished long ago (retention passed) and a stray output of a job that never existed is there:
        // the worker prunes at start, and the outputs of jobs that are gone leave the bucket with them.
        backdateFinished(data, jobId);
        String stray = "blobs/out-" + new IdGenerator(Clock.systemUTC()).next();
        s3.client().putObject(b -> b.bucket(bucket).key(stray), RequestBody.fromString("{\"line\":0}\n"));
        try (TestServer server = start(data, bucket)) {
            Await.until(WAIT, "pruned job's output removed from the bucket",
                    () -> s3.objects(bucket).equals(List.of("blobs/" + uploadId)));
            assertThat(s3.objects(bucket)).as("the upload's blob is no output and stays")
                    .containsExactly("blobs/" + uploadId);
            HttpResponse<String> gone = server.get("/api/v1/jobs/" + jobId + "/output");
            assertThat(gone.statusCode()).as(gone.body()).isEqualTo(404);
            assertThat(Json.errorCode(gone.body())).isEqualTo("not_found");
            assertThat(server.get("/api/v1/uploads/" + uploadId).statusCode()).isEqualTo(200);
            server.assertNothingLeftBehind();
        }
    }

    @Test
    void anOutputWhoseObjectIsGoneIs404NoOutput() throws Exception {
        String bucket = s3.newBucket();
        try (TestServer server = start(dir.resolve("data-" + bucket), bucket)) {
            HttpResponse<String> r = server.put("/api/v1/uploads/b.bin?pipeline=sleepy",
                    "anything\n".getBytes(StandardCharsets.UTF_8));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            String jobId = Json.parse(r.body()).path("uploads").get(0).at("/job/id").asText();
            awaitSucceeded(server, jobId);
            s3.client().deleteObject(b -> b.bucket(bucket).key("blobs/out-" + jobId));

            HttpResponse<String> gone = server.get("/api/v1/jobs/" + jobId + "/output");
            assertThat(gone.statusCode()).as(gone.body()).isEqualTo(404);
            assertThat(Json.errorCode(gone.body())).isEqualTo("no_output");
            server.assertNothingLeftBehind();
        }
    }

    /**
     * A repeated publish (an attempt re-run after a crash between publish and the job's success, or a fenced-out
     * attempt) replaces the object: no failure, one object, the last bytes.
     */
    @Test
    void publishingAgainReplacesTheOneObject() throws Exception {
        String bucket = s3.newBucket();
        Path data = dir.resolve("direct-" + bucket);
        try (S3BlobStore store = S3BlobStore.open(s3.settings(bucket, 5L << 20), data)) {
            StoredJobOutputs outputs = new StoredJobOutputs(new OutputStore(data), store, store);
            String jobId = new IdGenerator(Clock.systemUTC()).next();
            Path first = outputs.temporaryFile(jobId, 1);
            Files.writeString(first, "{\"a\":1}\n");
            outputs.publish(first, jobId);
            Path second = outputs.temporaryFile(jobId, 2);
            Files.writeString(second, "{\"a\":2}\n{\"b\":2}\n");
            outputs.publish(second, jobId);
            outputs.publish(second, jobId);

            assertThat(s3.objects(bucket)).containsExactly("blobs/out-" + jobId);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            try (JobOutputs.Opened opened = outputs.open(jobId).orElseThrow()) {
                assertThat(opened.size()).isEqualTo(16);
                assertThat(readAll(opened)).isEqualTo("{\"a\":2}\n{\"b\":2}\n");
            }
            assertThat(store.stagedCount()).isZero();
            assertThat(outputs.delete(jobId)).isTrue();
            assertThat(outputs.delete(jobId)).isFalse();
            assertThat(outputs.open(jobId)).isEmpty();
            assertThat(outputs.open("../../etc")).isEmpty();
            assertThat(s3.objects(bucket)).isEmpty();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private static void awaitSucceeded(TestServer server, String jobId) throws Exception {
        JsonNode[] job = new JsonNode[1];
        Await.until(WAIT, "job " + jobId, () -> {
            job[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            return job[0].path("state").asText().matches("succeeded|failed|cancelled");
        });
        assertThat(job[0].path("state").asText()).as(job[0].toString()).isEqualTo("succeeded");
        assertThat(job[0].at("/result/outputLines").asLong()).isEqualTo(LINES);
    }

    /** The whole output (with its length) and a window of it, as the jobs API streams them. */
    private static void assertServed(TestServer server, String jobId) throws Exception {
        HttpResponse<String> whole = server.get("/api/v1/jobs/" + jobId + "/output");
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        assertThat(whole.headers().firstValue("Content-Type")).hasValue(JobsApi.NDJSON);
        String[] lines = whole.body().split("\n");
        assertThat(lines).hasSize(LINES);
        assertThat(Json.parse(lines[LINES - 1]).path("line").asLong()).isEqualTo(LINES - 1);
        assertThat(whole.headers().firstValueAsLong("Content-Length"))
                .hasValue(whole.body().getBytes(StandardCharsets.UTF_8).length);

        HttpResponse<String> window = server.get("/api/v1/jobs/" + jobId + "/output?offset=9000&limit=3");
        assertThat(window.statusCode()).as(window.body()).isEqualTo(200);
        assertThat(window.body().lines().map(l -> Json.parse(l).path("line").asLong()).toList())
                .containsExactly(9000L, 9001L, 9002L);

        HttpResponse<String> past = server.get("/api/v1/jobs/" + jobId + "/output?offset=" + LINES);
        assertThat(past.statusCode()).isEqualTo(200);
        assertThat(past.body()).isEmpty();
    }

    /** Moves the job's end a year back, with the server stopped, so the next worker start prunes it. */
    private static void backdateFinished(Path data, String jobId) throws Exception {
        SQLiteConfig c = new SQLiteConfig();
        c.setBusyTimeout(5_000);
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("sluice.db"), c.toProperties());
             PreparedStatement ps = db.prepareStatement("UPDATE jobs SET finished_at = ? WHERE id = ?")) {
            ps.setLong(1, Instant.now().minus(Duration.ofDays(365)).toEpochMilli());
            ps.setString(2, jobId);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }

    private static String readAll(JobOutputs.Opened opened) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(4);
        while (opened.channel().read(buf.clear()) >= 0) {
            out.write(buf.array(), 0, buf.flip().remaining());
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<Path> regularFiles(Path root) throws Exception {
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    private static void deleteTree(Path root) throws Exception {
        OutputStore.deleteTree(root);
    }
}
