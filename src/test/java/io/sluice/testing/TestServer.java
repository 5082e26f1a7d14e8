package io.sluice.testing;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.sluice.Application;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real Sluice started in-process on a random port with its own data directory, configured like production
 * except for the settings a test passes. Talk to it over HTTP; inspect its internals only to prove that nothing
 * was left behind.
 */
public final class TestServer implements AutoCloseable {

    private final Application app;
    private final Path dataDir;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestServer(Application app, Path dataDir) {
        this.app = app;
        this.dataDir = dataDir;
    }

    /** @param settings configuration keys to override, e.g. {@code "limits.maxFileSize", "1MiB"} */
    public static TestServer start(Path dataDir, String... settings) throws Exception {
        return start(dataDir, null, settings);
    }

    /**
     * @param configFile a {@code sluice.yaml} to read (what only the file can hold, such as {@code pipelines:}), or
     *                   null for none
     * @param settings   configuration keys to override, e.g. {@code "limits.maxFileSize", "1MiB"}
     */
    public static TestServer start(Path dataDir, Path configFile, String... settings) throws Exception {
        Map<String, String> overrides = new LinkedHashMap<>();
        overrides.put("server.port", "0");
        overrides.put("dataDir", dataDir.toString());
        overrides.put("limits.diskReserve", "0");
        // Hundreds of servers start in a test run: each writes its database headroom, so keep it small here
        // (the full-disk tests set the production default).
        overrides.put("database.headroom", "1MiB");
        if (Boolean.getBoolean("sluice.test.postgres")) {
            // -Dsluice.test.postgres=true runs every server test on an embedded PostgreSQL instead of SQLite: one
            // database per data directory, so a restart finds its rows (a test's own database.url still wins).
            overrides.put("database.url", Postgres.databaseFor(dataDir));
            overrides.put("database.user", Postgres.USER);
        }
        for (int i = 0; i < settings.length; i += 2) {
            overrides.put(settings[i], settings[i + 1]);
        }
        SluiceConfig config = ConfigLoader.load(configFile, Map.of(), overrides);
        return new TestServer(Application.start(config), dataDir);
    }

    public Application app() {
        return app;
    }

    public Path dataDir() {
        return dataDir;
    }

    public int port() {
        return app.port();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + app.port() + path);
    }

    public HttpClient client() {
        return client;
    }

    public HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    public HttpResponse<String> put(String path, byte[] body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    /** Files staged in the data directory's tmp folder right now. */
    public long stagedFiles() throws IOException {
        Path tmp = dataDir.resolve("tmp");
        if (!Files.exists(tmp)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(tmp)) {
            return s.count();
        }
    }

    /** Committed blobs on disk. */
    public long blobFiles() throws IOException {
        Path blobs = dataDir.resolve("blobs");
        if (!Files.exists(blobs)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(blobs)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    /**
     * Waits (cleanup after an aborted request runs on the request's thread, after the response) until no staged
     * file, no upload slot, no client share, no pooled buffer, no resumable-upload lock and no disk reservation is
     * held, then asserts it. A pipeline's job holds its output's reservation until it ends; on a fully loaded
     * machine (a whole suite on two cores) a no-op job's reservation was seen still held after 10 s, hence 30.
     */
    public void assertNothingLeftBehind() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline && !idle()) {
            Thread.sleep(25);
        }
        assertThat(stagedFiles()).as("staged temp files").isZero();
        assertThat(app.store().stagedCount()).as("open staged writers").isZero();
        assertThat(app.admission().activeUploads()).as("upload slots held").isZero();
        assertThat(app.admission().clientsHoldingSlots()).as("client shares held").isZero();
        assertThat(app.admission().bufferPool().outstanding()).as("pooled buffers out").isZero();
        assertThat(app.resumable().locksHeld()).as("resumable upload locks held").isZero();
        assertThat(app.admission().disk().reserved())
                .as(() -> "disk space reserved (a job attempt holds its reservation while it runs); the job handlers "
                        + "still running, for why:\n" + jobHandlerStacks())
                .isZero();
    }

    /**
     * The stacks of the threads inside a job handler, virtual ones included (which {@link Thread#getAllStackTraces}
     * leaves out): what a failure of the wait above shows, so a slow or stuck attempt names itself.
     */
    private static String jobHandlerStacks() {
        try {
            Path dump = Files.createTempFile("sluice-threads", ".txt");
            try {
                Files.delete(dump); // dumpThreads refuses an existing file
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                        .dumpThreads(dump.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
                String all = Files.readString(dump);
                StringBuilder out = new StringBuilder();
                for (String thread : all.split("\n\n")) {
                    if (thread.contains("io.sluice.jobs.")) {
                        out.append(thread).append("\n\n");
                    }
                }
                return out.isEmpty() ? "(none)" : out.toString();
            } finally {
                Files.deleteIfExists(dump);
            }
        } catch (IOException | RuntimeException e) {
            return "(no thread dump: " + e + ")";
        }
    }

    private boolean idle() throws IOException {
        return stagedFiles() == 0 && app.store().stagedCount() == 0 && app.admission().activeUploads() == 0
                && app.admission().clientsHoldingSlots() == 0 && app.admission().bufferPool().outstanding() == 0
                && app.resumable().locksHeld() == 0 && app.admission().disk().reserved() == 0;
    }

    @Override
    public void close() {
        app.close();
    }
}
