package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.testing.Json;
import io.sluice.testing.NodeScript;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real tus-js-client (Node, {@code src/test/node/tus-upload.mjs}) uploads 100 MiB in 5 MiB chunks, is aborted
 * with {@code upload.abort()} about halfway, resumes from the saved upload URL with a new Upload, and finishes; the
 * stored upload has the file's sha256 and nothing is left behind. Once per protocol tus-js-client speaks to Sluice.
 *
 * <p>Skipped, loudly, without node or the tus-js-client package ({@code scripts/test-deps} installs it).
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class TusJsClientTest {

    static final int MiB = 1024 * 1024;
    static final long SIZE = 100L * MiB;
    static final int CHUNK = 5 * MiB;
    /**
     * About midway. tus-js-client reports progress at most every 100 ms, so the abort comes at the first report past
     * this (on loopback often the end of a chunk); the resume must start where the server says it is, whatever that is.
     */
    static final long ABORT_AFTER = 52L * MiB;
    static final String PACKAGE = "tus-js-client";
    static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(75);

    @TempDir
    static Path shared;
    static Path file;
    static String fileSha256;

    @BeforeAll
    static void writeTheFile() throws Exception {
        if (NodeScript.missing(PACKAGE).isEmpty()) {
            file = shared.resolve("random-100MiB.bin");
            fileSha256 = writeRandom(file, SIZE, 20_240_601L);
        }
    }

    @BeforeEach
    void needsNode() {
        NodeScript.assumeAvailable(PACKAGE);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tus-v1", "ietf-draft-05"})
    void abortedMidwayResumesAndFinishes(String protocol, @TempDir Path dataDir) throws Exception {
        try (TestServer server = TestServer.start(dataDir)) {
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("endpoint", server.uri("/files/").toString())
                    .put("file", file.toString())
                    .put("chunkSize", CHUNK)
                    .put("protocol", protocol)
                    .put("abortAfterBytes", ABORT_AFTER)
                    .put("trace", true);
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "tus-upload.mjs", options.toString());
            String out = run.describe();
            List<JsonNode> events = run.events();

            assertThat(run.exitCode()).as("tus-upload.mjs exit status\n%s", out).isZero();
            assertThat(of(events, "aborted")).as("the first upload was aborted\n%s", out).hasSize(1);
            List<JsonNode> resumes = of(events, "resume");
            assertThat(resumes).as("one HEAD on resume\n%s", out).hasSize(1);
            assertThat(resumes.getFirst().path("status").asInt()).as("HEAD status\n%s", out).isBetween(200, 299);
            assertThat(resumes.getFirst().path("offset").asLong()).as("the resume starts where the server is\n%s", out)
                    .isPositive().isLessThan(SIZE);
            System.out.printf("%s: aborted after %d bytes sent, resumed from offset %d%n", protocol,
                    of(events, "aborted").getFirst().path("bytesSent").asLong(),
                    resumes.getFirst().path("offset").asLong());
            List<JsonNode> done = of(events, "done");
            assertThat(done).as("the upload finished\n%s", out).hasSize(1);
            assertThat(done.getFirst().path("phase").asText()).as("finished by the resumed upload\n%s", out)
                    .isEqualTo("resume");

            String url = done.getFirst().path("url").asText();
            String path = URI.create(url).getPath();
            String id = path.substring(path.lastIndexOf('/') + 1);
            HttpResponse<String> record = server.get("/api/v1/uploads/" + id);
            assertThat(record.statusCode()).as("GET /api/v1/uploads/%s: %s\n%s", id, record.body(), out)
                    .isEqualTo(200);
            JsonNode body = Json.parse(record.body());
            assertThat(body.path("size").asLong()).isEqualTo(SIZE);
            assertThat(body.path("sha256").asText()).as("stored bytes are the file's").isEqualTo(fileSha256);
            server.assertNothingLeftBehind();
        }
    }

    private static List<JsonNode> of(List<JsonNode> events, String name) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).toList();
    }

    /** Writes {@code size} seeded random bytes, 1 MiB at a time, and returns their sha256 in hex. */
    private static String writeRandom(Path target, long size, long seed) throws Exception {
        Random random = new Random(seed);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] block = new byte[MiB];
        try (OutputStream out = Files.newOutputStream(target)) {
            for (long left = size; left > 0; left -= block.length) {
                random.nextBytes(block);
                int n = (int) Math.min(block.length, left);
                out.write(block, 0, n);
                sha.update(block, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
