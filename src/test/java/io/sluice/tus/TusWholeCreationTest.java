package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.sluice.tus.Tus.assertError;
import static io.sluice.tus.Tus.b64;
import static io.sluice.tus.Tus.checksum;
import static io.sluice.tus.Tus.id;
import static io.sluice.tus.Tus.locationOf;
import static io.sluice.tus.Tus.slice;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tus creation whose body is the whole upload is stored complete at once (without {@code Upload-Checksum} by one
 * staged commit, ResumableService.createComplete; with one as a resumable upload finished by its first append), and
 * every way it can fail (a wrong checksum, a refused type, a client that goes away mid-body) leaves nothing: no
 * staged file, no commit marker, no resumable file, no blob, no row. A creation with only a first part of the body
 * is a resumable upload at that offset, which a PATCH finishes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TusWholeCreationTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
            limits:
              allowedTypes: [application/octet-stream]
            """);
    static Tus tus;
    private long blobsBefore;
    private long uploadsBefore;

    @BeforeAll
    static void start() {
        tus = new Tus(server.server());
    }

    @BeforeEach
    void count() throws Exception {
        blobsBefore = server.blobFiles();
        uploadsBefore = uploads();
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
        assertThat(Tus.regularFiles(server.dataDir().resolve("resumable"))).as("resumable files").isZero();
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static long uploads() throws Exception {
        return Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size();
    }

    private HttpResponse<String> createWhole(byte[] data, String... headers) throws Exception {
        String[] all = new String[headers.length + 6];
        all[0] = "Upload-Length";
        all[1] = Integer.toString(data.length);
        all[2] = "Content-Type";
        all[3] = Tus.OCTETS;
        all[4] = "Upload-Metadata";
        all[5] = "filename " + b64("whole.bin");
        System.arraycopy(headers, 0, all, 6, headers.length);
        return tus.send("POST", "/files", data, all);
    }

    private void assertNothingNew() throws Exception {
        assertThat(server.blobFiles()).as("blobs").isEqualTo(blobsBefore);
        assertThat(uploads()).as("upload records").isEqualTo(uploadsBefore);
    }

    @Test
    void aWholeCreationWithItsChecksumIsStoredAndComplete() throws Exception {
        byte[] data = random(100 * 1024, 1);
        HttpResponse<String> r = createWhole(data, "Upload-Checksum", checksum("sha1", "SHA-1", data));
        String path = locationOf(r);
        assertThat(r.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(data.length));
        assertThat(r.headers().firstValue("Sluice-Upload-Id")).hasValue(id(path));
        assertThat(tus.offset(path)).isEqualTo(data.length);
        JsonNode record = tus.record(id(path));
        assertThat(record.path("sha256").asText()).isEqualTo(Tus.sha256(data));
        assertThat(record.path("size").asLong()).isEqualTo(data.length);
        assertThat(server.blobFiles()).isEqualTo(blobsBefore + 1);
        // Complete, so a PATCH has nothing to add, and DELETE removes it as it removes any finished upload.
        assertThat(tus.patch(path, data.length, new byte[0]).statusCode()).isEqualTo(204);
        assertThat(tus.send("DELETE", path, null).statusCode()).isEqualTo(204);
        assertThat(tus.head(path).statusCode()).isEqualTo(404);
    }

    @Test
    void aWholeCreationWithAWrongChecksumKeepsNothing() throws Exception {
        byte[] data = random(100 * 1024, 2);
        String wrong = checksum("sha256", "SHA-256", "other bytes".getBytes(StandardCharsets.US_ASCII));
        HttpResponse<String> r = createWhole(data, "Upload-Checksum", wrong);
        assertError(r, 460, "checksum_mismatch");
        assertThat(r.headers().firstValue("Location")).isEmpty();
        assertNothingNew();
    }

    @Test
    void aWholeCreationOfARefusedTypeKeepsNothing() throws Exception {
        byte[] text = "plain words, nothing else\n".repeat(4000).getBytes(StandardCharsets.US_ASCII);
        HttpResponse<String> r = createWhole(text);
        JsonNode error = assertError(r, 415, "type_not_allowed");
        assertThat(error.path("detectedType").asText()).isEqualTo("text/plain");
        assertNothingNew();
    }

    @Test
    void aClientThatGoesAwayMidBodyLeavesNothing() throws Exception {
        byte[] data = random(300 * 1024, 3);
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send("POST /files HTTP/1.1\r\nHost: 127.0.0.1:" + server.port() + "\r\nTus-Resumable: 1.0.0\r\n"
                    + "Upload-Length: " + data.length + "\r\nContent-Length: " + data.length + "\r\n"
                    + "Content-Type: " + Tus.OCTETS + "\r\n\r\n");
            raw.send(slice(data, 0, 100 * 1024));
            // Received and staged, then the client is gone: a creation it never got a Location for.
            Thread.sleep(200);
        }
        server.assertNothingLeftBehind();
        assertNothingNew();
    }

    @Test
    void aFirstPartOnlyIsAResumableUploadThatAPatchFinishes() throws Exception {
        byte[] data = random(100 * 1024, 4);
        HttpResponse<String> r = tus.send("POST", "/files", slice(data, 0, 40 * 1024), "Upload-Length",
                Integer.toString(data.length), "Content-Type", Tus.OCTETS, "Upload-Checksum",
                checksum("md5", "MD5", slice(data, 0, 40 * 1024)));
        String path = locationOf(r);
        assertThat(r.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(40 * 1024));
        assertThat(tus.offset(path)).isEqualTo(40 * 1024);
        assertThat(Tus.regularFiles(server.dataDir().resolve("resumable"))).as("the part, durable").isEqualTo(1);
        tus.patchOk(path, 40 * 1024, slice(data, 40 * 1024, data.length));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(Tus.sha256(data));
        assertThat(uploads()).isEqualTo(uploadsBefore + 1);
    }
}
