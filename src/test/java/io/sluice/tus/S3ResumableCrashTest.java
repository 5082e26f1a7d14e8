package io.sluice.tus;

import io.sluice.testing.Await;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.Json;
import io.sluice.testing.S3Server;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "Acknowledged means durable" on S3: the server, its own process storing into s3proxy, is killed with SIGKILL in
 * the middle of a PATCH after it has already sealed parts (chunk objects and part copies) past the acknowledged
 * offset. Those bytes differ from the file's on purpose: a new server over the same bucket and data directory must
 * report the acknowledged offset, rebuild exactly the bytes below it, and finish to the file's sha256 and content,
 * with nothing left in the bucket but the finished blob.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class S3ResumableCrashTest {

    private static final long MIB = 1024 * 1024;
    private static final List<String> JVM = List.of("-Xmx256m", "-XX:TieredStopAtLevel=1");
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void aServerKilledMidPatchResumesToIdenticalBytes() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        String[] args = sets(s3.serverSettings(bucket, "storage.s3.partSize", "5MiB"));
        Path data = dir.resolve("data");
        long total = 24 * MIB + 3;
        long acked = 6 * MIB + 1;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        String id;
        try (ServerProcess first = ServerProcess.serve(data, JVM, args)) {
            HttpResponse<String> created = client.send(request(first, "/files/")
                    .header("Upload-Length", String.valueOf(total))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
            id = path.substring(Tus.BASE.length());
            HttpResponse<String> ok = client.send(patch(first, id, 0,
                    HttpRequest.BodyPublishers.ofByteArray(new GeneratedBody(total, 1).readNBytes((int) acked))),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(204);

            // Twelve MiB of other bytes, then the client stalls: parts 2 and 3 get sealed with bytes that never count.
            Stalling garbage = new Stalling(new GeneratedBody(total - acked, 666), 12 * MIB);
            CompletableFuture<HttpResponse<String>> hung = client.sendAsync(patch(first, id, acked,
                    HttpRequest.BodyPublishers.fromPublisher(
                            HttpRequest.BodyPublishers.ofInputStream(() -> garbage), total - acked)),
                    HttpResponse.BodyHandlers.ofString());
            String sealed = "resumable/" + id + "/chunk-00003";
            try {
                Await.until(Duration.ofSeconds(60), "the server sealed part 3 past the acknowledged offset",
                        () -> s3.objects(bucket).contains(sealed));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; objects " + s3.objects(bucket) + "; PATCH "
                        + (hung.isDone() ? hung.handle((r, t) -> r != null ? r.statusCode() + " " + r.body()
                        : t.toString()).join() : "running") + "; server output:\n" + first.output(), e);
            }
            first.process().destroyForcibly();
            assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).as("killed server gone").isTrue();
            garbage.release();
            try {
                HttpResponse<String> r = hung.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as("no acknowledgement of the stalled PATCH").isNotEqualTo(204);
            } catch (java.util.concurrent.ExecutionException expected) {
                // the connection died with the server
            }
        }
        client.shutdownNow();

        HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        try (ServerProcess second = ServerProcess.serve(data, JVM, args)) {
            HttpResponse<String> head = fresh.send(request(second, "/files/" + id).method("HEAD",
                    HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(acked));

            InputStream rest = new GeneratedBody(total, 1);
            rest.skipNBytes(acked);
            HttpResponse<String> done = fresh.send(patch(second, id, acked,
                    HttpRequest.BodyPublishers.ofByteArray(rest.readAllBytes())), HttpResponse.BodyHandlers.ofString());
            assertThat(done.statusCode()).as(done.body()).isEqualTo(204);
            assertThat(done.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(total));
            assertThat(done.headers().firstValue("Sluice-Upload-Id")).hasValue(id);

            String expected = S3ResumableUploadTest.sha(new GeneratedBody(total, 1));
            HttpResponse<String> record = fresh.send(request(second, "/api/v1/uploads/" + id).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(Json.parse(record.body()).path("sha256").asText()).isEqualTo(expected);
            HttpResponse<InputStream> content = fresh.send(request(second, "/files/" + id).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = content.body()) {
                assertThat(S3ResumableUploadTest.sha(in)).as("downloaded bytes").isEqualTo(expected);
            }
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + id);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            assertThat(spoolFiles(data)).as("spool files").isEmpty();
        } finally {
            fresh.shutdownNow();
        }
    }

    /**
     * A long PATCH records a checkpoint every 64 MiB while it runs; on S3 the checkpoint's sync writes the tail
     * chunk, and once the offset is recorded the chunks below it are deleted (the bucket holds about one part's
     * worth of chunks, not the whole upload twice). Killed after that, the server resumes from the checkpoint.
     */
    @Test
    void aLongPatchKilledAfterACheckpointResumesFromIt() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        String[] args = sets(s3.serverSettings(bucket, "storage.s3.partSize", "5MiB"));
        Path data = dir.resolve("data");
        long total = 80 * MIB + 11;
        long stallAt = 72 * MIB;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        String id;
        long recorded;
        try (ServerProcess first = ServerProcess.serve(data, JVM, args)) {
            HttpResponse<String> created = client.send(request(first, "/files/")
                    .header("Upload-Length", String.valueOf(total))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            id = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath()
                    .substring(Tus.BASE.length());
            Stalling body = new Stalling(new GeneratedBody(total, 2), stallAt);
            CompletableFuture<HttpResponse<String>> hung = client.sendAsync(patch(first, id, 0,
                    HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> body),
                            total)), HttpResponse.BodyHandlers.ofString());
            String chunks = "resumable/" + id + "/chunk-";
            Await.until(Duration.ofSeconds(90), "a checkpoint recorded and the chunks below it removed",
                    () -> recordedOffset(data, id) >= 64 * MIB
                            && s3.objects(bucket).stream().filter(k -> k.startsWith(chunks)).count() <= 3);
            recorded = recordedOffset(data, id);
            first.process().destroyForcibly();
            assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).as("killed server gone").isTrue();
            body.release();
            try {
                HttpResponse<String> r = hung.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as("no acknowledgement of the stalled PATCH").isNotEqualTo(204);
            } catch (java.util.concurrent.ExecutionException expected) {
                // the connection died with the server
            }
        }
        client.shutdownNow();
        assertThat(recorded).isBetween(64 * MIB, stallAt);

        HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        try (ServerProcess second = ServerProcess.serve(data, JVM, args)) {
            HttpResponse<String> head = fresh.send(request(second, "/files/" + id).method("HEAD",
                    HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(head.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(recorded));
            InputStream rest = new GeneratedBody(total, 2);
            rest.skipNBytes(recorded);
            HttpResponse<String> done = fresh.send(patch(second, id, recorded,
                    HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> rest),
                            total - recorded)), HttpResponse.BodyHandlers.ofString());
            assertThat(done.statusCode()).as(done.body()).isEqualTo(204);
            assertThat(done.headers().firstValue("Sluice-Upload-Id")).hasValue(id);
            HttpResponse<String> record = fresh.send(request(second, "/api/v1/uploads/" + id).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(Json.parse(record.body()).path("sha256").asText())
                    .isEqualTo(S3ResumableUploadTest.sha(new GeneratedBody(total, 2)));
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + id);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            assertThat(spoolFiles(data)).as("spool files").isEmpty();
        } finally {
            fresh.shutdownNow();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    /** The offset in the database (read-only, beside the running server). */
    private static long recordedOffset(Path data, String id) throws Exception {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        config.setBusyTimeout(5_000);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("sluice.db"),
                config.toProperties());
             PreparedStatement ps = c.prepareStatement("SELECT upload_offset FROM resumable_uploads WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }

    private static HttpRequest.Builder request(ServerProcess p, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path)).timeout(REQUEST_TIMEOUT)
                .header("Tus-Resumable", Tus.VERSION);
    }

    private static HttpRequest patch(ServerProcess p, String id, long offset, HttpRequest.BodyPublisher body) {
        return request(p, "/files/" + id).header("Upload-Offset", String.valueOf(offset))
                .header("Content-Type", Tus.OCTETS).method("PATCH", body).build();
    }

    /** {@code key value ...} pairs as {@code --set key=value} arguments. */
    private static String[] sets(String[] pairs) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            out.add("--set");
            out.add(pairs[i] + "=" + pairs[i + 1]);
        }
        return out.toArray(String[]::new);
    }

    /** Files under the data directory's spool areas (tmp, s3-spool). */
    private static List<Path> spoolFiles(Path data) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String name : List.of("tmp", "s3-spool")) {
            Path d = data.resolve(name);
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.list(d)) {
                    s.forEach(out::add);
                }
            }
        }
        return out;
    }

    /** Gives {@code stallAt} bytes of {@code source}, then blocks until released, then ends. */
    private static final class Stalling extends InputStream {
        private final InputStream source;
        private final CountDownLatch released = new CountDownLatch(1);
        private long left;

        Stalling(InputStream source, long stallAt) {
            this.source = source;
            this.left = stallAt;
        }

        void release() {
            released.countDown();
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                try {
                    released.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("stalled body released: the server is gone");
            }
            int n = source.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }
}
