package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Invariant 1 on a real process: with a 64 MiB heap, uploads of 16 MiB, 256 MiB and 1 GiB all succeed, and the heap
 * left after a full collection does not grow with the file size.
 */
@Tag("slow")
class MemoryFlatTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    @Test
    void heapAfterGcDoesNotGrowWithFileSize() throws Exception {
        try (ServerProcess p = ServerProcess.serve(dir.resolve("data"),
                List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError"));
             HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                     .connectTimeout(Duration.ofSeconds(5)).build()) {
            long[] sizes = {16 * MIB, 256 * MIB, 1024 * MIB};
            long[] afterGc = new long[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                GeneratedBody body = new GeneratedBody(sizes[i], i + 1);
                HttpRequest put = HttpRequest.newBuilder(uri(p, "/api/v1/uploads/big-" + i + ".bin"))
                        .PUT(HttpRequest.BodyPublishers.fromPublisher(
                                HttpRequest.BodyPublishers.ofInputStream(() -> body), sizes[i]))
                        .build();
                HttpResponse<String> r = client.send(put, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body() + "\n" + p.output()).isEqualTo(201);
                JsonNode stored = Json.parse(r.body()).at("/uploads/0");
                assertThat(stored.path("size").asLong()).isEqualTo(sizes[i]);
                assertThat(stored.path("sha256").asText()).isEqualTo(body.sha256Hex());

                afterGc[i] = heapAfterFullGc(p, client);
            }
            assertThat(p.output()).doesNotContain("OutOfMemoryError");
            assertThat(p.process().isAlive()).isTrue();
            // Heap use depends on the number of streams, never on their size.
            assertThat(afterGc[2] - afterGc[0])
                    .as("heap after GC: 16 MiB upload %d, 256 MiB %d, 1 GiB %d", afterGc[0], afterGc[1], afterGc[2])
                    .isLessThan(16 * MIB);
            assertThat(afterGc[1] - afterGc[0]).isLessThan(16 * MIB);

            p.sigterm();
            assertThat(p.waitFor(Duration.ofSeconds(30))).isZero();
        }
    }

    /** Forces a full collection in the server (jcmd GC.run) and reads the next memory sample it reports. */
    private static long heapAfterFullGc(ServerProcess p, HttpClient client) throws Exception {
        long before = detailed(p, client).at("/memory/heapUsedAfterGc").asLong();
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process gc = new ProcessBuilder(jcmd.toString(), String.valueOf(p.process().pid()), "GC.run")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(gc.waitFor(30, TimeUnit.SECONDS)).as("jcmd GC.run finished").isTrue();
        assertThat(gc.exitValue()).isZero();
        // The server samples memory periodically: wait for the first sample taken after the collection.
        long[] seen = {before};
        Await.until(Duration.ofSeconds(10), "a memory sample after the forced GC", () -> {
            seen[0] = detailed(p, client).at("/memory/heapUsedAfterGc").asLong();
            return seen[0] != before;
        });
        JsonNode memory = detailed(p, client).path("memory");
        assertThat(seen[0]).isPositive();
        assertThat(memory.path("heapUsed").asLong()).isPositive().isLessThanOrEqualTo(memory.path("heapMax").asLong());
        return seen[0];
    }

    private static JsonNode detailed(ServerProcess p, HttpClient client) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri(p, "/health/detailed")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return Json.parse(r.body());
    }

    private static URI uri(ServerProcess p, String path) {
        return URI.create("http://127.0.0.1:" + p.port() + path);
    }
}
