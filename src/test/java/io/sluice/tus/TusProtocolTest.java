package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.sluice.tus.Tus.assertError;
import static io.sluice.tus.Tus.assertHeadStatus;
import static io.sluice.tus.Tus.assertTusResumable;
import static io.sluice.tus.Tus.b64;
import static io.sluice.tus.Tus.bytes;
import static io.sluice.tus.Tus.checksum;
import static io.sluice.tus.Tus.id;
import static io.sluice.tus.Tus.locationOf;
import static io.sluice.tus.Tus.sha256;
import static io.sluice.tus.Tus.slice;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * tus 1.0.0 at {@code /files/} against the real server: every refusal with its status, JSON {@code error.code},
 * {@code Tus-Resumable} header and nothing left behind; and the good paths of core and every extension.
 *
 * <p>The shared server has a small {@code limits.maxFileSize} (so 413 needs no big body), a small
 * {@code tus.maxMetadataSize}, CORS for any origin, and 16 KiB buffers so that bodies span several buffers.
 * Settings that change behaviour for everything (expiry of a second, a type whitelist) get a server of their own.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TusProtocolTest {

    static final int MAX_FILE = 1024 * 1024;
    static final int MAX_METADATA = 512;

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "1MiB",
            "tus.maxMetadataSize", String.valueOf(MAX_METADATA), "server.corsOrigins", "*", "admission.bufferSize",
            "16KiB");
    static Tus tus;

    @BeforeAll
    static void start() throws Exception {
        tus = new Tus(server.server());
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    // ================================================================================== good paths

    @Test
    void optionsAdvertisesVersionExtensionsMaxSizeAndChecksums() throws Exception {
        for (String path : List.of("/files", "/files/")) {
            HttpResponse<String> r = tus.send("OPTIONS", path, null, "Tus-Resumable", null);
            assertThat(r.statusCode()).isIn(200, 204);
            assertTusResumable(r);
            assertThat(r.headers().firstValue("Tus-Version")).hasValueSatisfying(
                    v -> assertThat(List.of(v.split(","))).contains("1.0.0"));
            assertThat(r.headers().firstValue("Tus-Extension").orElseThrow().split(","))
                    .containsExactlyInAnyOrder("creation", "creation-with-upload", "creation-defer-length",
                            "expiration", "checksum", "termination", "concatenation");
            assertThat(r.headers().firstValue("Tus-Max-Size")).hasValue(String.valueOf(MAX_FILE));
            assertThat(r.headers().firstValue("Tus-Checksum-Algorithm").orElseThrow().split(","))
                    .contains("sha1", "sha256");
        }
    }

    @Test
    void creationThenHeadReportsOffsetLengthMetadataAndExpiry() throws Exception {
        String metadata = "filename " + b64("report.bin") + ",note " + b64("quarterly, final") + ",is_draft";
        HttpResponse<String> created = tus.create(1000, "Upload-Metadata", metadata);
        String path = locationOf(created);
        assertThat(created.headers().firstValue("Upload-Expires")).isPresent();

        HttpResponse<String> head = tus.head(path);
        assertHeadStatus(head, 200);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue("0");
        assertThat(head.headers().firstValue("Upload-Length")).hasValue("1000");
        assertThat(head.headers().firstValue("Upload-Metadata")).hasValue(metadata);
        assertThat(head.headers().firstValue("Cache-Control")).hasValue("no-store");
        Instant expires = ZonedDateTime.parse(head.headers().firstValue("Upload-Expires").orElseThrow(),
                DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        assertThat(expires).isAfter(Instant.now());

        byte[] data = bytes(1000, 1);
        tus.patchOk(path, 0, slice(data, 0, 400));
        assertThat(tus.offset(path)).isEqualTo(400);
        HttpResponse<String> last = tus.patchOk(path, 400, slice(data, 400, 1000));
        assertThat(last.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));

        JsonNode record = tus.record(id(path));
        assertThat(record.path("filename").asText()).isEqualTo("report.bin");
        assertThat(record.path("size").asLong()).isEqualTo(1000);
        assertThat(record.path("sha256").asText()).isEqualTo(sha256(data));
        assertThat(record.path("metadata").path("note").asText()).isEqualTo("quarterly, final");
        HttpResponse<String> done = tus.head(path);
        assertHeadStatus(done, 200);
        assertThat(done.headers().firstValue("Upload-Offset")).hasValue("1000");
        assertThat(tus.resumableFiles(id(path))).as("resumable bytes after completion").isZero();
    }

    @Test
    void creationWithUploadOfTheWholeFile() throws Exception {
        byte[] data = bytes(100_000, 2);
        HttpResponse<String> r = tus.send("POST", "/files", data, "Upload-Length", "100000",
                "Content-Type", Tus.OCTETS, "Upload-Metadata", "filename " + b64("whole.bin"));
        String path = locationOf(r);
        assertThat(r.headers().firstValue("Upload-Offset")).hasValue("100000");
        assertThat(r.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        assertThat(tus.offset(path)).isEqualTo(100_000);
        JsonNode record = tus.record(id(path));
        assertThat(record.path("sha256").asText()).isEqualTo(sha256(data));
        assertThat(record.path("filename").asText()).isEqualTo("whole.bin");
    }

    @Test
    void creationWithUploadOfHalfTheFileThenPatch() throws Exception {
        byte[] data = bytes(100_000, 3);
        HttpResponse<String> r = tus.send("POST", "/files", slice(data, 0, 50_000), "Upload-Length", "100000",
                "Content-Type", Tus.OCTETS);
        String path = locationOf(r);
        assertThat(r.headers().firstValue("Upload-Offset")).hasValue("50000");
        assertThat(r.headers().firstValue("Sluice-Upload-Id")).isEmpty();
        assertThat(tus.offset(path)).isEqualTo(50_000);

        HttpResponse<String> last = tus.patchOk(path, 50_000, slice(data, 50_000, 100_000));
        assertThat(last.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void deferredLengthIsSetByALaterPatch() throws Exception {
        byte[] data = bytes(70_000, 4);
        HttpResponse<String> created = tus.send("POST", "/files", null, "Upload-Defer-Length", "1");
        String path = locationOf(created);

        tus.patchOk(path, 0, slice(data, 0, 30_000));
        HttpResponse<String> head = tus.head(path);
        assertHeadStatus(head, 200);
        assertThat(head.headers().firstValue("Upload-Defer-Length")).hasValue("1");
        assertThat(head.headers().firstValue("Upload-Length")).isEmpty();
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue("30000");

        HttpResponse<String> last = tus.patchOk(path, 30_000, slice(data, 30_000, 70_000), "Upload-Length", "70000");
        assertThat(last.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        HttpResponse<String> after = tus.head(path);
        assertThat(after.headers().firstValue("Upload-Length")).hasValue("70000");
        assertThat(after.headers().firstValue("Upload-Defer-Length")).isEmpty();
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void deferredLengthCanBeDeclaredBeforeTheLastPatch() throws Exception {
        byte[] data = bytes(40_000, 5);
        String path = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1"));
        // The length arrives with the first (empty) PATCH, the bytes after it.
        tus.patchOk(path, 0, new byte[0], "Upload-Length", "40000");
        assertThat(tus.head(path).headers().firstValue("Upload-Length")).hasValue("40000");
        tus.patchOk(path, 0, data);
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void anEmptyPatchThatDeclaresTheLengthReachedFinishesTheUpload() throws Exception {
        // What tus-js-client sends when a deferred-length file ends exactly on a chunk boundary.
        byte[] data = bytes(32_768, 44);
        String path = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1"));
        tus.patchOk(path, 0, data);
        assertThat(server.get("/api/v1/uploads/" + id(path)).statusCode()).isEqualTo(404);
        HttpResponse<String> last = tus.patchOk(path, data.length, new byte[0], "Upload-Length",
                String.valueOf(data.length));
        assertThat(last.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
        assertThat(tus.resumableFiles(id(path))).isZero();
    }

    @Test
    void aRepeatedLastPatchIsHarmlessAndMoreBytesAreRefused() throws Exception {
        // A client that lost the answer to its last PATCH asks again.
        byte[] data = bytes(1_000, 45);
        String path = tus.created(data.length);
        tus.patchOk(path, 0, data);
        HttpResponse<String> again = tus.patchOk(path, data.length, new byte[0]);
        assertThat(again.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        assertError(tus.patch(path, data.length, bytes(10, 46)), 413, "exceeds_length");
        assertError(tus.patch(path, 0, data), 409, "offset_mismatch");
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
        HttpResponse<String> head = tus.head(path);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue("1000");
        assertThat(head.headers().firstValue("Upload-Expires")).as("a finished upload does not expire").isEmpty();
    }

    @Test
    void concatenationEndToEnd() throws Exception {
        byte[] whole = bytes(300_001, 6);
        int[] cuts = {0, 90_000, 210_000, whole.length};
        List<String> partials;
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            List<Future<String>> futures = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                byte[] part = slice(whole, cuts[i], cuts[i + 1]);
                futures.add(pool.submit(() -> uploadPartial(part)));
            }
            partials = new ArrayList<>();
            for (Future<String> f : futures) {
                partials.add(f.get(30, TimeUnit.SECONDS));
            }
        }
        String concat = "final;" + String.join(" ", partials.stream().map(p -> server.uri(p).toString()).toList());
        HttpResponse<String> created = tus.send("POST", "/files", null, "Upload-Concat", concat,
                "Upload-Metadata", "filename " + b64("joined.bin"));
        String path = locationOf(created);
        assertThat(created.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));

        HttpResponse<String> head = tus.head(path);
        assertHeadStatus(head, 200);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(whole.length));
        assertThat(head.headers().firstValue("Upload-Length")).hasValue(String.valueOf(whole.length));
        assertThat(head.headers().firstValue("Upload-Concat")).hasValue("final;" + String.join(" ", partials));

        HttpResponse<byte[]> download = server.client().send(HttpRequest.newBuilder(server.uri(path)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(download.statusCode()).isEqualTo(200);
        assertThat(sha256(download.body())).isEqualTo(sha256(whole));
        JsonNode record = tus.record(id(path));
        assertThat(record.path("sha256").asText()).isEqualTo(sha256(whole));
        assertThat(record.path("filename").asText()).isEqualTo("joined.bin");

        for (String partial : partials) {
            assertHeadStatus(tus.head(partial), 404);
            assertThat(tus.resumableFiles(id(partial))).as("bytes of consumed partial %s", partial).isZero();
        }
    }

    @Test
    void partialUploadsCanCarryTheirBytesInTheCreationRequest() throws Exception {
        byte[] whole = bytes(50_000, 52);
        List<String> partials = new ArrayList<>();
        for (int[] range : new int[][]{{0, 20_000}, {20_000, 50_000}}) {
            byte[] part = slice(whole, range[0], range[1]);
            HttpResponse<String> r = tus.send("POST", "/files", part, "Upload-Length", String.valueOf(part.length),
                    "Upload-Concat", "partial", "Content-Type", Tus.OCTETS);
            partials.add(locationOf(r));
            assertThat(r.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(part.length));
            assertThat(r.headers().firstValue("Sluice-Upload-Id")).isEmpty();
        }
        String path = locationOf(finalOver(partials.toArray(String[]::new)));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(whole));
    }

    /** Creates a partial upload and sends it in two PATCHes; returns its path. */
    private static String uploadPartial(byte[] part) throws Exception {
        String path = tus.created(part.length, "Upload-Concat", "partial");
        int half = part.length / 2;
        tus.patchOk(path, 0, slice(part, 0, half));
        HttpResponse<String> last = tus.patchOk(path, half, slice(part, half, part.length));
        // A partial upload is not an upload of its own yet: no record to point to.
        assertThat(last.headers().firstValue("Sluice-Upload-Id")).isEmpty();
        HttpResponse<String> head = tus.head(path);
        assertThat(head.headers().firstValue("Upload-Concat")).hasValue("partial");
        return path;
    }

    @Test
    void methodOverrideOnPostStandsForPatchHeadAndDelete() throws Exception {
        byte[] data = bytes(10_000, 7);
        String path = tus.created(data.length);

        HttpResponse<String> patched = tus.send("POST", path, slice(data, 0, 6_000), "X-HTTP-Method-Override",
                "PATCH", "Upload-Offset", "0", "Content-Type", Tus.OCTETS);
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);
        assertTusResumable(patched);
        assertThat(patched.headers().firstValue("Upload-Offset")).hasValue("6000");

        HttpResponse<String> head = tus.send("POST", path, null, "X-HTTP-Method-Override", "HEAD");
        assertThat(head.statusCode()).isEqualTo(200);
        assertTusResumable(head);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue("6000");
        assertThat(head.headers().firstValue("Upload-Length")).hasValue("10000");

        HttpResponse<String> deleted = tus.send("POST", path, null, "X-HTTP-Method-Override", "DELETE");
        assertThat(deleted.statusCode()).isEqualTo(204);
        assertTusResumable(deleted);
        assertHeadStatus(tus.head(path), 404);
        assertThat(tus.resumableFiles(id(path))).isZero();
    }

    @Test
    void postToAnUploadWithoutOverrideIs405() throws Exception {
        String path = tus.created(10);
        for (String override : Arrays.asList(null, "GET", "PUT")) {
            HttpResponse<String> r = tus.send("POST", path, "0123456789".getBytes(StandardCharsets.US_ASCII),
                    "X-HTTP-Method-Override", override, "Upload-Offset", "0", "Content-Type", Tus.OCTETS);
            assertError(r, 405, "method_not_allowed");
            assertThat(r.headers().firstValue("Allow")).hasValueSatisfying(a -> assertThat(a).contains("PATCH"));
        }
        assertThat(tus.offset(path)).isZero();
        tus.delete(path);
    }

    @Test
    void getDownloadsAFinishedUploadAndRefusesAnUnfinishedOne() throws Exception {
        byte[] data = bytes(20_000, 8);
        String path = tus.created(data.length, "Upload-Metadata", "filename " + b64("data.bin"));
        tus.patchOk(path, 0, slice(data, 0, 5_000));

        HttpResponse<String> early = server.get(path);
        JsonNode error = assertError(early, 409, "upload_unfinished");
        assertThat(error.path("message").asText()).contains("5000");

        tus.patchOk(path, 5_000, slice(data, 5_000, data.length));
        HttpResponse<byte[]> r = server.client().send(HttpRequest.newBuilder(server.uri(path)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(data);
    }

    @Test
    void corsExposesTheTusHeadersAndAnswersPreflight() throws Exception {
        String origin = "http://app.example";
        HttpResponse<String> created = tus.create(100, "Origin", origin);
        String path = locationOf(created);
        assertThat(created.headers().firstValue("Access-Control-Allow-Origin")).isPresent();
        String exposed = created.headers().firstValue("Access-Control-Expose-Headers").orElseThrow();
        assertThat(List.of(exposed.toLowerCase().split("\\s*,\\s*")))
                .contains("upload-offset", "location", "tus-resumable", "upload-length", "upload-expires");

        HttpResponse<String> preflight = tus.send("OPTIONS", path, null, "Tus-Resumable", null,
                "Origin", origin, "Access-Control-Request-Method", "PATCH",
                "Access-Control-Request-Headers", "tus-resumable,upload-offset,content-type");
        assertThat(preflight.statusCode()).isIn(200, 204);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).isPresent();
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods"))
                .hasValueSatisfying(m -> assertThat(m).contains("PATCH"));

        HttpResponse<String> patched = tus.patch(path, 0, bytes(100, 9), "Origin", origin);
        assertThat(patched.statusCode()).isEqualTo(204);
        assertThat(patched.headers().firstValue("Access-Control-Expose-Headers").orElseThrow())
                .containsIgnoringCase("Upload-Offset");
    }

    // ================================================================================== 412

    @Test
    void missingTusResumableIs412WithTusVersion() throws Exception {
        String path = tus.created(10);
        List<HttpResponse<String>> refused = List.of(
                tus.send("POST", "/files", null, "Tus-Resumable", null, "Upload-Length", "10"),
                tus.send("PATCH", path, "0123456789".getBytes(StandardCharsets.US_ASCII), "Tus-Resumable", null,
                        "Upload-Offset", "0", "Content-Type", Tus.OCTETS),
                tus.send("DELETE", path, null, "Tus-Resumable", null));
        for (HttpResponse<String> r : refused) {
            assertError(r, 412, "unsupported_tus_version");
            assertThat(r.headers().firstValue("Tus-Version")).hasValue("1.0.0");
        }
        HttpResponse<String> head = tus.send("HEAD", path, null, "Tus-Resumable", null);
        assertHeadStatus(head, 412);
        assertThat(head.headers().firstValue("Tus-Version")).hasValue("1.0.0");
        assertThat(tus.offset(path)).as("the refused PATCH wrote nothing").isZero();
        assertThat(tus.delete(path).statusCode()).isEqualTo(204);
    }

    @Test
    void unsupportedTusVersionIs412WithTusVersion() throws Exception {
        long before = resumableFiles();
        HttpResponse<String> r = tus.create(10, "Tus-Resumable", "0.2.2");
        JsonNode error = assertError(r, 412, "unsupported_tus_version");
        assertThat(r.headers().firstValue("Tus-Version")).hasValue("1.0.0");
        assertThat(error.path("message").asText()).contains("0.2.2");
        assertThat(resumableFiles()).as("no upload created by a refused POST").isEqualTo(before);
    }

    /**
     * Files under {@code <dataDir>/resumable} now. Tests compare before and after, so that unfinished uploads of
     * other tests on the shared server do not count.
     */
    private static long resumableFiles() throws Exception {
        return Tus.regularFiles(server.dataDir().resolve("resumable"));
    }

    // ================================================================================== 409

    @Test
    void offsetMismatchIs409WithTheRealOffset() throws Exception {
        byte[] data = bytes(100, 10);
        String path = tus.created(100);
        tus.patchOk(path, 0, slice(data, 0, 40));
        for (long wrong : new long[]{0, 39, 41, 100}) {
            HttpResponse<String> r = tus.patch(path, wrong, slice(data, 40, 60));
            JsonNode error = assertError(r, 409, "offset_mismatch");
            assertThat(error.path("offset").asLong()).isEqualTo(40);
        }
        assertThat(tus.offset(path)).isEqualTo(40);
        tus.patchOk(path, 40, slice(data, 40, 100));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    // ================================================================================== 415

    @Test
    void patchWithoutOffsetOctetStreamIs415() throws Exception {
        String path = tus.created(10);
        byte[] body = "0123456789".getBytes(StandardCharsets.US_ASCII);
        for (String type : Arrays.asList("application/octet-stream", "text/plain", null)) {
            HttpResponse<String> r = tus.send("PATCH", path, body, "Upload-Offset", "0", "Content-Type", type);
            assertError(r, 415, "unsupported_content_type");
        }
        assertThat(tus.offset(path)).isZero();
        tus.delete(path);
    }

    @Test
    void aRefusalSentBeforeTheBodyArrivedKeepsTheConnectionHonest() throws Exception {
        // The server answers a bad PATCH from its headers alone. The body then still has to cross the connection:
        // the answer must either say the connection closes, or the connection must carry the client's next
        // request - never be dropped silently under a client that reuses it (java.net.http, browsers).
        String path = tus.created(10);
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send("PATCH " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                    + "Content-Type: text/plain\r\nUpload-Offset: 0\r\nContent-Length: 10\r\n\r\n");
            RawResponse refused = raw.readResponse();
            assertThat(refused.status()).isEqualTo(415);
            assertThat(Json.errorCode(refused.body())).isEqualTo("unsupported_content_type");
            if (!"close".equalsIgnoreCase(refused.header("Connection"))) {
                raw.send("0123456789HEAD " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n\r\n");
                RawResponse next = raw.readResponse();
                assertThat(next.status()).isEqualTo(200);
                assertThat(next.header("Upload-Offset")).isEqualTo("0");
            }
        }
        tus.delete(path);
    }

    // ================================================================================== 413

    @Test
    void uploadLengthAboveMaxFileSizeIs413() throws Exception {
        long before = resumableFiles();
        JsonNode error = assertError(tus.create(MAX_FILE + 1), 413, "file_too_large");
        assertThat(error.path("limit").asLong()).isEqualTo(MAX_FILE);
        tus.delete(tus.created(MAX_FILE));

        // A deferred length above the limit is refused when it is declared.
        String deferred = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1"));
        assertError(tus.patch(deferred, 0, new byte[0], "Upload-Length", String.valueOf(MAX_FILE + 1)), 413,
                "file_too_large");
        HttpResponse<String> head = tus.head(deferred);
        assertThat(head.headers().firstValue("Upload-Defer-Length")).hasValue("1");
        tus.delete(deferred);
        assertThat(resumableFiles()).isEqualTo(before);
    }

    @Test
    void bodyBeyondUploadLengthIs413AndTheOffsetDoesNotMove() throws Exception {
        byte[] data = bytes(100, 11);
        String path = tus.created(100);
        assertError(tus.patch(path, 0, bytes(150, 12)), 413, "exceeds_length");
        assertThat(tus.offset(path)).isZero();

        tus.patchOk(path, 0, slice(data, 0, 50));
        assertError(tus.patch(path, 50, bytes(51, 13)), 413, "exceeds_length");
        assertThat(tus.offset(path)).isEqualTo(50);
        tus.patchOk(path, 50, slice(data, 50, 100));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void aLongBodyBeyondUploadLengthLeavesNoTrailingBytes() throws Exception {
        // Several 16 KiB buffers reach the file before the excess shows: they must not count, nor survive.
        byte[] data = bytes(64 * 1024, 14);
        String path = tus.created(data.length);
        // The 413 is sent while the client still sends the excess: the server reads on for a moment (a lingering
        // close) so that java.net.http can finish sending and read the answer instead of seeing a reset.
        assertError(tus.patch(path, 0, bytes(200 * 1024, 15)), 413, "exceeds_length");
        assertThat(tus.offset(path)).isZero();
        tus.patchOk(path, 0, data);
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void creationWithABodyBeyondUploadLengthIs413AndCreatesNothing() throws Exception {
        long before = resumableFiles();
        HttpResponse<String> r = tus.send("POST", "/files", bytes(150, 16), "Upload-Length", "100",
                "Content-Type", Tus.OCTETS);
        assertError(r, 413, "exceeds_length");
        assertThat(r.headers().firstValue("Location")).isEmpty();
        assertThat(resumableFiles()).as("an upload nobody can resume").isEqualTo(before);
    }

    // ================================================================================== checksum

    @Test
    void checksumMismatchIs460AndARetryOfTheSameChunkSucceeds() throws Exception {
        byte[] data = bytes(90_000, 17);
        byte[] one = slice(data, 0, 30_000);
        byte[] two = slice(data, 30_000, 60_000);
        byte[] three = slice(data, 60_000, 90_000);
        String path = tus.created(data.length);

        tus.patchOk(path, 0, one, "Upload-Checksum", checksum("sha1", "SHA-1", one));
        JsonNode error = assertError(tus.patch(path, 30_000, two, "Upload-Checksum",
                checksum("sha256", "SHA-256", three)), 460, "checksum_mismatch");
        assertThat(error.path("offset").asLong()).isEqualTo(30_000);
        assertThat(tus.offset(path)).isEqualTo(30_000);

        tus.patchOk(path, 30_000, two, "Upload-Checksum", checksum("sha256", "SHA-256", two));
        assertThat(tus.offset(path)).isEqualTo(60_000);
        tus.patchOk(path, 60_000, three, "Upload-Checksum", checksum("sha1", "SHA-1", three));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void checksumMismatchOnTheLastChunkDoesNotFinishTheUpload() throws Exception {
        byte[] data = bytes(20_000, 18);
        String path = tus.created(data.length);
        byte[] corrupted = data.clone();
        corrupted[19_999] ^= 1;
        assertError(tus.patch(path, 0, corrupted, "Upload-Checksum", checksum("sha256", "SHA-256", data)), 460,
                "checksum_mismatch");
        assertThat(tus.offset(path)).isZero();
        assertThat(server.get("/api/v1/uploads/" + id(path)).statusCode()).isEqualTo(404);
        tus.patchOk(path, 0, data, "Upload-Checksum", checksum("sha256", "SHA-256", data));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void creationWithABadChecksumIs460AndCreatesNothing() throws Exception {
        long before = resumableFiles();
        byte[] data = bytes(30_000, 42);
        HttpResponse<String> r = tus.send("POST", "/files", data, "Upload-Length", "60000",
                "Content-Type", Tus.OCTETS, "Upload-Checksum", checksum("sha1", "SHA-1", bytes(30_000, 43)));
        assertError(r, 460, "checksum_mismatch");
        assertThat(r.headers().firstValue("Location")).isEmpty();
        assertThat(resumableFiles()).as("an upload nobody can resume").isEqualTo(before);

        // With a good checksum the same request creates the upload with its first half.
        HttpResponse<String> good = tus.send("POST", "/files", data, "Upload-Length", "60000",
                "Content-Type", Tus.OCTETS, "Upload-Checksum", checksum("sha1", "SHA-1", data));
        String path = locationOf(good);
        assertThat(good.headers().firstValue("Upload-Offset")).hasValue("30000");
        tus.delete(path);
    }

    @Test
    void unsupportedChecksumAlgorithmIs400() throws Exception {
        byte[] data = bytes(100, 19);
        String path = tus.created(100);
        assertError(tus.patch(path, 0, data, "Upload-Checksum", "crc32 AAAAAA=="), 400,
                "unsupported_checksum_algorithm");
        assertError(tus.patch(path, 0, data, "Upload-Checksum", "sha1"), 400, "invalid_checksum");
        assertError(tus.patch(path, 0, data, "Upload-Checksum", "sha1 not*base64"), 400, "invalid_checksum");
        assertThat(tus.offset(path)).isZero();
        tus.delete(path);
    }

    // ================================================================================== 404 / 410

    @Test
    void terminatedUploadIs404() throws Exception {
        String path = tus.created(1000);
        tus.patchOk(path, 0, bytes(300, 20));
        assertThat(tus.resumableFiles(id(path))).isEqualTo(1);

        HttpResponse<String> deleted = tus.delete(path);
        assertThat(deleted.statusCode()).isEqualTo(204);
        assertTusResumable(deleted);
        assertThat(tus.resumableFiles(id(path))).as("bytes of a terminated upload").isZero();

        assertHeadStatus(tus.head(path), 404);
        assertError(tus.patch(path, 300, bytes(10, 21)), 404, "not_found");
        assertError(server.get(path), 404, "not_found");
        assertError(tus.delete(path), 404, "not_found");
    }

    @Test
    void terminatingAFinishedUploadRemovesItsRecordAndBytes() throws Exception {
        long blobsBefore = server.blobFiles();
        String path = tus.created(500);
        tus.patchOk(path, 0, bytes(500, 22));
        assertThat(server.blobFiles()).isEqualTo(blobsBefore + 1);
        assertThat(tus.delete(path).statusCode()).isEqualTo(204);
        assertHeadStatus(tus.head(path), 404);
        assertThat(server.get("/api/v1/uploads/" + id(path)).statusCode()).isEqualTo(404);
        assertThat(server.blobFiles()).isEqualTo(blobsBefore);
    }

    @Test
    void unknownUploadIs404() throws Exception {
        for (String path : List.of("/files/nope", "/files/01ARZ3NDEKTSV4RRFFQ69G5FAV")) {
            assertHeadStatus(tus.head(path), 404);
            assertError(tus.patch(path, 0, bytes(10, 23)), 404, "not_found");
        }
    }

    @Test
    void expiredUploadIs410AndItsBytesAreSwept(@TempDir Path dir) throws Exception {
        try (TestServer expiring = TestServer.start(dir, "tus.expiry", "1s")) {
            Tus t = new Tus(expiring);
            // Creation with half the body: one request, so nothing can expire between creating and appending.
            HttpResponse<String> created = t.send("POST", "/files", bytes(500, 24), "Upload-Length", "1000",
                    "Content-Type", Tus.OCTETS);
            String path = locationOf(created);
            assertThat(created.headers().firstValue("Upload-Offset")).hasValue("500");
            assertThat(t.resumableFiles(id(path))).isEqualTo(1);

            Await.until(Duration.ofSeconds(15), "HEAD answers 410", () -> t.head(path).statusCode() == 410);
            assertHeadStatus(t.head(path), 410);
            assertError(t.patch(path, 500, bytes(500, 25)), 410, "upload_expired");
            assertError(expiring.get(path), 410, "upload_expired");

            Await.until(Duration.ofSeconds(15), "the sweeper removes the bytes",
                    () -> t.resumableFiles(id(path)) == 0);
            // The tombstone keeps answering 410, not 404: the client learns to start again.
            assertHeadStatus(t.head(path), 410);
            assertError(t.patch(path, 500, bytes(500, 25)), 410, "upload_expired");
            assertThat(Tus.regularFiles(dir.resolve("resumable"))).isZero();
            expiring.assertNothingLeftBehind();
        }
    }

    // ================================================================================== 400

    @Test
    void badUploadLengthIs400() throws Exception {
        long before = resumableFiles();
        assertError(tus.create(-1), 400, "invalid_upload_length");
        assertError(tus.send("POST", "/files", null, "Upload-Length", "abc"), 400, "invalid_upload_length");
        assertError(tus.send("POST", "/files", null, "Upload-Length", "1.5"), 400, "invalid_upload_length");
        assertError(tus.send("POST", "/files", null, "Upload-Length", "99999999999999999999"), 400,
                "invalid_upload_length");
        assertError(tus.send("POST", "/files", null), 400, "invalid_upload_length");
        assertError(tus.send("POST", "/files", null, "Upload-Length", "10", "Upload-Defer-Length", "1"), 400,
                "invalid_upload_length");
        assertError(tus.send("POST", "/files", null, "Upload-Defer-Length", "2"), 400, "invalid_upload_defer_length");
        assertThat(resumableFiles()).isEqualTo(before);
    }

    @Test
    void badUploadOffsetIs400() throws Exception {
        String path = tus.created(10);
        byte[] body = "0123456789".getBytes(StandardCharsets.US_ASCII);
        for (String offset : Arrays.asList(null, "-5", "x", "", "1e3")) {
            HttpResponse<String> r = tus.send("PATCH", path, body, "Upload-Offset", offset, "Content-Type", Tus.OCTETS);
            assertError(r, 400, "invalid_upload_offset");
        }
        assertThat(tus.offset(path)).isZero();
        tus.delete(path);
    }

    @Test
    void badMetadataIs400() throws Exception {
        long before = resumableFiles();
        List<String> bad = List.of(
                "filename not*base64!",
                "filename " + b64("a.txt") + ",filename " + b64("b.txt"),
                "filename " + b64("a.txt") + ",,note " + b64("x"),
                "filename " + b64("a.txt") + " extra",
                "filename " + "x".repeat(MAX_METADATA));
        for (String metadata : bad) {
            assertError(tus.create(10, "Upload-Metadata", metadata), 400, "invalid_metadata");
        }
        // Not UTF-8 text once decoded.
        String latin1 = Base64.getEncoder().encodeToString(new byte[]{(byte) 0xE9, 'a'});
        assertError(tus.create(10, "Upload-Metadata", "filename " + latin1), 400, "invalid_metadata");

        // A key with a non-ASCII character, sent as raw UTF-8 (java.net.http would refuse to send it).
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(("POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Length: 10\r\n"
                    + "Upload-Metadata: fïlename " + b64("a.txt") + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            RawResponse r = raw.readResponse();
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            assertThat(r.header("Tus-Resumable")).isEqualTo("1.0.0");
            assertThat(Json.errorCode(r.body())).isEqualTo("invalid_metadata");
        }
        assertThat(resumableFiles()).isEqualTo(before);
    }

    @Test
    void filenameWithControlCharactersIs400() throws Exception {
        long before = resumableFiles();
        for (String name : List.of("a\u0001b.txt", "line\nbreak.txt", "evil\u202Etxt.exe")) {
            assertError(tus.create(10, "Upload-Metadata", "filename " + b64(name)), 400, "invalid_filename");
        }
        assertError(tus.send("POST", "/files", bytes(10, 26), "Upload-Length", "10", "Content-Type", Tus.OCTETS,
                "Upload-Metadata", "filename " + b64("bad\u0007.bin")), 400, "invalid_filename");
        assertThat(resumableFiles()).isEqualTo(before);
    }

    @Test
    void emptyUploadIs400() throws Exception {
        long before = resumableFiles();
        assertError(tus.create(0), 400, "empty_file");
        // A deferred length that turns out to be zero is refused too, and the upload goes.
        String path = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1"));
        assertError(tus.patch(path, 0, new byte[0], "Upload-Length", "0"), 400, "empty_file");
        assertHeadStatus(tus.head(path), 404);
        assertThat(resumableFiles()).isEqualTo(before);
    }

    @Test
    void aRefusedPatchDoesNotDeclareTheDeferredLength() throws Exception {
        String path = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1"));
        // The body is longer than the length this PATCH declares: refused, and the declaration with it.
        assertError(tus.patch(path, 0, bytes(100, 47), "Upload-Length", "50"), 413, "exceeds_length");
        HttpResponse<String> head = tus.head(path);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue("0");
        assertThat(head.headers().firstValue("Upload-Defer-Length")).hasValue("1");
        assertThat(head.headers().firstValue("Upload-Length")).isEmpty();

        byte[] data = bytes(100, 48);
        assertError(tus.patch(path, 0, data, "Upload-Length", "100", "Upload-Checksum",
                checksum("sha1", "SHA-1", bytes(100, 49))), 460, "checksum_mismatch");
        assertThat(tus.head(path).headers().firstValue("Upload-Defer-Length")).hasValue("1");

        tus.patchOk(path, 0, data, "Upload-Length", "100");
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void lengthCannotChangeOnceSetNorFallBelowTheOffset() throws Exception {
        String path = tus.created(100);
        tus.patchOk(path, 0, bytes(40, 27));
        assertError(tus.patch(path, 40, bytes(10, 28), "Upload-Length", "120"), 400, "length_already_set");
        assertThat(tus.offset(path)).isEqualTo(40);
        tus.delete(path);

        String deferred = locationOf(tus.send("POST", "/files", null, "Upload-Defer-Length", "1"));
        tus.patchOk(deferred, 0, bytes(40, 29));
        assertError(tus.patch(deferred, 40, new byte[0], "Upload-Length", "30"), 400, "invalid_length");
        assertThat(tus.offset(deferred)).isEqualTo(40);
        tus.delete(deferred);
    }

    // ================================================================================== concatenation

    @Test
    void finalOverUnfinishedPartialsIs400() throws Exception {
        String done = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(done, 0, bytes(10, 30));
        String unfinished = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(unfinished, 0, bytes(5, 31));
        assertError(finalOver(done, unfinished), 400, "invalid_concat");
        // Nothing was consumed: the partials are still there, the finished one still finished.
        assertThat(tus.offset(done)).isEqualTo(10);
        assertThat(tus.offset(unfinished)).isEqualTo(5);
        tus.delete(done);
        tus.delete(unfinished);
    }

    @Test
    void finalOverANonPartialUploadIs400() throws Exception {
        String partial = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(partial, 0, bytes(10, 32));
        String plain = tus.created(10);
        tus.patchOk(plain, 0, bytes(10, 33));
        assertError(finalOver(partial, plain), 400, "invalid_concat");
        assertError(finalOver(partial, partial), 400, "invalid_concat");
        assertThat(tus.offset(partial)).isEqualTo(10);
        tus.delete(partial);
        tus.delete(plain);
    }

    @Test
    void finalOverAnUnknownUploadIs400() throws Exception {
        String partial = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(partial, 0, bytes(10, 34));
        String gone = tus.created(10, "Upload-Concat", "partial");
        tus.delete(gone);
        assertError(finalOver(partial, gone), 400, "invalid_concat");
        assertError(finalOver(partial, "/files/nonsense"), 400, "invalid_concat");
        assertError(tus.send("POST", "/files", null, "Upload-Concat", "final;"), 400, "invalid_concat");
        assertError(tus.send("POST", "/files", null, "Upload-Concat", "total;" + partial), 400, "invalid_concat");
        assertThat(tus.offset(partial)).isEqualTo(10);
        tus.delete(partial);
    }

    @Test
    void finalOverAUrlOutsideTheTusPathIs400() throws Exception {
        String partial = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(partial, 0, bytes(10, 35));
        for (String foreign : List.of("/api/v1/uploads/" + id(partial), "/elsewhere/" + id(partial),
                "/files/" + id(partial) + "/more", "/files/")) {
            assertError(finalOver(partial, foreign), 400, "invalid_concat");
        }
        assertThat(tus.offset(partial)).isEqualTo(10);
        tus.delete(partial);
    }

    @Test
    void finalOverAUrlOnAnotherHostIs400() throws Exception {
        String partial = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(partial, 0, bytes(10, 42));
        int port = server.port();
        for (String foreign : List.of("http://other.example" + partial, "http://other.example:" + port + partial,
                "http://127.0.0.1:" + (port == 1 ? 2 : port - 1) + partial, "//other.example:" + port + partial,
                "https://127.0.0.1" + partial)) {
            assertError(finalOver(foreign), 400, "invalid_concat");
        }
        assertThat(tus.offset(partial)).as("the partial was not consumed").isEqualTo(10);
        // The same host (any case of its name) with this path, and the bare path, stay this server's uploads.
        HttpResponse<String> sameHost = finalOver("http://127.0.0.1:" + port + partial);
        assertThat(sameHost.statusCode()).as(sameHost.body()).isEqualTo(201);
        tus.delete(locationOf(sameHost));
        String other = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(other, 0, bytes(10, 43));
        HttpResponse<String> relative = finalOver(other);
        assertThat(relative.statusCode()).as(relative.body()).isEqualTo(201);
        tus.delete(locationOf(relative));
    }

    @Test
    void finalWithUploadLengthOrABodyIs400() throws Exception {
        String partial = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(partial, 0, bytes(10, 36));
        String concat = "final;" + partial;
        assertError(tus.send("POST", "/files", null, "Upload-Concat", concat, "Upload-Length", "10"), 400,
                "invalid_concat");
        assertError(tus.send("POST", "/files", null, "Upload-Concat", concat, "Upload-Defer-Length", "1"), 400,
                "invalid_concat");
        assertError(tus.send("POST", "/files", bytes(5, 37), "Upload-Concat", concat, "Content-Type", Tus.OCTETS),
                400, "invalid_concat");
        assertThat(tus.offset(partial)).isEqualTo(10);
        tus.delete(partial);
    }

    @Test
    void finalOverPartialsTogetherAboveMaxFileSizeIs413() throws Exception {
        String a = tus.created(600 * 1024, "Upload-Concat", "partial");
        tus.patchOk(a, 0, bytes(600 * 1024, 50));
        String b = tus.created(600 * 1024, "Upload-Concat", "partial");
        tus.patchOk(b, 0, bytes(600 * 1024, 51));
        JsonNode error = assertError(finalOver(a, b), 413, "file_too_large");
        assertThat(error.path("limit").asLong()).isEqualTo(MAX_FILE);
        assertThat(tus.offset(a)).as("partials not consumed").isEqualTo(600 * 1024);
        assertThat(tus.offset(b)).isEqualTo(600 * 1024);
        tus.delete(a);
        tus.delete(b);
    }

    @Test
    void patchOnAFinalUploadIs403() throws Exception {
        String a = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(a, 0, bytes(10, 38));
        String b = tus.created(10, "Upload-Concat", "partial");
        tus.patchOk(b, 0, bytes(10, 39));
        String fin = locationOf(finalOver(a, b));
        assertError(tus.patch(fin, 20, bytes(5, 40)), 403, "final_upload_immutable");
        assertError(tus.patch(fin, 0, bytes(5, 41)), 403, "final_upload_immutable");
        assertThat(tus.offset(fin)).isEqualTo(20);
        tus.delete(fin);
    }

    private static HttpResponse<String> finalOver(String... paths) throws Exception {
        return tus.send("POST", "/files", null, "Upload-Concat", "final;" + String.join(" ", paths));
    }

    // ================================================================================== types

    @Test
    void aRefusedTypeIs415OnThePatchThatCompletesItsHeadAndTheUploadIsGone(@TempDir Path dir) throws Exception {
        try (TestServer png = TestServer.start(dir, "limits.allowedTypes", "image/png")) {
            Tus t = new Tus(png);
            byte[] text = "just some plain text, certainly not a PNG image\n".repeat(400)
                    .getBytes(StandardCharsets.US_ASCII);
            String path = t.created(text.length, "Upload-Metadata", "filename " + b64("notes.txt"));
            t.patchOk(path, 0, slice(text, 0, 8_000));
            JsonNode error = assertError(t.patch(path, 8_000, slice(text, 8_000, text.length)), 415,
                    "type_not_allowed");
            assertThat(error.path("message").asText()).isNotEmpty();
            assertHeadStatus(t.head(path), 404);
            assertThat(png.get("/api/v1/uploads/" + id(path)).statusCode()).isEqualTo(404);

            // The whole body in the creation request takes the other path; same answer.
            assertError(t.send("POST", "/files", text, "Upload-Length", String.valueOf(text.length),
                    "Content-Type", Tus.OCTETS, "Upload-Metadata", "filename " + b64("notes.txt")), 415,
                    "type_not_allowed");

            assertThat(png.blobFiles()).as("blob files").isZero();
            assertThat(Tus.regularFiles(dir.resolve("resumable"))).as("resumable files").isZero();
            png.assertNothingLeftBehind();
        }
    }

    @Test
    void theUploadUrlIsAbsoluteAndOnThisServer() throws Exception {
        HttpResponse<String> r = tus.create(10);
        URI location = URI.create(r.headers().firstValue("Location").orElseThrow());
        assertThat(location.isAbsolute()).isTrue();
        assertThat(location.getPort()).isEqualTo(server.port());
        tus.delete(location.getPath());
    }
}
