package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.AdminKeys;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import io.tus.java.client.ProtocolException;
import io.tus.java.client.TusClient;
import io.tus.java.client.TusUpload;
import io.tus.java.client.TusUploader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.sluice.auth.TokenSigner.claims;
import static io.sluice.auth.TokenSigner.hs256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Upload tokens on the resumable protocols: {@code sluice.allowedTypes} judged on the type detected from the bytes
 * (not only the declared {@code filetype}) on tus, tus creation-with-upload and the IETF draft; the claim never
 * shows in the upload's metadata and no client can set it; an IETF-draft upload and a tus-java-client upload made
 * with a token are owned by its subject; a concatenation is judged on the joined bytes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UploadTokenResumableTest {

    /** A PDF as Tika detects it, whatever the name or the declared type says. */
    static final byte[] PDF = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".getBytes(StandardCharsets.US_ASCII);

    /** The metadata key that carries the claim (upload/TokenTypes.KEY, package-private there). */
    static final String CARRIED = "sluice:allowedTypes";

    @TempDir
    static Path dir;
    static TestServer server;
    static AuthTestSupport http;
    static String admin;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(dir.resolve("data"), "auth.jwt.hmacSecret", TokenSigner.SECRET,
                "auth.jwt.issuer", TokenSigner.ISSUER, "auth.jwt.audience", TokenSigner.AUDIENCE);
        http = new AuthTestSupport(server);
        admin = AdminKeys.create(server, "ops");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    static String imagesOnly(String subject) {
        return hs256(claims(subject, Map.of("allowedTypes", List.of("image/*"))));
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static JsonNode uploadsOf(String subject) throws Exception {
        return Json.parse(http.get("/api/v1/uploads?owner=sub:" + subject, admin).body()).path("uploads");
    }

    @Test
    void aTusUploadDeclaredAnImageButHoldingAPdfIsRefused415AtItsLastPatch() throws Exception {
        String token = imagesOnly("tina");
        HttpResponse<String> created = http.send("POST", "/files", token, null, "Tus-Resumable", "1.0.0",
                "Upload-Length", String.valueOf(PDF.length),
                "Upload-Metadata", "filename " + b64("scan.pdf") + ",filetype " + b64("image/png"));
        assertThat(created.statusCode()).as("the declared type is allowed: " + created.body()).isEqualTo(201);
        String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        HttpResponse<String> patch = http.send("PATCH", path, token, PDF, "Tus-Resumable", "1.0.0",
                "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream");
        http.refused(patch, 415, "type_not_allowed");
        JsonNode error = Json.parse(patch.body()).path("error");
        assertThat(error.path("detectedType").asText()).isEqualTo("application/pdf");
        assertThat(error.path("allowedTypes").get(0).asText()).isEqualTo("image/*");
        assertThat(http.send("HEAD", path, token, null, "Tus-Resumable", "1.0.0").statusCode())
                .as("the refused upload is gone").isEqualTo(404);
        assertThat(uploadsOf("tina")).isEmpty();
    }

    @Test
    void aTusCreationWithUploadHoldingAPdfIsRefused415() throws Exception {
        HttpResponse<String> r = http.send("POST", "/files", imagesOnly("tom"), PDF, "Tus-Resumable", "1.0.0",
                "Upload-Length", String.valueOf(PDF.length), "Content-Type", "application/offset+octet-stream",
                "Upload-Metadata", "filename " + b64("scan.pdf") + ",filetype " + b64("image/png"));
        http.refused(r, 415, "type_not_allowed");
        assertThat(uploadsOf("tom")).isEmpty();
    }

    @Test
    void aTusConcatenationOfAPdfIsRefused415AndThePartialsStay() throws Exception {
        String token = imagesOnly("cora");
        int half = PDF.length / 2;
        String first = partial(token, Arrays.copyOfRange(PDF, 0, half));
        String second = partial(token, Arrays.copyOfRange(PDF, half, PDF.length));
        HttpResponse<String> fin = http.send("POST", "/files", token, null, "Tus-Resumable", "1.0.0",
                "Upload-Concat", "final;" + first + " " + second,
                "Upload-Metadata", "filename " + b64("joined.pdf") + ",filetype " + b64("image/png"));
        assertThat(fin.statusCode()).as(fin.body()).isEqualTo(415);
        assertThat(Json.errorCode(fin.body())).isEqualTo("type_not_allowed");
        assertThat(uploadsOf("cora")).isEmpty();
        for (String p : List.of(first, second)) {
            assertThat(http.send("DELETE", p, token, null, "Tus-Resumable", "1.0.0").statusCode()).isEqualTo(204);
        }
    }

    /** A finished partial upload (tus concatenation) made with {@code token}; its path. */
    static String partial(String token, byte[] bytes) throws Exception {
        HttpResponse<String> created = http.send("POST", "/files", token, null, "Tus-Resumable", "1.0.0",
                "Upload-Concat", "partial", "Upload-Length", String.valueOf(bytes.length));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        HttpResponse<String> patch = http.send("PATCH", path, token, bytes, "Tus-Resumable", "1.0.0",
                "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream");
        assertThat(patch.statusCode()).as(patch.body()).isEqualTo(204);
        return path;
    }

    @Test
    void anIetfDraftUploadWithATokenIsOwnedByItsSubjectAndItsTypeIsJudgedOnTheBytes() throws Exception {
        String token = hs256(claims("ida", Map.of("metadata", Map.of("tenant", "acme"),
                "allowedTypes", List.of("text/plain"))));
        byte[] text = "plain words, nothing else\n".getBytes(StandardCharsets.UTF_8);
        RawResponse ok = ietfCreate(token, "notes.txt", text);
        assertThat(ok.status()).as(ok.body()).isEqualTo(201);
        assertThat(ok.header("Upload-Complete")).isEqualTo("?1");
        JsonNode listed = uploadsOf("ida");
        assertThat(listed).hasSize(1);
        assertThat(listed.get(0).path("filename").asText()).isEqualTo("notes.txt");
        assertThat(listed.get(0).path("owner").asText()).isEqualTo("sub:ida");
        assertThat(listed.get(0).path("metadata").path("tenant").asText()).isEqualTo("acme");
        assertThat(listed.get(0).path("metadata").has(CARRIED))
                .as("the carried claim stays inside the server").isFalse();
        // Another subject cannot see it; the token's own subject can read it back.
        String id = listed.get(0).path("id").asText();
        http.refused(http.get("/api/v1/uploads/" + id, hs256(claims("other"))), 404, "not_found");
        assertThat(http.get("/api/v1/uploads/" + id + "/content", token).body()).isEqualTo(new String(text,
                StandardCharsets.UTF_8));

        RawResponse pdf = ietfCreate(token, "notes2.pdf", PDF);
        assertThat(pdf.status()).as(pdf.body()).isEqualTo(415);
        assertThat(Json.errorCode(pdf.body())).isEqualTo("type_not_allowed");
        assertThat(uploadsOf("ida")).hasSize(1);
    }

    /** The whole upload in the creation request (IETF draft interop 6), skipping interim 1xx answers. */
    static RawResponse ietfCreate(String token, String filename, byte[] body) throws IOException {
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send("POST /files/ HTTP/1.1\r\nHost: 127.0.0.1:" + server.port() + "\r\n"
                    + "Authorization: Bearer " + token + "\r\n"
                    + "Upload-Draft-Interop-Version: 6\r\nUpload-Complete: ?1\r\n"
                    + "Upload-Metadata: filename " + b64(filename) + "\r\n"
                    + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n");
            raw.send(body);
            for (int i = 0; i < 5; i++) {
                RawResponse r = raw.readResponse();
                if (r.status() >= 200) {
                    return r;
                }
            }
            throw new AssertionError("no final answer after 5 interim ones");
        }
    }

    @Test
    void noClientCanSetTheCarriedClaim() throws Exception {
        // An admin key (no token) naming the internal key in its metadata: dropped, so it restricts nothing and
        // does not show.
        HttpResponse<String> created = http.send("POST", "/files", admin, "hello there".getBytes(),
                "Tus-Resumable", "1.0.0", "Upload-Length", "11", "Content-Type", "application/offset+octet-stream",
                "Upload-Metadata", "filename " + b64("k.txt") + "," + CARRIED + " "
                        + b64("image/png"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        // A token's client naming it with a wider list: the token's own list wins.
        String token = imagesOnly("tess");
        HttpResponse<String> widened = http.send("POST", "/files", token, PDF, "Tus-Resumable", "1.0.0",
                "Upload-Length", String.valueOf(PDF.length), "Content-Type", "application/offset+octet-stream",
                "Upload-Metadata", "filename " + b64("p.pdf") + "," + CARRIED + " "
                        + b64("application/pdf"));
        http.refused(widened, 415, "type_not_allowed");
        JsonNode all = Json.parse(http.get("/api/v1/uploads", admin).body()).path("uploads");
        for (JsonNode u : all) {
            assertThat(u.path("metadata").has(CARRIED)).as(u.toString()).isFalse();
        }
    }

    @Test
    void tusJavaClientUploadsWithAToken() throws Exception {
        Path file = dir.resolve("two-mib.bin");
        GeneratedBody body = new GeneratedBody(2L * 1024 * 1024, 7);
        Files.copy(body, file);
        TusClient client = new TusClient();
        client.setUploadCreationURL(server.uri("/files/").toURL());
        client.setHeaders(Map.of("Authorization", "Bearer " + hs256(claims("jack"))));
        TusUploader uploader = client.createUpload(new TusUpload(file.toFile()));
        uploader.setChunkSize(256 * 1024);
        uploader.setRequestPayloadSize(512 * 1024);
        int requests = 0;
        while (uploader.uploadChunk() > -1 && requests++ < 100) {
            // next chunk
        }
        uploader.finish();
        JsonNode listed = uploadsOf("jack");
        assertThat(listed).hasSize(1);
        assertThat(listed.get(0).path("sha256").asText()).isEqualTo(body.sha256Hex());
        assertThat(listed.get(0).path("owner").asText()).isEqualTo("sub:jack");

        // The same client without the token: refused at creation.
        TusClient anonymous = new TusClient();
        anonymous.setUploadCreationURL(server.uri("/files/").toURL());
        assertThatThrownBy(() -> anonymous.createUpload(new TusUpload(file.toFile())))
                .isInstanceOf(ProtocolException.class)
                .satisfies(e -> assertThat(((ProtocolException) e).getCausingConnection().getResponseCode())
                        .isEqualTo(401));
    }
}
