package io.sluice.examples;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.Units;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * examples/drive-uploads: the Drive-like store on a small box. The server runs as its own process with
 * {@code -Xmx256m} and the example's {@code sluice.yaml}; {@value #DEFAULT_FILES} files of
 * {@value #DEFAULT_FILE_SIZE} are pushed at once, each as {@value #DEFAULT_CHUNKS} tus partial uploads sent in
 * parallel and joined with {@code Upload-Concat: final}, i.e. more PATCH streams than the configured upload slots.
 * The excess gets {@code 503} + {@code Retry-After}; the client honours it and every file completes with the sha256
 * the client computed. Keys come from {@code sluice keys create}, one per user, each with a quota that refuses a
 * file too many with {@code 413 quota_exceeded}; the admin panel's {@code /api/v1/system/upload-status} answers
 * all along.
 *
 * <p>The figures are the default. For a quick run: {@code -Dsluice.example.drive.files=20
 * -Dsluice.example.drive.fileSize=16MiB} (also {@code .chunks}); the README's numbers come from the default run.
 */
class DriveUploadsExampleTest {

    static final int DEFAULT_FILES = 20;
    static final String DEFAULT_FILE_SIZE = "200MiB";
    static final int DEFAULT_CHUNKS = 4;
    private static final Path EXAMPLE = Path.of("examples/drive-uploads");
    private static final String QUOTA = "1GiB";
    private static final Pattern KEY = Pattern.compile("id:\\s+(\\S+)\\s+key:\\s+(sk_\\S+)");

    private final int files = Integer.getInteger("sluice.example.drive.files", DEFAULT_FILES);
    private final long fileSize = Units.parseSize(System.getProperty("sluice.example.drive.fileSize",
            DEFAULT_FILE_SIZE));
    private final int chunks = Integer.getInteger("sluice.example.drive.chunks", DEFAULT_CHUNKS);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final AtomicInteger refused503 = new AtomicInteger();
    private final AtomicInteger refusedWithoutRetryAfter = new AtomicInteger();
    private final AtomicInteger refused429 = new AtomicInteger();
    private final AtomicInteger resumes = new AtomicInteger();

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void parallelChunkedUploadsOnA256MiBHeapAllCompleteThroughBackPressure() throws Exception {
        String admin = createKey("--name", "admin-panel", "--admin");
        // One key per user, each with a quota; admission counts uploads per key (4 each), slots are shared (16).
        List<String> users = new ArrayList<>();
        for (int f = 0; f < files; f++) {
            users.add(createKey("--name", "user" + f, "--quota", QUOTA));
        }
        long started = System.nanoTime();
        try (ServerProcess server = ServerProcess.serve(dir, List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError"),
                "--config", EXAMPLE.resolve("sluice.yaml").toString())) {
            String base = "http://127.0.0.1:" + server.port();

            // The admin panel polls its status endpoint (the shape the Drive's dashboard already reads) and the
            // detailed health all through the load; neither may fail.
            AtomicBoolean loading = new AtomicBoolean(true);
            AtomicInteger polls = new AtomicInteger();
            AtomicInteger pollFailures = new AtomicInteger();
            AtomicInteger maxActive = new AtomicInteger();
            AtomicInteger minSlotsAvailable = new AtomicInteger(Integer.MAX_VALUE);
            AtomicLong maxHeapUsed = new AtomicLong();
            Thread panel = Thread.ofVirtual().start(() -> {
                while (loading.get()) {
                    try {
                        JsonNode status = poll(base + "/api/v1/system/upload-status", admin, pollFailures);
                        JsonNode health = poll(base + "/health/detailed", admin, pollFailures);
                        polls.incrementAndGet();
                        if (status != null) {
                            maxActive.accumulateAndGet(status.at("/concurrency_manager/active_uploads").asInt(),
                                    Math::max);
                            minSlotsAvailable.accumulateAndGet(
                                    status.at("/concurrency_manager/global_upload_slots_available").asInt(), Math::min);
                        }
                        if (health != null) {
                            maxHeapUsed.accumulateAndGet(health.at("/memory/heapUsed").asLong(), Math::max);
                        }
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });

            // Each file is one user's: 4 chunks fit the user's share, 20 users' 80 streams do not fit 16 slots.
            TusClient adminView = new TusClient(base, admin); // an admin key reads every user's records
            List<Future<String[]>> results = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int f = 0; f < files; f++) {
                    int file = f;
                    TusClient user = new TusClient(base, users.get(f));
                    results.add(pool.submit(() -> uploadFile(user, pool, file)));
                }
                for (int f = 0; f < files; f++) {
                    String[] idAndSha = results.get(f).get();
                    String id = idAndSha[0];
                    JsonNode record = Json.parse(adminView.get("/api/v1/uploads/" + id).body());
                    assertThat(record.path("size").asLong()).as("file %d size", f).isEqualTo(fileSize);
                    assertThat(record.path("sha256").asText()).as("file %d sha256", f).isEqualTo(idAndSha[1]);
                    // A range across the first chunk boundary holds the generated bytes of both chunks.
                    long from = chunkSize() - 32 * 1024;
                    HttpResponse<byte[]> range = http.send(adminView.request("/api/v1/uploads/" + id + "/content")
                            .header("Range", "bytes=" + from + "-" + (from + 64 * 1024 - 1)).GET().build(),
                            HttpResponse.BodyHandlers.ofByteArray());
                    assertThat(range.statusCode()).isEqualTo(206);
                    assertThat(range.body()).as("file %d bytes %d..", f, from).isEqualTo(expectedBytes(f, from,
                            64 * 1024));
                }
            }
            loading.set(false);
            panel.join();
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;

            // A whole download of one file streams back the same bytes.
            HttpResponse<InputStream> whole = http.send(adminView.request("/files/" + results.get(0).get()[0]).GET()
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            assertThat(whole.statusCode()).isEqualTo(200);
            assertThat(sha256(whole.body())).isEqualTo(results.get(0).get()[1]);

            // Nothing left behind: no slot held, no staged file (the partials were removed when joined).
            JsonNode idle = poll(base + "/api/v1/system/upload-status", admin, pollFailures);
            assertThat(idle.at("/concurrency_manager/active_uploads").asInt()).isZero();
            assertThat(idle.at("/concurrency_manager/global_upload_slots_available").asInt()).isEqualTo(16);
            try (var staged = Files.list(dir.resolve("tmp"))) {
                assertThat(staged.toList()).as("staged files").isEmpty();
            }

            // A user's quota: what the user stored counts, and one more file that does not fit is refused.
            TusClient client = new TusClient(base, users.get(0));
            long quota = Units.parseSize(QUOTA);
            long used = fileSize;
            HttpResponse<String> over = http.send(client.request("/files/").header("Tus-Resumable", "1.0.0")
                    .header("Upload-Length", Long.toString(quota - used + 1))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(over.statusCode()).as(over.body()).isEqualTo(413);
            assertThat(Json.errorCode(over.body())).isEqualTo("quota_exceeded");
            assertThat(Json.parse(over.body()).at("/error/used").asLong()).isEqualTo(used);
            HttpResponse<String> fits = http.send(client.request("/files/").header("Tus-Resumable", "1.0.0")
                    .header("Upload-Length", Long.toString(quota - used))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(fits.statusCode()).as(fits.body()).isEqualTo(201);

            String summary = String.format("drive-uploads: %d files x %d MiB in %d chunks: %d s, %d x 503 and %d "
                            + "x 429 with Retry-After (all retried and completed), %d resumes after a cut PATCH, "
                            + "max active uploads %d (min free slots %d), max heap used %d MiB of 256, %d panel "
                            + "polls all 200",
                    files, fileSize >> 20, chunks, seconds, refused503.get(), refused429.get(), resumes.get(),
                    maxActive.get(), minSlotsAvailable.get(), maxHeapUsed.get() >> 20, polls.get());
            System.err.println(summary); // the numbers for the example's README
            assertThat(server.process().isAlive()).isTrue();
            assertThat(server.output()).doesNotContain("OutOfMemoryError");
            assertThat(pollFailures.get()).as("status polls that failed").isZero();
            assertThat(refusedWithoutRetryAfter.get()).as("503s without Retry-After").isZero();
            assertThat(refused503.get()).as("503s: %d PATCH streams for 16 slots", files * chunks).isPositive();
            assertThat(maxActive.get()).isLessThanOrEqualTo(16);

            server.sigterm();
            assertThat(server.waitFor(Duration.ofSeconds(60))).isZero();
        }
    }

    /** One poll of the admin panel: the JSON body, or null (counted as a failure) for anything but a 200. */
    private JsonNode poll(String url, String key, AtomicInteger failures) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                    .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return Json.parse(r.body());
            }
        } catch (Exception e) {
            // counted below
        }
        failures.incrementAndGet();
        return null;
    }

    /** Sends one file as {@link #chunks} partial uploads in parallel, then the final; returns its id and sha256. */
    private String[] uploadFile(TusClient client, ExecutorService pool, int file) throws Exception {
        List<Future<String>> parts = new ArrayList<>();
        for (int c = 0; c < chunks; c++) {
            int chunk = c;
            parts.add(pool.submit(() -> client.uploadPartial(chunkLength(chunk), seed(file, chunk))));
        }
        // The file's sha256, over the chunks in order, computed while they are being sent.
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (int c = 0; c < chunks; c++) {
            try (InputStream in = new ChunkBody(chunkLength(c), seed(file, c), 0)) {
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    sha.update(buf, 0, n);
                }
            }
        }
        List<String> paths = new ArrayList<>();
        for (Future<String> p : parts) {
            paths.add(p.get());
        }
        String id = client.concatenate(paths);
        return new String[] {id, HexFormat.of().formatHex(sha.digest())};
    }

    private long chunkSize() {
        return fileSize / chunks;
    }

    private long chunkLength(int chunk) {
        return chunk == chunks - 1 ? fileSize - chunkSize() * (chunks - 1) : chunkSize();
    }

    private static long seed(int file, int chunk) {
        return 1_000L * file + chunk;
    }

    private byte[] expectedBytes(int file, long from, int length) throws Exception {
        byte[] out = new byte[length];
        int filled = 0;
        long pos = from;
        while (filled < length) {
            int chunk = (int) Math.min(pos / chunkSize(), chunks - 1);
            long inChunk = pos - chunk * chunkSize();
            try (InputStream in = new ChunkBody(chunkLength(chunk), seed(file, chunk), inChunk)) {
                int n;
                while (filled < length && (n = in.read(out, filled, length - filled)) > 0) {
                    filled += n;
                    pos += n;
                }
            }
        }
        return out;
    }

    private static String sha256(InputStream in) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (in) {
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** {@code sluice keys create ...} on the data directory, before the server starts, as the README does it. */
    private String createKey(String... options) {
        List<String> args = new ArrayList<>(List.of("keys", "create", "--config",
                EXAMPLE.resolve("sluice.yaml").toString(), "--data", dir.toString()));
        args.addAll(List.of(options));
        var cli = io.sluice.cli.Main.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(out, true));
        assertThat(cli.execute(args.toArray(String[]::new))).as(out.toString()).isZero();
        Matcher m = KEY.matcher(out.toString());
        assertThat(m.find()).as(out.toString()).isTrue();
        return m.group(2);
    }

    /**
     * The bytes of one chunk: pseudo-random from a seed, generated as they are read (never held whole), starting at
     * {@code skip} (a resumed PATCH sends the rest of the chunk).
     */
    static final class ChunkBody extends InputStream {
        private final java.util.SplittableRandom random;
        private final byte[] block = new byte[64 * 1024];
        private int blockPos = block.length;
        private long remaining;

        ChunkBody(long length, long seed, long skip) {
            this.random = new java.util.SplittableRandom(seed);
            this.remaining = length;
            long whole = skip / block.length;
            for (long i = 0; i < whole; i++) {
                random.nextBytes(block);
            }
            remaining -= whole * block.length;
            random.nextBytes(block);
            blockPos = (int) (skip % block.length);
            remaining -= blockPos;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (remaining <= 0) {
                return -1;
            }
            if (blockPos == block.length) {
                random.nextBytes(block);
                blockPos = 0;
            }
            int n = (int) Math.min(Math.min(len, block.length - blockPos), remaining);
            System.arraycopy(block, blockPos, b, off, n);
            blockPos += n;
            remaining -= n;
            return n;
        }
    }

    /**
     * The smallest tus client the example needs: partial uploads, resume from {@code HEAD} after a cut request,
     * {@code Upload-Concat: final}, and {@code 503} + {@code Retry-After} honoured by waiting and trying again.
     */
    final class TusClient {
        private final String base;
        private final String key;

        TusClient(String base, String key) {
            this.base = base;
            this.key = key;
        }

        HttpRequest.Builder request(String path) {
            return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + key)
                    .timeout(Duration.ofMinutes(5));
        }

        HttpResponse<String> get(String path) throws Exception {
            HttpResponse<String> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
            return r;
        }

        /** Creates a partial upload of {@code length} bytes and sends them; returns its path. */
        String uploadPartial(long length, long seed) throws Exception {
            HttpResponse<String> created = send(request("/files/").header("Tus-Resumable", "1.0.0")
                    .header("Upload-Length", Long.toString(length)).header("Upload-Concat", "partial")
                    .POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
            long offset = 0;
            for (int attempt = 0; offset < length; attempt++) {
                assertThat(attempt).as("attempts for " + path).isLessThan(1000);
                if (attempt > 0) {
                    HttpResponse<String> head = send(request(path).header("Tus-Resumable", "1.0.0")
                            .method("HEAD", HttpRequest.BodyPublishers.noBody()));
                    assertThat(head.statusCode()).as(path + " HEAD").isEqualTo(200);
                    offset = Long.parseLong(head.headers().firstValue("Upload-Offset").orElseThrow());
                    if (offset >= length) {
                        break;
                    }
                    resumes.incrementAndGet();
                }
                long from = offset;
                HttpResponse<String> patched;
                try {
                    patched = send(request(path).header("Tus-Resumable", "1.0.0")
                            .header("Upload-Offset", Long.toString(from))
                            .header("Content-Type", "application/offset+octet-stream").expectContinue(true)
                            .method("PATCH", HttpRequest.BodyPublishers.fromPublisher(
                                    HttpRequest.BodyPublishers.ofInputStream(() -> new ChunkBody(length, seed, from)),
                                    length - from)));
                } catch (java.io.IOException e) {
                    System.err.println(path + " PATCH cut: " + e);
                    continue; // cut: HEAD tells where to go on
                }
                if (patched.statusCode() == 204) {
                    offset = Long.parseLong(patched.headers().firstValue("Upload-Offset").orElseThrow());
                } else {
                    assertThat(patched.statusCode()).as(path + " PATCH: " + patched.body()).isIn(409, 423);
                }
            }
            return path;
        }

        /** Joins the partials into the file; returns its upload id. */
        String concatenate(List<String> partials) throws Exception {
            HttpResponse<String> r = send(request("/files/").header("Tus-Resumable", "1.0.0")
                    .header("Upload-Concat", "final;" + String.join(" ", partials))
                    .POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            return r.headers().firstValue("Sluice-Upload-Id").orElseThrow();
        }

        /** Sends, and while the answer is 503 (or 429) waits its Retry-After and sends again. */
        private HttpResponse<String> send(HttpRequest.Builder builder) throws Exception {
            HttpRequest request = builder.build();
            while (true) {
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 429) {
                    refused429.incrementAndGet();
                } else if (r.statusCode() == 503) {
                    refused503.incrementAndGet();
                } else {
                    return r;
                }
                var retryAfter = r.headers().firstValue("Retry-After");
                if (retryAfter.isEmpty()) {
                    refusedWithoutRetryAfter.incrementAndGet();
                }
                Thread.sleep(Duration.ofSeconds(Long.parseLong(retryAfter.orElse("1"))));
            }
        }
    }
}
