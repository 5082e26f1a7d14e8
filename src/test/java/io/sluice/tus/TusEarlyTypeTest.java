package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.testing.Json;
import io.sluice.testing.NodeScript;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.sluice.tus.Tus.assertError;
import static io.sluice.tus.Tus.assertHeadStatus;
import static io.sluice.tus.Tus.b64;
import static io.sluice.tus.Tus.id;
import static io.sluice.tus.Tus.locationOf;
import static io.sluice.tus.Tus.slice;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 16: a resumable upload's type is judged on its first bytes, not after its last. The server allows PNG and
 * plain text only; the {@code pngs} pipeline takes PNG only. A refusal is 415 with its code on the request that
 * brings the head (creation-with-upload, the first PATCH, or the PATCH that completes the head after tiny ones), the
 * upload is gone (HEAD 404, no row, no file) and no slot, buffer, lock or disk reservation is held.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TusEarlyTypeTest {

    static final int KiB = 1024;
    static final int MiB = 1024 * KiB;

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
                    limits:
                      allowedTypes: [image/png, text/plain]
                    pipelines:
                      pngs:
                        processor: noop
                        types: [image/png]
                    """);
    static Tus tus;

    @BeforeAll
    static void start() throws Exception {
        tus = new Tus(server.server());
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
        assertThat(Tus.regularFiles(server.dataDir().resolve("resumable"))).as("resumable files").isZero();
    }

    /** Seeded random bytes: Tika sees application/octet-stream, which the server does not allow. */
    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A PNG signature followed by filler: image/png by its magic. */
    static byte[] png(int size) {
        byte[] b = new byte[size];
        byte[] magic = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
        System.arraycopy(magic, 0, b, 0, magic.length);
        return b;
    }

    static byte[] text(int size) {
        byte[] line = "plain words, nothing else, line after line\n".getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = line[i % line.length];
        }
        return b;
    }

    /** The upload is gone for good: HEAD 404, no record, no resumable row. */
    static void assertGone(String path) throws Exception {
        assertHeadStatus(tus.head(path), 404);
        assertThat(server.get("/api/v1/uploads/" + id(path)).statusCode()).isEqualTo(404);
        assertThat(server.app().resumable().find(id(path))).as("resumable row of %s", path).isEmpty();
    }

    // ============================================================================ tus 1.0 over HTTP

    @Test
    void theFirstPatchOfADisallowedTypeIsRefusedAndTheUploadRemoved() throws Exception {
        byte[] data = random(4 * MiB, 1);
        String path = tus.created(data.length, "Upload-Metadata", "filename " + b64("data.bin"));
        JsonNode error = assertError(tus.patch(path, 0, slice(data, 0, MiB)), 415, "type_not_allowed");
        assertThat(error.path("detectedType").asText()).isEqualTo("application/octet-stream");
        assertGone(path);
    }

    @Test
    void tinyFirstPatchesAreKeptAndThePatchThatCompletesTheHeadIsRefused() throws Exception {
        byte[] data = random(2 * MiB, 2);
        String path = tus.created(data.length, "Upload-Metadata", "filename " + b64("data.bin"));
        // 10 bytes and then 20 KiB: the head (64 KiB) is not complete, nothing can be judged yet.
        tus.patchOk(path, 0, slice(data, 0, 10));
        tus.patchOk(path, 10, slice(data, 10, 10 + 20 * KiB));
        assertThat(tus.offset(path)).isEqualTo(10 + 20 * KiB);
        // This one crosses 64 KiB: the stored 20 KiB are read back and joined with its first bytes.
        assertError(tus.patch(path, 10 + 20 * KiB, slice(data, 10 + 20 * KiB, 10 + 20 * KiB + 200 * KiB)), 415,
                "type_not_allowed");
        assertGone(path);
    }

    @Test
    void anAllowedTypeSentInTinyPatchesStillFinishes() throws Exception {
        byte[] data = png(300 * KiB);
        String path = tus.created(data.length, "Upload-Metadata", "filename " + b64("small.png") + ",pipeline "
                + b64("pngs"));
        int[] cuts = {0, 10, 30 * KiB, 70 * KiB, data.length};
        for (int i = 0; i + 1 < cuts.length; i++) {
            tus.patchOk(path, cuts[i], slice(data, cuts[i], cuts[i + 1]));
        }
        JsonNode record = tus.record(id(path));
        assertThat(record.path("contentType").asText()).isEqualTo("image/png");
        assertThat(record.path("sha256").asText()).isEqualTo(Tus.sha256(data));
    }

    @Test
    void anExtensionThatLiesIsRefusedOnTheFirstPatch() throws Exception {
        byte[] data = text(MiB);
        String path = tus.created(data.length, "Upload-Metadata", "filename " + b64("holiday.png"));
        JsonNode error = assertError(tus.patch(path, 0, slice(data, 0, 256 * KiB)), 415, "type_mismatch");
        assertThat(error.path("extensionType").asText()).isEqualTo("image/png");
        assertGone(path);
    }

    @Test
    void aPipelineThatDoesNotTakeTheTypeIsRefusedOnTheFirstPatch() throws Exception {
        byte[] data = text(MiB);
        String path = tus.created(data.length, "Upload-Metadata", "filename " + b64("notes.txt") + ",pipeline "
                + b64("pngs"));
        JsonNode error = assertError(tus.patch(path, 0, slice(data, 0, 256 * KiB)), 415, "pipeline_type_mismatch");
        assertThat(error.path("detectedType").asText()).isEqualTo("text/plain");
        assertGone(path);
    }

    @Test
    void creationWithUploadOfTheFirstChunkIsRefused() throws Exception {
        byte[] data = random(4 * MiB, 3);
        HttpResponse<String> r = tus.send("POST", "/files", slice(data, 0, 512 * KiB),
                "Upload-Length", String.valueOf(data.length), "Content-Type", Tus.OCTETS,
                "Upload-Metadata", "filename " + b64("data.bin"));
        assertError(r, 415, "type_not_allowed");
        assertThat(r.headers().firstValue("Location")).isEmpty();
        assertThat(Tus.regularFiles(server.dataDir().resolve("resumable"))).isZero();
    }

    @Test
    void aDeferredLengthIsJudgedOnItsFirstBytesToo() throws Exception {
        byte[] data = random(MiB, 4);
        String path = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1",
                "Upload-Metadata", "filename " + b64("data.bin")));
        assertError(tus.patch(path, 0, slice(data, 0, 128 * KiB)), 415, "type_not_allowed");
        assertGone(path);
    }

    // ============================================================================ IETF draft

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {6, 8})
    void ietfCreationWithTheFirstBytesIsRefused(int v) throws Exception {
        byte[] body = random(256 * KiB, 5);
        RawResponse r = ietf("POST", "/files/", v, body, "Upload-Complete: ?0", "Upload-Length: " + 4 * MiB,
                "Content-Type: application/partial-upload", "Upload-Metadata: filename " + b64("data.bin"));
        assertThat(r.status()).as(r.body()).isEqualTo(415);
        assertThat(Json.errorCode(r.body())).isEqualTo("type_not_allowed");
        // The 104 named the upload before the body was read: it must be gone now.
        assertThat(server.get("/api/v1/uploads?limit=500").body()).doesNotContain("data.bin");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {6, 8})
    void ietfFirstAppendIsRefused(int v) throws Exception {
        RawResponse created = ietf("POST", "/files/", v, null, "Upload-Complete: ?0", "Upload-Length: " + 4 * MiB,
                "Upload-Metadata: filename " + b64("data.bin"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String path = URI.create(created.header("Location")).getPath();
        RawResponse r = ietf("PATCH", path, v, random(256 * KiB, 6), "Upload-Offset: 0", "Upload-Complete: ?0",
                "Content-Type: application/partial-upload");
        assertThat(r.status()).as(r.body()).isEqualTo(415);
        assertThat(Json.errorCode(r.body())).isEqualTo("type_not_allowed");
        assertThat(ietf("HEAD", path, v, null).status()).isEqualTo(404);
        assertThat(server.app().resumable().find(id(path))).isEmpty();
    }

    /** One IETF-draft request on its own connection; returns the final response (1xx skipped). */
    static RawResponse ietf(String method, String path, int v, byte[] body, String... headers) throws IOException {
        StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.port()
                + "\r\nUpload-Draft-Interop-Version: " + v + "\r\n");
        for (String h : headers) {
            head.append(h).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("Connection: close\r\n\r\n");
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(head.toString());
            if (body != null) {
                raw.send(body);
            }
            while (true) {
                RawResponse r = raw.readResponse();
                if (r.status() >= 200) {
                    return r;
                }
            }
        }
    }

    // ============================================================================ tus-js-client

    /**
     * The real client, 20 MiB in 1 MiB chunks: the 415 comes on the first PATCH, so at most one chunk of twenty
     * reached the server, and onError gets the 415 with its JSON body.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tus-v1", "ietf-draft-05"})
    void tusJsClientGetsThe415OnTheFirstChunk(String protocol, @TempDir Path files) throws Exception {
        NodeScript.assumeAvailable(TusJsClientTest.PACKAGE);
        Path file = files.resolve("data.bin");
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < 20; i++) {
                out.write(random(MiB, 100 + i));
            }
        }
        ObjectNode options = JsonNodeFactory.instance.objectNode()
                .put("endpoint", server.uri("/files/").toString())
                .put("file", file.toString())
                .put("chunkSize", MiB)
                .put("protocol", protocol)
                .put("trace", true);
        NodeScript.Result run = NodeScript.run(java.time.Duration.ofSeconds(40), "tus-upload.mjs",
                options.toString());
        String out = run.describe();
        List<JsonNode> events = run.events();
        assertThat(run.exitCode()).as("the upload fails\n%s", out).isEqualTo(1);
        List<JsonNode> errors = of(events, "error");
        assertThat(errors).as(out).hasSize(1);
        assertThat(errors.getFirst().path("status").asInt()).as(out).isEqualTo(415);
        assertThat(Json.errorCode(errors.getFirst().path("body").asText())).as(out).isEqualTo("type_not_allowed");
        List<JsonNode> sent = new ArrayList<>();
        for (JsonNode request : of(events, "request")) {
            if (!request.path("method").asText().equals("HEAD")) {
                sent.add(request);
            }
        }
        // The creation (tus-js-client sends no bytes with it, in either protocol) and one PATCH: nothing after it.
        assertThat(sent).as("requests sent\n%s", out).extracting(r -> r.path("method").asText())
                .containsExactly("POST", "PATCH");
        assertThat(of(events, "chunk")).as("no chunk was accepted\n%s", out).isEmpty();
        long bytesSent = of(events, "progress").stream().mapToLong(e -> e.path("bytesSent").asLong()).max()
                .orElse(0);
        assertThat(bytesSent).as("bytes sent of 20 MiB\n%s", out).isLessThanOrEqualTo(MiB);
        for (JsonNode url : of(events, "url")) {
            assertGone(URI.create(url.path("url").asText()).getPath());
        }
    }

    /**
     * The dashboard (Chromium) uploading a disallowed 20 MiB file: the row says why at once (the 415's code and
     * message), after one PATCH, with the bar near the start rather than at 90 %.
     */
    @Test
    void theDashboardShowsTheRefusalAfterTheFirstChunk(@TempDir Path files) throws Exception {
        NodeScript.assumeAvailable("playwright-core");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/chromium")),
                "SKIPPED: /usr/bin/chromium is missing (scripts/test-deps installs it)");
        // No extension: the browser guesses no type, so the page's own early check (its limits) lets it through and
        // the refusal is the server's, on the first chunk.
        Path file = files.resolve("refused");
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < 20; i++) {
                out.write(random(MiB, 200 + i));
            }
        }
        ObjectNode options = JsonNodeFactory.instance.objectNode()
                .put("url", server.uri("").toString())
                .put("file", file.toString());
        NodeScript.Result run = NodeScript.run(java.time.Duration.ofSeconds(50), "dashboard-refused.mjs",
                options.toString());
        String out = run.describe();
        assertThat(run.exitCode()).as(out).isZero();
        JsonNode refused = of(run.events(), "refused").getFirst();
        assertThat(refused.path("state").asText()).as(out).isEqualTo("refused");
        assertThat(refused.path("status").asText()).as(out)
                .endsWith("type_not_allowed: files of type application/octet-stream are not accepted");
        assertThat(refused.path("remove").asBoolean()).as("Remove offered\n%s", out).isTrue();
        assertThat(refused.path("resume").asBoolean()).as("never Resume\n%s", out).isFalse();
        assertThat(refused.path("bar").asDouble()).as("progress when refused\n%s", out).isZero();
        List<String> methods = new ArrayList<>();
        refused.path("requests").forEach(m -> methods.add(m.asText()));
        assertThat(methods).as("requests to /files\n%s", out).containsExactly("POST", "PATCH");
    }

    private static List<JsonNode> of(List<JsonNode> events, String name) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).toList();
    }
}
