package io.sluice.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A crash while the application is deciding (preFinish) on two finished tus uploads: the server is killed (SIGKILL)
 * while both final PATCHes wait for the hook. Started again with the application failing, neither upload is listed
 * nor has a job; once the application answers, the client's next HEAD gets its decision: the allowed upload is
 * listed once with one job, the refused one is gone with its bytes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PreFinishCrashTest {

    private static final List<String> JVM = List.of("-Xmx192m", "-XX:TieredStopAtLevel=1");
    private static final String SECRET = "hook-secret-0123456789";

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        http.shutdownNow();
    }

    @Test
    void anUploadWaitingForPreFinishIsNeitherListedNorQueuedAfterACrash() throws Exception {
        HookApp app = new HookApp();
        open.add(app);
        // The first server's calls never get an answer before it dies.
        app.preFinish = j -> new HookApp.Reply(200, "{\"allow\": true}", 60_000);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                pipelines:
                  first:
                    processor: noop
                    default: true
                """);
        Path data = dir.resolve("data");
        ServerProcess first = serve(data, config, app);

        byte[] good = "good bytes\n".getBytes(StandardCharsets.US_ASCII);
        byte[] bad = "bad bytes, refused\n".getBytes(StandardCharsets.US_ASCII);
        String goodPath = create(first, "good.txt", good.length);
        String badPath = create(first, "bad.txt", bad.length);
        List<CompletableFuture<HttpResponse<String>>> finals = List.of(patchAsync(first, goodPath, good),
                patchAsync(first, badPath, bad));
        Await.until(Duration.ofSeconds(30), "both final PATCHes wait for preFinish",
                () -> app.calls("preFinish").size() == 2);
        first.process().destroyForcibly();
        assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        for (CompletableFuture<HttpResponse<String>> f : finals) {
            assertThat(f).failsWithin(Duration.ofSeconds(30)); // the connection died with the server
        }

        // Start-up recovery asks again; the application fails: both stay unlisted, without a job.
        app.preFinish = j -> new HookApp.Reply(502, "down", 0);
        ServerProcess second = serve(data, config, app);
        assertThat(app.calls("preFinish")).as("recovery asked again").hasSizeGreaterThanOrEqualTo(4);
        assertThat(get(second, "/api/v1/uploads").path("uploads")).isEmpty();
        assertThat(get(second, "/api/v1/jobs").path("jobs")).isEmpty();
        assertThat(head(second, goodPath).statusCode()).as("HEAD while the application fails").isEqualTo(503);

        app.preFinish = j -> j.path("upload").path("filename").asText().equals("bad.txt")
                ? HookApp.Reply.refuse(422, "infected") : HookApp.Reply.allow();
        HttpResponse<String> goodHead = head(second, goodPath);
        assertThat(goodHead.statusCode()).isEqualTo(200);
        assertThat(goodHead.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(good.length));
        HttpResponse<String> badHead = head(second, badPath);
        assertThat(badHead.statusCode()).as(badHead.body()).isEqualTo(422);
        assertThat(head(second, badPath).statusCode()).isEqualTo(404);

        JsonNode uploads = get(second, "/api/v1/uploads").path("uploads");
        assertThat(uploads).hasSize(1);
        assertThat(uploads.get(0).path("filename").asText()).isEqualTo("good.txt");
        assertThat(get(second, "/api/v1/jobs").path("jobs")).hasSize(1);
        String badId = badPath.substring(badPath.lastIndexOf('/') + 1);
        try (var files = Files.walk(data)) {
            assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(badId))).as("the refused upload's bytes").isEmpty();
        }
    }

    private ServerProcess serve(Path data, Path config, HookApp app) throws Exception {
        ServerProcess p = ServerProcess.start(JVM, Map.of(), "serve", "--port", "0", "--data", data.toString(),
                "--config", config.toString(), "--set", "limits.diskReserve=0",
                "--set", "hooks.preFinish=" + app.url("/finish"), "--set", "hooks.timeout=30s",
                "--set", "webhooks.secret=" + SECRET);
        open.add(p);
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    private HttpRequest.Builder request(ServerProcess p, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path))
                .timeout(Duration.ofSeconds(30)).header("Tus-Resumable", "1.0.0");
    }

    private String create(ServerProcess p, String filename, long length) throws Exception {
        HttpResponse<String> r = http.send(request(p, "/files/").header("Upload-Length", String.valueOf(length))
                .header("Upload-Metadata", "filename " + Base64.getEncoder().encodeToString(
                        filename.getBytes(StandardCharsets.UTF_8)))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return URI.create(r.headers().firstValue("Location").orElseThrow()).getPath();
    }

    private CompletableFuture<HttpResponse<String>> patchAsync(ServerProcess p, String path, byte[] bytes) {
        return http.sendAsync(request(p, path).header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> head(ServerProcess p, String path) throws Exception {
        return http.send(request(p, path).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode get(ServerProcess p, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }
}
