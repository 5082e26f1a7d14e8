package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import io.sluice.upload.FinishStep;
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
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A crash between the durable steps of a tus creation whose body is the whole upload (one staged commit,
 * {@code ResumableService.createComplete}): the server halts itself ({@link FinishStep#HALT_PROPERTY}) after the
 * bytes are staged but not fsync'd ({@link FinishStep#WRITTEN}), after the fsync and the link to the blob's name
 * with the transaction not committed ({@link FinishStep#PROMOTED}), and after the commit before the {@code 201}
 * ({@link FinishStep#COMMITTED}). After each restart on the same data directory: every acknowledged upload is
 * listed once with its job and serves its bytes; the halted one is either complete in the same way (committed) or
 * absent with nothing of it left, and every file under {@code blobs/} belongs to a listed upload: nothing in
 * {@code tmp/}, {@code resumable/} or {@code blobs/} without its row.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class CreationCrashTest {

    private static final int LENGTH = 100 * 1024;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final List<String> JVM = List.of("-Xmx192m", "-XX:TieredStopAtLevel=1");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final List<ServerProcess> started = new ArrayList<>();
    private final StringBuilder output = new StringBuilder();

    @AfterEach
    void stopServers() {
        started.forEach(ServerProcess::close);
        http.shutdownNow();
    }

    @Test
    void aHaltBetweenTheStepsOfAWholeCreationLeavesEitherTheUploadOrNothing() throws Exception {
        Path data = dir.resolve("data");
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                pipelines:
                  count:
                    processor: noop
                    default: true
                """);
        Map<String, byte[]> acknowledged = new HashMap<>();
        List<FinishStep> steps = List.of(FinishStep.WRITTEN, FinishStep.PROMOTED, FinishStep.COMMITTED);
        try {
            for (FinishStep step : steps) {
                String filename = "halt-" + step.name().toLowerCase(Locale.ROOT) + ".bin";
                ServerProcess server = serve(data, config, "-D" + FinishStep.HALT_PROPERTY + "="
                        + step.name().toLowerCase(Locale.ROOT) + "@" + filename);
                // An upload acknowledged before the crash, through the same path.
                byte[] ok = bytes(step.ordinal() * 7L);
                HttpResponse<String> r = createWhole(server, "ok-" + step + ".bin", ok)
                        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertThat(r.statusCode()).as("%s: acknowledged upload: %s", step, r.body()).isEqualTo(201);
                acknowledged.put(idOf(r), ok);

                byte[] halted = bytes(step.ordinal() * 7L + 1);
                CompletableFuture<HttpResponse<String>> cut = createWhole(server, filename, halted);
                assertHalted(server, step, filename);
                assertThat(answerOf(cut)).as("%s: no answer from a server that halted", step).isNull();

                ServerProcess restarted = serve(data, config, null);
                List<String> named = idsNamed(restarted, filename);
                if (step == FinishStep.COMMITTED) {
                    assertThat(named).as("%s: committed, so listed once", step).hasSize(1);
                    acknowledged.put(named.getFirst(), halted);
                } else {
                    assertThat(named).as("%s: never committed, so not listed", step).isEmpty();
                }
                checkAll(restarted, data, acknowledged, step.toString());
                restarted.sigterm();
                assertThat(restarted.waitFor(TIMEOUT)).as("clean exit").isZero();
            }
        } catch (AssertionError | Exception e) {
            System.err.println("CreationCrashTest failed; server output:\n" + output);
            throw e;
        }
    }

    /**
     * Every acknowledged upload is listed once, with one job, its sha256 and its bytes; the blob files are exactly
     * the listed uploads'; nothing is staged or resumable.
     */
    private void checkAll(ServerProcess server, Path data, Map<String, byte[]> acknowledged, String where)
            throws Exception {
        JsonNode list = Json.parse(get(server, "/api/v1/uploads?limit=500").body()).path("uploads");
        Set<String> listed = new TreeSet<>();
        list.forEach(u -> listed.add(u.path("id").asText()));
        assertThat(listed).as("%s: listed uploads", where).isEqualTo(new TreeSet<>(acknowledged.keySet()));
        JsonNode jobs = Json.parse(get(server, "/api/v1/jobs?limit=500").body()).path("jobs");
        for (Map.Entry<String, byte[]> e : acknowledged.entrySet()) {
            String id = e.getKey();
            long jobCount = 0;
            for (JsonNode j : jobs) {
                jobCount += id.equals(j.path("uploadId").asText()) ? 1 : 0;
            }
            assertThat(jobCount).as("%s: one job for %s", where, id).isEqualTo(1);
            JsonNode rec = Json.parse(get(server, "/api/v1/uploads/" + id).body());
            assertThat(rec.path("sha256").asText()).as("%s: sha256 of %s", where, id).isEqualTo(sha256(e.getValue()));
            HttpResponse<byte[]> bytes = http.send(HttpRequest.newBuilder(uri(server, "/files/" + id))
                    .timeout(TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(bytes.statusCode()).as(where).isEqualTo(200);
            assertThat(Arrays.equals(bytes.body(), e.getValue())).as("%s: bytes of %s", where, id).isTrue();
            HttpResponse<Void> head = http.send(HttpRequest.newBuilder(uri(server, "/files/" + id)).timeout(TIMEOUT)
                    .header("Tus-Resumable", TusApi.VERSION).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.discarding());
            assertThat(head.headers().firstValue("Upload-Offset")).as("%s: HEAD of %s", where, id)
                    .hasValue(String.valueOf(LENGTH));
        }
        assertThat(fileNames(data.resolve("blobs"))).as("%s: every blob has its row", where)
                .isEqualTo(new TreeSet<>(acknowledged.keySet()));
        assertThat(fileNames(data.resolve("tmp"))).as("%s: staged files", where).isEmpty();
        assertThat(fileNames(data.resolve("resumable"))).as("%s: resumable files", where).isEmpty();
    }

    private static Set<String> fileNames(Path root) throws Exception {
        Set<String> names = new TreeSet<>();
        if (Files.exists(root)) {
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(Files::isRegularFile).forEach(p -> names.add(p.getFileName().toString()));
            }
        }
        return names;
    }

    private List<String> idsNamed(ServerProcess server, String filename) throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode u : Json.parse(get(server, "/api/v1/uploads?limit=500").body()).path("uploads")) {
            if (filename.equals(u.path("filename").asText())) {
                ids.add(u.path("id").asText());
            }
        }
        return ids;
    }

    // ---------------------------------------------------------------------------------------------------------

    private ServerProcess serve(Path data, Path config, String halt) throws Exception {
        List<String> jvm = new ArrayList<>(JVM);
        if (halt != null) {
            jvm.add(halt);
        }
        ServerProcess p = ServerProcess.start(jvm, Map.of(), "serve", "--port", "0", "--data", data.toString(),
                "--set", "limits.diskReserve=0", "--config", config.toString());
        started.add(p);
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    private void assertHalted(ServerProcess p, FinishStep step, String filename) throws Exception {
        assertThat(p.process().waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("%s: the server halted", step)
                .isTrue();
        Thread.sleep(100); // the output reader drains the last lines
        output.append(p.output()).append("---- halted ----\n");
        assertThat(p.process().exitValue()).as("%s: exit status of Runtime.halt", step).isEqualTo(137);
        assertThat(p.output()).as("%s: halted at the step of %s", step, filename)
                .contains("halting at " + step + " of upload ");
    }

    private CompletableFuture<HttpResponse<String>> createWhole(ServerProcess server, String filename,
                                                                byte[] body) {
        return http.sendAsync(HttpRequest.newBuilder(uri(server, "/files/")).timeout(TIMEOUT)
                .header("Tus-Resumable", TusApi.VERSION)
                .header("Upload-Length", String.valueOf(body.length))
                .header("Content-Type", TusApi.OFFSET_OCTET_STREAM)
                .header("Upload-Metadata", "filename " + Base64.getEncoder()
                        .encodeToString(filename.getBytes(StandardCharsets.UTF_8)))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String idOf(HttpResponse<String> r) {
        String location = r.headers().firstValue("Location").orElseThrow();
        return location.substring(location.lastIndexOf('/') + 1);
    }

    private static HttpResponse<String> answerOf(CompletableFuture<HttpResponse<String>> response)
            throws Exception {
        try {
            return response.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return null;
        }
    }

    private HttpResponse<String> get(ServerProcess server, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(server, path)).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static URI uri(ServerProcess server, String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    private static byte[] bytes(long seed) {
        byte[] b = new byte[LENGTH];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
