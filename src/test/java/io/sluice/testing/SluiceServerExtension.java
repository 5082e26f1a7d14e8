package io.sluice.testing;

import io.sluice.Application;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * One real {@link TestServer} per test class: owns a temporary directory, starts the server before the class's first
 * test (and before its own {@code @BeforeAll} methods, which may therefore use it) and closes it after the last.
 * Register it on a static field:
 * <pre>{@code
 * @RegisterExtension
 * static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "64KiB");
 * }</pre>
 * It answers the {@link TestServer} calls itself ({@code server.uri(..)}, {@code server.send(..)}, ...);
 * {@link #server()} is the running server for helpers that take one. The data directory is {@code <tmp>/data}; a
 * {@link #config(String) sluice.yaml} goes to {@code <tmp>/sluice.yaml}.
 */
public final class SluiceServerExtension implements BeforeAllCallback, AfterAllCallback {

    private final List<String> settings;
    private final List<LateSettings> lateSettings = new ArrayList<>();
    private String yaml;
    private Path configFile;
    private Path dir;
    private TestServer server;

    private SluiceServerExtension(List<String> settings) {
        this.settings = settings;
    }

    /** @param settings configuration keys to override, in pairs: {@code "limits.maxFileSize", "1MiB"} */
    public static SluiceServerExtension with(String... settings) {
        if (settings.length % 2 != 0) {
            throw new IllegalArgumentException("settings come in key/value pairs: " + Arrays.toString(settings));
        }
        return new SluiceServerExtension(List.of(settings));
    }

    /** A {@code sluice.yaml} for what only the file can hold (pipelines, relays). */
    public SluiceServerExtension config(String sluiceYaml) {
        this.yaml = sluiceYaml;
        return this;
    }

    /** A {@code sluice.yaml} read where it is (an example's own file, whose relative paths must still resolve). */
    public SluiceServerExtension configFile(Path file) {
        this.configFile = file;
        return this;
    }

    /** Settings computed when the server starts, from the extension's directory; may prepare files there. */
    @FunctionalInterface
    public interface LateSettings {
        /** @return key/value pairs, like {@link #with} takes */
        List<String> settings(Path dir) throws Exception;
    }

    /**
     * Settings known only when the server starts (an S3 bucket, a static site written into the directory):
     * {@code more} runs then, before each (re)start, after the fixed settings, so its values win.
     */
    public SluiceServerExtension settings(LateSettings more) {
        lateSettings.add(more);
        return this;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory("sluice-" + context.getRequiredTestClass().getSimpleName() + "-");
        server = start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        try {
            if (server != null) {
                server.close();
                server = null;
            }
        } finally {
            deleteTree(dir);
        }
    }

    /** Closes the server and starts a new one on the same data directory and settings (a restart). */
    public TestServer restart() throws Exception {
        if (server != null) {
            server.close();
            server = null;
        }
        server = start();
        return server;
    }

    private TestServer start() throws Exception {
        List<String> all = new ArrayList<>(settings);
        for (LateSettings more : lateSettings) {
            all.addAll(more.settings(dir));
        }
        Path file = configFile;
        if (yaml != null) {
            file = Files.writeString(dir.resolve("sluice.yaml"), yaml);
        }
        return TestServer.start(dir.resolve("data"), file, all.toArray(String[]::new));
    }

    /** The running server. */
    public TestServer server() {
        if (server == null) {
            throw new IllegalStateException("the server runs only between beforeAll and afterAll");
        }
        return server;
    }

    /** The temporary directory this extension owns (the data directory is its {@code data} child). */
    public Path dir() {
        return dir;
    }

    public Application app() {
        return server().app();
    }

    public Path dataDir() {
        return server().dataDir();
    }

    public int port() {
        return server().port();
    }

    public URI uri(String path) {
        return server().uri(path);
    }

    public HttpClient client() {
        return server().client();
    }

    public HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return server().send(request);
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return server().get(path);
    }

    public HttpResponse<String> put(String path, byte[] body) throws IOException, InterruptedException {
        return server().put(path, body);
    }

    public long stagedFiles() throws IOException {
        return server().stagedFiles();
    }

    public long blobFiles() throws IOException {
        return server().blobFiles();
    }

    public void assertNothingLeftBehind() throws Exception {
        server().assertNothingLeftBehind();
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
