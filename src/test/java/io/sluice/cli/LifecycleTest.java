package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The server as a process: refusing bad configuration, draining on SIGTERM, cleaning up when the grace runs out. */
class LifecycleTest {

    private static final Duration EXIT = Duration.ofSeconds(30);
    /** A client's pause mid-body, not a wait for server state. */
    private static final long CLIENT_PAUSE_MILLIS = 2_000;

    @TempDir
    Path dir;

    @Test
    void unknownKeyOnTheCommandLine() throws Exception {
        assertRefused(Map.of(), "limits.maxFileSiz", "--set", "limits.maxFileSiz=1MB");
    }

    @Test
    void malformedSize() throws Exception {
        assertRefused(Map.of(), "limits.maxFileSize", "--set", "limits.maxFileSize=10XB");
    }

    @Test
    void contradictorySettings() throws Exception {
        assertRefused(Map.of(), "admission.maxUploadsPerClient",
                "--set", "admission.maxConcurrentUploads=4", "--set", "admission.maxUploadsPerClient=5");
    }

    @Test
    void unknownKeyInTheConfigFile() throws Exception {
        Path yaml = dir.resolve("sluice.yaml");
        Files.writeString(yaml, """
                server:
                  port: 0
                limits:
                  maxFileSize: 1MiB
                  maxFilesPerRequst: 3
                """);
        assertRefused(Map.of(), "limits.maxFilesPerRequst", "--config", yaml.toString());
    }

    @Test
    void anOptionTheProcessorRefusesStopsStartUp() throws Exception {
        Path yaml = dir.resolve("sluice.yaml");
        Files.writeString(yaml, """
                pipelines:
                  archive:
                    processor: noop
                    options: {colour: blue}
                """);
        String line = assertRefused(Map.of(), "pipelines.archive.options.colour", "--config", yaml.toString());
        assertThat(line).contains("unknown option");
    }

    @Test
    void malformedEnvironmentVariable() throws Exception {
        String line = assertRefused(Map.of("SLUICE_LIMITS_MAX_FILE_SIZE", "abc"), "limits.maxFileSize");
        assertThat(line).contains("abc");
    }

    @Test
    void malformedPortFlagIsValidatedLikeTheKey() throws Exception {
        assertRefused(Map.of(), "server.port", "--port", "abc");
    }

