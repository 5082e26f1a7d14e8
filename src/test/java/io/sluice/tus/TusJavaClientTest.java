package io.sluice.tus;

import io.sluice.testing.Await;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.SluiceServerExtension;
import io.tus.java.client.TusClient;
import io.tus.java.client.TusURLMemoryStore;
import io.tus.java.client.TusUpload;
import io.tus.java.client.TusUploader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
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
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.sluice.tus.Tus.id;
import static io.sluice.tus.Tus.locationOf;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real tus-java-client (Maven Central, pinned in pom.xml) against the real server. It cannot send PATCH
 * ({@code HttpURLConnection} refuses the method), so every append arrives as a POST with
 * {@code X-HTTP-Method-Override: PATCH}, with a chunked body and {@code Expect: 100-continue}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TusJavaClientTest {

    static final int MIB = 1024 * 1024;

    @TempDir
    static Path files;
    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with();
    static Tus tus;

    @BeforeAll
    static void start() throws Exception {
        tus = new Tus(server.server());
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    @Test
    void uploadsA20MiBFileInChunks() throws Exception {
        Path file = files.resolve("twenty.bin");
        String sha = generate(file, 20L * MIB, 1);

        TusClient client = client();
        TusUpload upload = new TusUpload(file.toFile());
        TusUploader uploader = client.createUpload(upload);
        uploader.setChunkSize(MIB);
        // Several requests, not one: each ends at a payload boundary and the next one resumes from the offset.
        uploader.setRequestPayloadSize(4 * MIB);
        while (uploader.uploadChunk() > -1) {
            // next chunk
        }
        uploader.finish();

        assertThat(uploader.getOffset()).isEqualTo(20L * MIB);
        String id = id(uploader.getUploadURL().getPath());
        assertThat(tus.offset(uploader.getUploadURL().getPath())).isEqualTo(20L * MIB);
        var record = tus.record(id);
        assertThat(record.path("sha256").asText()).isEqualTo(sha);
        assertThat(record.path("size").asLong()).isEqualTo(20L * MIB);
        assertThat(record.path("filename").asText()).isEqualTo("twenty.bin");
    }

    @Test
    void anAbandonedUploadResumesFromWhatTheServerKept() throws Exception {
        Path file = files.resolve("abandoned.bin");
        String sha = generate(file, 6L * MIB, 2);
        TusURLMemoryStore urls = new TusURLMemoryStore();

        TusClient client = client();
        client.enableResuming(urls);
        TusUpload first = new TusUpload(file.toFile());
        TusUploader abandoned = client.resumeOrCreateUpload(first);
        abandoned.setChunkSize(256 * 1024);
        for (int i = 0; i < 4; i++) {
            assertThat(abandoned.uploadChunk()).isPositive();
        }
        // The client dies here: its request is never finished, its connection never closed. The server only sees a
        // request that stopped sending.
        URL url = abandoned.getUploadURL();
        first.getInputStream().close();
        Await.until(Duration.ofSeconds(15), "the server receives the first bytes", () -> stored(id(url.getPath())) > 0);

        // A new run of the client finds the URL by fingerprint and asks the server (HEAD) where to go on.
        TusUploader resumed = client.resumeOrCreateUpload(new TusUpload(file.toFile()));
        assertThat(resumed.getUploadURL()).isEqualTo(url);
        long resumedAt = resumed.getOffset();
        assertThat(resumedAt).as("resumed offset").isPositive().isLessThanOrEqualTo(MIB);
        resumed.setChunkSize(MIB);
        while (resumed.uploadChunk() > -1) {
            // next chunk
        }
        resumed.finish();

        assertThat(tus.record(id(url.getPath())).path("sha256").asText()).isEqualTo(sha);
    }

    @Test
    void aPausedUploadResumesExactlyWhereItStopped() throws Exception {
        Path file = files.resolve("paused.bin");
        String sha = generate(file, 3L * MIB, 3);
        TusClient client = client();
        client.enableResuming(new TusURLMemoryStore());

        TusUploader paused = client.resumeOrCreateUpload(new TusUpload(file.toFile()));
        paused.setChunkSize(256 * 1024);
        for (int i = 0; i < 3; i++) {
            paused.uploadChunk();
        }
        // finish() before the end ends the request cleanly: a pause.
        paused.finish();
        URL url = paused.getUploadURL();
        assertThat(tus.offset(url.getPath())).isEqualTo(3 * 256 * 1024);

        TusUploader resumed = client.resumeOrCreateUpload(new TusUpload(file.toFile()));
        assertThat(resumed.getUploadURL()).isEqualTo(url);
        assertThat(resumed.getOffset()).isEqualTo(3 * 256 * 1024);
        resumed.setChunkSize(MIB);
        while (resumed.uploadChunk() > -1) {
            // next chunk
        }
        resumed.finish();
        assertThat(tus.record(id(url.getPath())).path("sha256").asText()).isEqualTo(sha);
    }

    @Test
    void partsUploadedInParallelAreConcatenated() throws Exception {
        Path file = files.resolve("parallel.bin");
        String sha = generate(file, 8L * MIB + 12_345, 4);
        byte[] whole = Files.readAllBytes(file);
        int parts = 4;
        int size = whole.length / parts;

        List<URL> urls = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(parts)) {
            List<Future<URL>> futures = new ArrayList<>();
            for (int i = 0; i < parts; i++) {
                int from = i * size;
                int to = i == parts - 1 ? whole.length : from + size;
                int n = i;
                futures.add(pool.submit(() -> uploadPartial(n, Tus.slice(whole, from, to))));
            }
            for (Future<URL> f : futures) {
                urls.add(f.get(60, TimeUnit.SECONDS));
            }
        }

        HttpResponse<String> created = tus.send("POST", "/files", null, "Upload-Concat",
                "final;" + String.join(" ", urls.stream().map(URL::toString).toList()),
                "Upload-Metadata", "filename " + Tus.b64("parallel.bin"));
        String path = locationOf(created);
        assertThat(created.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha);
        assertThat(tus.record(id(path)).path("size").asLong()).isEqualTo(whole.length);

        HttpResponse<InputStream> download = server.client().send(HttpRequest.newBuilder(server.uri(path)).GET()
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(download.statusCode()).isEqualTo(200);
        try (InputStream in = download.body()) {
            assertThat(sha256(in)).isEqualTo(sha);
        }
        for (URL url : urls) {
            assertThat(tus.head(url.getPath()).statusCode()).as("consumed partial").isEqualTo(404);
        }
    }

    /** One part as its own tus-java-client session, marked partial on every request. */
    private static URL uploadPartial(int n, byte[] part) throws Exception {
        TusClient client = client();
        client.setHeaders(Map.of("Upload-Concat", "partial"));
        TusUpload upload = new TusUpload();
        upload.setSize(part.length);
        upload.setInputStream(new ByteArrayInputStream(part));
        upload.setFingerprint("part-" + n);
        upload.setMetadata(Map.of("filename", "part-" + n + ".bin"));
        TusUploader uploader = client.createUpload(upload);
        uploader.setChunkSize(512 * 1024);
        uploader.setRequestPayloadSize(MIB);
        while (uploader.uploadChunk() > -1) {
            // next chunk
        }
        uploader.finish();
        assertThat(uploader.getOffset()).isEqualTo(part.length);
        return uploader.getUploadURL();
    }

    // ------------------------------------------------------------------------------------------- helpers

    private static TusClient client() throws IOException {
        TusClient client = new TusClient();
        client.setUploadCreationURL(server.uri("/files/").toURL());
        return client;
    }

    /** Writes {@code size} generated bytes to {@code file}; returns their sha256. */
    private static String generate(Path file, long size, long seed) throws IOException {
        GeneratedBody body = new GeneratedBody(size, seed);
        Files.copy(body, file);
        return body.sha256Hex();
    }

    private static String sha256(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Bytes the server holds for an unfinished upload, or -1. */
    private static long stored(String id) throws IOException {
        Optional<Path> file;
        try (Stream<Path> s = Files.walk(server.dataDir().resolve("resumable"))) {
            file = s.filter(p -> p.getFileName().toString().equals(id)).findFirst();
        }
        return file.isPresent() ? Files.size(file.get()) : -1;
    }
}
