package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.TusConfig;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "Acknowledged means durable" (invariant 2, docs/architecture.md) for resumable uploads, shown with the server as its own process killed
 * by SIGKILL ({@code destroyForcibly}) at random instants and started again on the same data directory:
 * <ul>
 *   <li>after a restart HEAD never reports more than the client had sent, nor less than the server had
 *       acknowledged to it (in any response, even one that arrived as the server died);</li>
 *   <li>the stored resumable file holds at least the reported offset;</li>
 *   <li>the upload resumes from there to the right sha256 and byte-identical content, with nothing staged left.</li>
 * </ul>
 * The random schedule (file contents, PATCH sizes, kill points and delays) comes from one seed, printed and quoted
 * in every failure; replay it with {@code mvn test -Dtest=TusCrashTest -Dsluice.crashSeed=<seed>}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TusCrashTest {

    private static final long MIB = 1024 * 1024;
    private static final int ROUNDS = 6;
    private static final long FILE_SIZE = 48 * MIB;
    /** Slow enough that a kill finds the server inside a PATCH, fast enough to keep the test short. */
    private static final long CLIENT_BYTES_PER_SECOND = 96 * MIB;
    private static final long BIG_FILE_SIZE = 200 * MIB;
    /** Where the single long PATCH stops sending and the server is killed: past two checkpoint intervals. */
    private static final long BIG_PAUSE_AT = 152 * MIB;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /**
     * For the tests that restart the server often: C1 only, so that it starts in about half the time on a busy
     * two-core machine. What is tested does not depend on the compiler.
     */
    private static final List<String> QUICK_START_JVM = List.of("-Xmx256m", "-XX:TieredStopAtLevel=1");
    /** For the test that hashes hundreds of MiB on the server: C2's SHA-256 is several times faster than C1's. */
    private static final List<String> HASHING_JVM = List.of("-Xmx256m");

    /** Where the client stops and the server dies. */
    enum KillMode {
        /** Part-way through a PATCH body: the server is reading or writing it. */
        MID_BODY,
        /** Once the client has handed over a whole body: the server writes, syncs, records or answers it. */
        END_OF_BODY,
        /** After an acknowledgement, before the next PATCH. */
        BETWEEN
    }

    /** Kill when the upload reaches {@code at} bytes, the way {@code mode} says. */
    record Kill(long at, KillMode mode) {
    }

    @TempDir
    Path dir;

    @Test
    void uploadsKilledAtRandomInstantsResumeToTheirSha256() throws Exception {
        long seed = Long.getLong("sluice.crashSeed", new SecureRandom().nextLong());
        String replay = "seed " + seed + " (replay: -Dsluice.crashSeed=" + seed + ")";
        System.out.println("TusCrashTest: " + replay);
        Random random = new Random(seed);
        try (Node node = new Node(dir.resolve("data"), QUICK_START_JVM)) {
            try {
                List<String> ids = new ArrayList<>();
                List<Content> contents = new ArrayList<>();
                int nextMode = random.nextInt(KillMode.values().length);
                for (int round = 0; round < ROUNDS; round++) {
                    Content content = new Content(FILE_SIZE, random.nextLong());
                    // Odd rounds kill twice. The last round's second kill comes when the whole file has been sent:
                    // the server is then completing the upload (sync, promote, re-hash after the first restart,
                    // commit) or has just done so, which is where an interrupted completion happens.
                    int count = round % 2 == 1 ? 2 : 1;
                    long[] points = random.longs(count, 1, FILE_SIZE + 1).sorted().toArray();
                    Deque<Kill> kills = new ArrayDeque<>();
                    for (int k = 0; k < count; k++) {
                        boolean atTheEnd = round == ROUNDS - 1 && k == count - 1;
                        kills.add(atTheEnd ? new Kill(FILE_SIZE, KillMode.END_OF_BODY)
                                : new Kill(points[k], KillMode.values()[nextMode++ % KillMode.values().length]));
                    }
                    String context = replay + ", round " + round + ", kills " + kills;
                    System.out.println("TusCrashTest: round " + round + ": " + kills);

                    String id = create(node, content.length(), "round-" + round + ".bin");
                    uploadThroughKills(node, id, content, kills, random, context + ", upload " + id);
                    assertFinished(node, id, content, context);
                    assertNothingStaged(node, context);
                    ids.add(id);
                    contents.add(content);
                }

                // A kill with nothing in flight: every finished upload stays exactly as it was.
                node.restart();
                for (int i = 0; i < ids.size(); i++) {
                    assertFinished(node, ids.get(i), contents.get(i), replay + ", after the final restart");
                }
                assertNothingStaged(node, replay + ", after the final restart");
                node.process().sigterm();
                assertThat(node.process().waitFor(Duration.ofSeconds(30))).as("clean exit").isZero();
            } catch (AssertionError | Exception e) {
                System.err.println("TusCrashTest failed with " + replay + "; server output:\n" + node.output());
                throw e;
            }
        }
    }

    @Test
    void aLongPatchKilledLateResumesFromACheckpoint() throws Exception {
        Content content = new Content(BIG_FILE_SIZE, 20_261_107L);
        try (Node node = new Node(dir.resolve("data"), HASHING_JVM)) {
            String id = create(node, content.length(), "big.bin");

            // One PATCH for the whole file, generated as it is sent; it stops after BIG_PAUSE_AT bytes.
            PatchBody body = new PatchBody(content, 0, content.length(), BIG_PAUSE_AT, 0);
            CompletableFuture<HttpResponse<String>> response = patch(node, id, 0, body);
            CompletableFuture.anyOf(response, body.paused()).get(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(body.paused()).as("the client reached its pause before any answer: %s", response).isDone();
            // The pause lasts until a checkpoint is recorded: a state, read from the database, not a fixed time.
            Await.until(Duration.ofSeconds(60), "a checkpoint of upload " + id + " in the database",
                    () -> node.recordedOffset(id) >= TusConfig.CHECKPOINT_BYTES);
            node.kill();
            body.release();
            assertThat(answer(response)).as("no acknowledgement of an unfinished PATCH").isNull();

            node.start();
            long offset = head(node, id);
            assertThat(offset).as("the checkpoint survives the kill")
                    .isGreaterThanOrEqualTo(TusConfig.CHECKPOINT_BYTES);
            assertThat(offset).as("never more than the client sent").isLessThanOrEqualTo(body.position());
            assertThat(Files.size(node.partialPath(id))).as("bytes stored").isGreaterThanOrEqualTo(offset);

            HttpResponse<String> rest = done(patch(node, id, offset,
                    new PatchBody(content, offset, content.length(), -1, 0)));
            assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
            assertThat(rest.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(content.length()));
            assertThat(rest.headers().firstValue("Sluice-Upload-Id")).hasValue(id);
            assertFinished(node, id, content, "checkpoint");
            assertNothingStaged(node, "checkpoint");
        }
    }

    /**
     * A crash between the promotion of the finished blob and the commit of its record by a version that recorded
     * the final offset only in that commit, reproduced on disk while the server is down: the last bytes appended
     * and the file renamed into the blob store, exactly as {@code promote} leaves it, with the database still at
     * the offset before the last PATCH. The first HEAD finishes the upload and reports it complete.
     */
    @Test
    void aCompletionInterruptedAfterPromotionIsFinishedByTheNextHead() throws Exception {
        Content content = new Content(3 * MIB + 12_345, 77L);
        long tail = 4096;
        long before = content.length() - tail;
        try (Node node = new Node(dir.resolve("data"), QUICK_START_JVM)) {
            String id = create(node, content.length(), "interrupted.bin");
            HttpResponse<String> first = done(patch(node, id, 0, new PatchBody(content, 0, before, -1, 0)));
            assertThat(first.statusCode()).as(first.body()).isEqualTo(204);
            node.kill();

            Path partial = node.partialPath(id);
            assertThat(Files.size(partial)).isEqualTo(before);
            try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                 InputStream rest = content.range(before, content.length())) {
                ch.write(ByteBuffer.wrap(rest.readAllBytes()));
                ch.force(true);
            }
            Path blob = node.blobPath(id);
            Files.createDirectories(blob.getParent());
            Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE);

            node.start();
            assertThat(head(node, id)).as("the promoted blob is complete and durable").isEqualTo(content.length());
            assertFinished(node, id, content, "interrupted completion");

            // The client's stale offset learns the truth; an empty PATCH at the end is a harmless repeat.
            HttpResponse<String> stale = done(patch(node, id, before,
                    new PatchBody(content, before, content.length(), -1, 0)));
            assertThat(stale.statusCode()).as(stale.body()).isEqualTo(409);
            assertThat(Json.errorCode(stale.body())).isEqualTo("offset_mismatch");
            assertThat(Json.parse(stale.body()).at("/error/offset").asLong()).isEqualTo(content.length());
            HttpResponse<String> last = node.client().send(HttpRequest.newBuilder(node.uri("/files/" + id))
                    .timeout(REQUEST_TIMEOUT).header("Tus-Resumable", TusApi.VERSION)
                    .header("Upload-Offset", String.valueOf(content.length()))
                    .header("Content-Type", TusApi.OFFSET_OCTET_STREAM)
                    .method("PATCH", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(last.statusCode()).as(last.body()).isEqualTo(204);
            assertFinished(node, id, content, "interrupted completion");
            assertNothingStaged(node, "interrupted completion");
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * Uploads {@code content} from offset 0 in PATCHes of random sizes, killing and restarting the server at each
     * of {@code kills}, checking the offset reported after each restart and resuming from it.
     */
    private void uploadThroughKills(Node node, String id, Content content, Deque<Kill> kills, Random random,
                                    String context) throws Exception {
        long acked = 0;
        while (acked < content.length()) {
            long start = acked;
            long end = start + Math.min(patchSize(random), content.length() - start);
            Kill kill = kills.peek();
            boolean due = kill != null && kill.at() <= end;
            long pauseAt = !due || kill.mode() == KillMode.BETWEEN ? -1
                    : kill.mode() == KillMode.END_OF_BODY ? end : Math.clamp(kill.at(), start + 1, end);
            PatchBody body = new PatchBody(content, start, end, pauseAt, CLIENT_BYTES_PER_SECOND);
            CompletableFuture<HttpResponse<String>> response = patch(node, id, start, body);
            String where = context + ", PATCH " + start + ".." + end;

            if (pauseAt >= 0) {
                CompletableFuture.anyOf(response, body.paused()).get(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertThat(body.paused()).as("%s: the kill point comes before any answer (%s)", where, response)
                        .isDone();
                // No delay: the server is most likely still receiving; a short one: writing, syncing, recording.
                Thread.sleep(random.nextInt(4) == 0 ? 0 : random.nextInt(120));
                kills.pop();
                node.kill();
                body.release();
                // Whatever the server answered before it died was an acknowledgement, and must hold.
                Long answered = answer(response);
                if (answered != null) {
                    acked = answered;
                }
                acked = afterKill(node, id, content, acked, body.position(), where);
                continue;
            }

            HttpResponse<String> r = done(response);
            assertThat(r.statusCode()).as("%s: %s", where, r.body()).isEqualTo(204);
            assertThat(r.headers().firstValue("Upload-Offset")).as(where).hasValue(String.valueOf(end));
            acked = end;
            if (due) {
                kills.pop();
                node.kill();
                acked = afterKill(node, id, content, acked, acked, where + ", killed after its 204");
            }
        }
        // Kills planned in the last PATCH after one that already finished the upload: it must stay finished.
        while (!kills.isEmpty()) {
            kills.pop();
            node.restart();
            assertThat(head(node, id)).as("%s: a finished upload after a kill", context).isEqualTo(content.length());
        }
    }

    /**
     * Starts the killed server again, checks what it reports against what the client knows, and returns the offset
     * to resume from. A finish the kill interrupted is completed before the server listens: HEAD then reports the
     * whole length and the upload is listed.
     *
     * @param acked the highest offset the server acknowledged to the client
     * @param sent  the bytes the client had handed over (the server can have received fewer, never more)
     */
    private long afterKill(Node node, String id, Content content, long acked, long sent, String where)
            throws Exception {
        node.start();
        long offset = head(node, id);
        String what = where + ", acknowledged " + acked + ", sent " + sent + ", HEAD " + offset;
        assertThat(offset).as("%s: never more than the client sent", what).isLessThanOrEqualTo(sent);
        assertThat(offset).as("%s: acknowledged means durable", what).isGreaterThanOrEqualTo(acked);
        Path partial = node.partialPath(id);
        Path blob = node.blobPath(id);
        if (offset == content.length()) {
            assertThat(partial).as("%s: a finished upload's resumable file was promoted", what).doesNotExist();
            assertThat(Files.size(blob)).as("%s: the finished blob", what).isEqualTo(content.length());
            HttpResponse<String> rec = get(node, "/api/v1/uploads/" + id);
            assertThat(rec.statusCode()).as("%s: a complete upload is listed: %s", what, rec.body()).isEqualTo(200);
            return offset;
        }
        assertThat(partial).as("%s: an unfinished upload keeps its resumable file", what).exists();
        assertThat(Files.size(partial)).as("%s: bytes stored", what).isGreaterThanOrEqualTo(offset);
        return offset;
    }

    /** Mostly small and medium PATCHes, some of several MiB. */
    private static long patchSize(Random random) {
        return switch (random.nextInt(3)) {
            case 0 -> 1 + random.nextInt(256 * 1024);
            case 1 -> 256 * 1024 + random.nextInt((int) (2 * MIB));
            default -> 2 * MIB + random.nextInt((int) (6 * MIB));
        };
    }

    // ---------------------------------------------------------------------------------------------------------
    // tus over java.net.http.

    private String create(Node node, long length, String filename) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(node.uri("/files")).timeout(REQUEST_TIMEOUT)
                .header("Tus-Resumable", TusApi.VERSION)
                .header("Upload-Length", String.valueOf(length))
                .header("Upload-Metadata", "filename " + Base64.getEncoder()
                        .encodeToString(filename.getBytes(StandardCharsets.UTF_8)))
                .POST(HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> r = node.client().send(req, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String location = r.headers().firstValue("Location").orElseThrow();
        return location.substring(location.lastIndexOf('/') + 1);
    }

    private long head(Node node, String id) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(node.uri("/files/" + id)).timeout(REQUEST_TIMEOUT)
                .header("Tus-Resumable", TusApi.VERSION)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<Void> r = node.client().send(req, HttpResponse.BodyHandlers.discarding());
        assertThat(r.statusCode()).as("HEAD %s", id).isEqualTo(200);
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    private CompletableFuture<HttpResponse<String>> patch(Node node, String id, long offset, PatchBody body) {
        HttpRequest req = HttpRequest.newBuilder(node.uri("/files/" + id)).timeout(REQUEST_TIMEOUT)
                .header("Tus-Resumable", TusApi.VERSION)
                .header("Upload-Offset", String.valueOf(offset))
                .header("Content-Type", TusApi.OFFSET_OCTET_STREAM)
                .method("PATCH", HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> body), body.length()))
                .build();
        return node.client().sendAsync(req, HttpResponse.BodyHandlers.ofString());
    }

    /** The answer of a request that must not fail. */
    private static HttpResponse<String> done(CompletableFuture<HttpResponse<String>> response) throws Exception {
        return response.get(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    private static HttpResponse<String> get(Node node, String path) throws Exception {
        return node.client().send(HttpRequest.newBuilder(node.uri(path)).timeout(REQUEST_TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * The offset of a PATCH's answer, once the request has ended after a kill: an answer that made it out
     * before the process died counts as an acknowledgement; a broken connection is none (null).
     */
    private static Long answer(CompletableFuture<HttpResponse<String>> response) throws InterruptedException {
        HttpResponse<String> r;
        try {
            r = response.get(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return null;
        } catch (TimeoutException e) {
            throw new AssertionError("the PATCH neither failed nor finished after the kill", e);
        }
        assertThat(r.statusCode()).as("an answer given before the kill: %s", r.body()).isEqualTo(204);
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    /** The upload's record has the file's sha256, and {@code GET /files/{id}} returns the very same bytes. */
    private void assertFinished(Node node, String id, Content content, String context) throws Exception {
        HttpResponse<String> rec = get(node, "/api/v1/uploads/" + id);
        assertThat(rec.statusCode()).as("%s: record of %s: %s", context, id, rec.body()).isEqualTo(200);
        JsonNode upload = Json.parse(rec.body());
        assertThat(upload.path("size").asLong()).as("%s: size of %s", context, id).isEqualTo(content.length());
        assertThat(upload.path("sha256").asText()).as("%s: sha256 of %s", context, id).isEqualTo(content.sha256());

        HttpResponse<InputStream> got = node.client().send(HttpRequest.newBuilder(node.uri("/files/" + id))
                .timeout(REQUEST_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(got.statusCode()).as("%s: GET /files/%s", context, id).isEqualTo(200);
        try (InputStream actual = got.body(); InputStream expected = content.range(0, content.length())) {
            assertThat(firstDifference(actual, expected)).as("%s: first differing byte of %s", context, id)
                    .isEqualTo(-1);
        }
    }

    /** The position of the first byte where the streams differ (also in length), or -1 when they are equal. */
    private static long firstDifference(InputStream a, InputStream b) throws IOException {
        byte[] x = new byte[64 * 1024];
        byte[] y = new byte[64 * 1024];
        long pos = 0;
        while (true) {
            int n = a.readNBytes(x, 0, x.length);
            int m = b.readNBytes(y, 0, y.length);
            int mismatch = Arrays.mismatch(x, 0, n, y, 0, m);
            if (mismatch >= 0) {
                return pos + mismatch;
            }
            if (n == 0) {
                return -1;
            }
            pos += n;
        }
    }

    /** Nothing staged on disk (the start-up sweep removed what a kill left) nor open in the server. */
    private void assertNothingStaged(Node node, String context) throws Exception {
        try (Stream<Path> files = Files.walk(node.data().resolve("tmp"))) {
            assertThat(files.filter(Files::isRegularFile).toList()).as("%s: staged files", context).isEmpty();
        }
        JsonNode uploads = Json.parse(get(node, "/health/detailed").body()).path("uploads");
        assertThat(uploads.path("staged").asInt()).as("%s: staged writers", context).isZero();
        assertThat(uploads.path("active").asInt()).as("%s: upload slots held", context).isZero();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** The server as a process on one data directory, killed with SIGKILL and started again. */
    private static final class Node implements AutoCloseable {
        private final Path data;
        private final List<String> jvmOptions;
        private ServerProcess process;
        private HttpClient client;
        /** Everything earlier processes printed, for a failure report. */
        private final StringBuilder earlierOutput = new StringBuilder();

        Node(Path data, List<String> jvmOptions) throws Exception {
            this.data = data;
            this.jvmOptions = jvmOptions;
            start();
        }

        /** Starts the server, with a new client: no pooled connection to a dead process can be picked up. */
        void start() throws Exception {
            if (client != null) {
                client.shutdownNow();
            }
            process = ServerProcess.serve(data, jvmOptions);
            client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10)).build();
        }

        /** SIGKILL, and wait until the process is gone. */
        void kill() throws InterruptedException {
            process.process().destroyForcibly();
            assertThat(process.process().waitFor(30, TimeUnit.SECONDS)).as("killed process gone").isTrue();
            earlierOutput.append(process.output()).append("---- killed ----\n");
        }

        void restart() throws Exception {
            kill();
            start();
        }

        ServerProcess process() {
            return process;
        }

        HttpClient client() {
            return client;
        }

        Path data() {
            return data;
        }

        URI uri(String path) {
            return URI.create("http://127.0.0.1:" + process.port() + path);
        }

        /** {@code <data>/resumable/<xy>/<id>}: an unfinished upload's bytes (LocalBlobStore's layout). */
        Path partialPath(String id) {
            return data.resolve("resumable").resolve(id.substring(id.length() - 2)).resolve(id);
        }

        /** {@code <data>/blobs/<xy>/<id>}: a finished upload's bytes. */
        Path blobPath(String id) {
            return data.resolve("blobs").resolve(id.substring(id.length() - 2)).resolve(id);
        }

        /** The offset recorded in the database, read beside the running server (SQLite in WAL mode allows it). */
        long recordedOffset(String id) throws Exception {
            SQLiteConfig config = new SQLiteConfig();
            config.setReadOnly(true);
            config.setBusyTimeout(5_000);
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("sluice.db"),
                    config.toProperties());
                 PreparedStatement ps = c.prepareStatement(
                         "SELECT upload_offset FROM resumable_uploads WHERE id = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getLong(1) : -1;
                }
            }
        }

        String output() {
            return earlierOutput + process.output();
        }

        @Override
        public void close() {
            process.close();
            if (client != null) {
                client.shutdownNow();
            }
        }
    }

    /**
     * The bytes of a test file: 64 KiB blocks, each from its own seeded generator, so that any range can be
     * produced without the bytes before it and nothing is held in memory.
     */
    record Content(long length, long seed) {
        static final int BLOCK = 64 * 1024;

        /** The bytes from {@code from} (inclusive) to {@code to} (exclusive). */
        InputStream range(long from, long to) {
            return new InputStream() {
                private final byte[] block = new byte[BLOCK];
                private long cached = -1;
                private long pos = from;

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    if (pos >= to) {
                        return -1;
                    }
                    long index = pos / BLOCK;
                    if (index != cached) {
                        new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L)).nextBytes(block);
                        cached = index;
                    }
                    int inBlock = (int) (pos % BLOCK);
                    int n = (int) Math.min(Math.min(len, BLOCK - inBlock), to - pos);
                    System.arraycopy(block, inBlock, b, off, n);
                    pos += n;
                    return n;
                }
            };
        }

        String sha256() throws IOException {
            try (InputStream in = range(0, length)) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                byte[] buf = new byte[BLOCK];
                int n;
                while ((n = in.read(buf, 0, buf.length)) > 0) {
                    md.update(buf, 0, n);
                }
                return HexFormat.of().formatHex(md.digest());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * A PATCH body: {@code content[start, end)}, at most {@code bytesPerSecond} (0: as fast as it is read), with
     * an optional pause point. When the client library has taken the bytes up to {@code pauseAt},
     * {@link #paused()} completes; if body bytes remain, the next read waits for {@link #release()} (after the
     * kill) and fails, so the request never sends more than {@code pauseAt - start} bytes.
     */
    static final class PatchBody extends InputStream {
        private static final int CHUNK = 64 * 1024;
        private final InputStream source;
        private final long start;
        private final long end;
        private final long pauseAt;
        private final long bytesPerSecond;
        private final CompletableFuture<Long> paused = new CompletableFuture<>();
        private final CountDownLatch released = new CountDownLatch(1);
        private volatile long position;
        private long startedAt = -1;

        PatchBody(Content content, long start, long end, long pauseAt, long bytesPerSecond) {
            this.source = content.range(start, end);
            this.start = start;
            this.end = end;
            this.pauseAt = pauseAt;
            this.bytesPerSecond = bytesPerSecond;
            this.position = start;
        }

        long length() {
            return end - start;
        }

        /** The absolute offset up to which bytes were handed to the client library. */
        long position() {
            return position;
        }

        CompletableFuture<Long> paused() {
            return paused;
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
            if (position >= end) {
                return -1;
            }
            if (position == pauseAt) {
                try {
                    if (!released.await(REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                        throw new IOException("the test never released the paused body");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("the server was killed here, at " + position);
            }
            long limit = pauseAt > position ? pauseAt : end;
            int n = source.read(b, off, (int) Math.min(Math.min(len, CHUNK), limit - position));
            pace(n);
            position += n;
            if (position == pauseAt) {
                paused.complete(position);
            }
            return n;
        }

        /** Sleeps so that the bytes handed over so far do not run ahead of the rate. */
        private void pace(int n) {
            if (bytesPerSecond <= 0) {
                return;
            }
            long now = System.nanoTime();
            if (startedAt < 0) {
                startedAt = now;
            }
            long due = startedAt + (position + n - start) * 1_000_000_000L / bytesPerSecond;
            while (now < due) {
                LockSupport.parkNanos(due - now);
                now = System.nanoTime();
            }
        }
    }
}