    /** A usage mistake names itself first, then shows the usage (so the right flag is on the screen), exit 2. */
    @Test
    void unknownFlagIsNamedFirstThenTheUsage() throws Exception {
        try (ServerProcess p = ServerProcess.start(List.of(), Map.of(), "serve", "--data",
                dir.resolve("data").toString(), "--port", "0", "--bogus")) {
            int code = p.waitFor(EXIT);
            List<String> lines = p.output().lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("WARNING:"))
                    .toList();
            assertThat(code).as(p.output()).isEqualTo(Main.EXIT_CONFIG);
            assertThat(lines.getFirst()).as(p.output()).isEqualTo("sluice: Unknown option: '--bogus'");
            assertThat(lines.get(1)).startsWith("Usage: sluice serve");
            assertThat(p.output()).contains("--set=KEY=VALUE").doesNotContain("Exception").doesNotContain("\tat ");
            assertThat(dir.resolve("data")).doesNotExist();
        }
    }

    /** Starts {@code serve} expecting exit code 2 and a single output line naming {@code key}; returns it. */
    private String assertRefused(Map<String, String> env, String key, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("serve", "--data", dir.resolve("data").toString()));
        args.addAll(List.of(extra));
        if (!args.contains("--port")) {
            args.addAll(List.of("--port", "0"));
        }
        try (ServerProcess p = ServerProcess.start(List.of(), env, args.toArray(String[]::new))) {
            int code = p.waitFor(EXIT);
            List<String> lines = p.output().lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("WARNING:"))
                    .toList();
            assertThat(code).as(p.output()).isEqualTo(Main.EXIT_CONFIG);
            assertThat(lines).as(p.output()).hasSize(1);
            assertThat(lines.getFirst()).contains(key);
            assertThat(p.output()).doesNotContain("Exception").doesNotContain("\tat ");
            return lines.getFirst();
        }
    }

    @Test
    void sigtermDrainsTheUploadInFlightThenExitsZero() throws Exception {
        Path data = dir.resolve("data");
        byte[] body = HeldUpload.bytes(2 << 20, 42);
        String id;
        try (ServerProcess p = ServerProcess.serve(data, List.of(), "--set", "server.shutdownGrace=10s")) {
            try (HttpClient client = fresh(); HeldUpload upload = HeldUpload.start(p.port(), null, "drain.bin", body, 1 << 20)) {
                Await.until(Duration.ofSeconds(10), "upload in flight",
                        () -> detailed(client, p.port()).at("/uploads/active").asInt() == 1);

                p.sigterm();
                // Readiness goes first: the listener closes (refused) or answers 503 while draining. A probe has a
                // timeout, as a load balancer's does: a connection made at the very instant the listener closes
                // can be left unanswered until the stop, and that too means "not ready".
                Await.until(Duration.ofSeconds(10), "readiness refused or 503", () -> {
                    try (HttpClient c = fresh()) {
                        HttpRequest probe = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port()
                                + "/health/ready")).timeout(Duration.ofSeconds(1)).build();
                        return c.send(probe, HttpResponse.BodyHandlers.ofString()).statusCode() == 503;
                    } catch (IOException refusedOrTimedOut) {
                        return true;
                    }
                });
                assertThat(p.process().isAlive()).as("still draining").isTrue();

                // A real client pauses now and then (radio, congestion); this pause is longer than Jetty's
                // 1 s shutdown idle timeout, which must not cut an upload the grace still allows.
                upload.sendMore(256 << 10);
                Thread.sleep(CLIENT_PAUSE_MILLIS);
                RawResponse done = upload.finish();
                assertThat(done.status()).as(done.body()).isEqualTo(201);
                assertThat(done.header("Connection")).as("no keep-alive while draining").isEqualToIgnoringCase("close");
                JsonNode stored = Json.parse(done.body()).at("/uploads/0");
                assertThat(stored.path("sha256").asText()).isEqualTo(HeldUpload.sha256(body));
                assertThat(stored.path("size").asLong()).isEqualTo(body.length);
                id = stored.path("id").asText();
            }
            assertThat(p.waitFor(Duration.ofSeconds(10 + 10))).as(p.output()).isZero();
            assertThat(p.output()).doesNotContain("OutOfMemoryError").contains("Stopped");
        }

        try (ServerProcess again = ServerProcess.serve(data, List.of()); HttpClient c = fresh()) {
            HttpResponse<String> list = c.send(get(again.port(), "/api/v1/uploads"), HttpResponse.BodyHandlers.ofString());
            assertThat(list.statusCode()).isEqualTo(200);
            JsonNode uploads = Json.parse(list.body()).path("uploads");
            assertThat(uploads).hasSize(1);
            assertThat(uploads.get(0).path("id").asText()).isEqualTo(id);
            assertThat(uploads.get(0).path("sha256").asText()).isEqualTo(HeldUpload.sha256(body));
            again.sigterm();
            assertThat(again.waitFor(EXIT)).isZero();
        }
    }

    @Test
    void aSecondSignalDoesNotCutTheDrainShort() throws Exception {
        byte[] body = HeldUpload.bytes(1 << 20, 9);
        try (ServerProcess p = ServerProcess.serve(dir.resolve("data"), List.of(), "--set", "server.shutdownGrace=10s");
             HttpClient client = fresh();
             RawHttp keptAlive = new RawHttp(p.port(), 10_000);
             HeldUpload upload = HeldUpload.start(p.port(), null, "twice.bin", body, 1000)) {
            assertThat(get(keptAlive, "/api/v1/uploads").status()).isEqualTo(200);
            Await.until(Duration.ofSeconds(10), "upload in flight",
                    () -> detailed(client, p.port()).at("/uploads/active").asInt() == 1);
            p.sigterm();
            Await.until(Duration.ofSeconds(10), "draining", () -> p.output().contains("Shutting down"));

            // A new request on a connection opened before: refused like every 503, with a reason and Retry-After
            // (unless Jetty already closed the idle connection, which is as good).
            RawResponse refused = tryGet(keptAlive, "/api/v1/uploads");
            if (refused != null) {
                assertThat(refused.status()).isEqualTo(503);
                assertThat(Json.errorCode(refused.body())).isEqualTo("draining");
                assertThat(Long.parseLong(refused.header("Retry-After"))).isGreaterThanOrEqualTo(1);
            }

            p.sigterm(); // impatient operator, or a supervisor repeating itself
            Await.until(Duration.ofSeconds(10), "second signal handled",
                    () -> p.output().contains("Already shutting down"));
            RawResponse done = upload.finish();
            assertThat(done.status()).as(done.body() + "\n" + p.output()).isEqualTo(201);
            assertThat(p.waitFor(Duration.ofSeconds(20))).isZero();
            assertThat(p.output()).contains("Stopped");
        }
    }

    /**
     * Issue 16: the ports are bound before anything else, so a port in use (public or admin) is one line naming the
     * port and its key, exit 1, and a fresh data directory stays absent: no secrets, database or log file written,
     * and nothing started that would need draining.
     */
    @Test
    void portAlreadyTakenIsOneLineBeforeAnythingIsWritten() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String busy = String.valueOf(taken.getLocalPort());
            Map<String, List<String>> cases = Map.of(
                    "server.port", List.of("--port", busy),
                    "server.adminPort", List.of("--port", "0", "--admin-port", busy));
            for (var c : cases.entrySet()) {
                Path data = dir.resolve("fresh-" + c.getKey());
                List<String> args = new java.util.ArrayList<>(List.of("serve", "--host", "127.0.0.1", "--data",
                        data.toString()));
                args.addAll(c.getValue());
                try (ServerProcess p = ServerProcess.start(List.of(), Map.of(), args.toArray(String[]::new))) {
                    assertThat(p.waitFor(EXIT)).as(p.output()).isEqualTo(Main.EXIT_START_FAILED);
                    // stdout and stderr merged: exactly one line in all, the error.
                    List<String> lines = p.output().lines().filter(l -> !l.isBlank()).toList();
                    assertThat(lines).as(p.output()).hasSize(1);
                    assertThat(lines.getFirst()).startsWith("sluice: cannot start: port " + busy)
                            .contains(c.getKey()).doesNotContain("\tat ");
                    assertThat(p.output()).doesNotContainIgnoringCase("draining");
                    assertThat(data).as("a fresh data directory stays absent (" + c.getKey() + ")").doesNotExist();
                }
            }
        }
    }

    @Test
    void graceRunsOutOnAStalledUploadAndItsStagedFileIsRemoved() throws Exception {
        Path data = dir.resolve("data");
        try (ServerProcess p = ServerProcess.serve(data, List.of(), "--set", "server.shutdownGrace=1s",
                "--set", "server.minRequestDataRate=0")) {
            try (HttpClient client = fresh(); HeldUpload stalled = HeldUpload.start(p.port(), null, "stalled.bin",
                    HeldUpload.bytes(10 << 20, 7), 300_000)) {
                Await.until(Duration.ofSeconds(10), "upload staged",
                        () -> detailed(client, p.port()).at("/uploads/staged").asInt() == 1
                                && countFiles(data.resolve("tmp")) == 1);
                p.sigterm();
                // Grace (1 s) plus the wait for aborted handlers (5 s), with room for a slow machine.
                assertThat(p.waitFor(Duration.ofSeconds(1 + 6 + 8))).as(p.output()).isZero();
                assertThat(stalled.raw().closedByServer()).isTrue();
            }
            assertThat(countFiles(data.resolve("tmp"))).as("staged files after shutdown\n" + p.output()).isZero();
            assertThat(p.output()).contains("Stopped");
        }
    }

    private static RawResponse get(RawHttp c, String path) throws IOException {
        return c.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").readResponse();
    }

    /** The response, or null when the server had closed the connection. */
    private static RawResponse tryGet(RawHttp c, String path) {
        try {
            return get(c, path);
        } catch (IOException closed) {
            return null;
        }
    }

    static JsonNode detailed(HttpClient client, int port) throws Exception {
        HttpResponse<String> r = client.send(get(port, "/health/detailed"), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return Json.parse(r.body());
    }

    static HttpRequest get(int port, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build();
    }

    /** A client with no pooled connection, so a request tests the listener rather than a kept-alive socket. */
    private static HttpClient fresh() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    }

    private static long countFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
