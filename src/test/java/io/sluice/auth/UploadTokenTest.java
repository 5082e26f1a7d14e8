package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.ConfigException;
import io.sluice.testing.AdminKeys;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.sluice.auth.TokenSigner.claims;
import static io.sluice.auth.TokenSigner.hs256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Application-signed upload tokens (HS256) against a real server: every refusal of a bad token, what a token may
 * reach, ownership by subject, each claim's limit at each creation path, the quota of a subject across its tokens,
 * revocation, a tus upload and an event stream with a token.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UploadTokenTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("auth.jwt.hmacSecret", TokenSigner.SECRET,
            "auth.jwt.issuer", TokenSigner.ISSUER, "auth.jwt.audience", TokenSigner.AUDIENCE, "auth.jwt.maxLifetime",
            "1h", "limits.maxFileSize", "100000").config("""
                    pipelines:
                      forced:
                        processor: noop
                      chosen:
                        processor: noop
                    """);
    static AuthTestSupport http;
    static AuthTestSupport.Key admin;

    @BeforeAll
    static void start() throws Exception {
        http = new AuthTestSupport(server.server());
        // auth.jwt ends open mode, so the first admin key is made as `sluice keys create --admin` makes it.
        String first = AdminKeys.create(server.server(), "bootstrap");
        admin = http.create(first, "{\"name\":\"app\",\"admin\":true}");
    }

    private static void invalid(String token, String reason) throws Exception {
        HttpResponse<String> r = http.send("PUT", "/api/v1/uploads/a.txt", token, "hello".getBytes());
        http.refused(r, 401, "invalid_token");
        assertThat(Json.parse(r.body()).path("error").path("message").asText()).as(r.body()).contains(reason);
        // The reason never echoes the token, nor any part of it.
        for (String part : token.split("\\.")) {
            if (part.length() > 8) {
                assertThat(r.body()).doesNotContain(part);
            }
        }
    }

    @Test
    void badTokensAreRefusedWith401AndTheReason() throws Exception {
        Instant now = Instant.now();
        invalid(hs256(claims("alice").expirationTime(Date.from(now.minusSeconds(120)))
                .issueTime(Date.from(now.minusSeconds(600)))), "expired");
        invalid(TokenSigner.sign(claims("alice"), "another-secret-of-at-least-32-bytes!!"), "signature");
        invalid(hs256(claims("alice").audience("someone-else")), "audience");
        invalid(hs256(claims("alice").issuer("https://evil.example")), "issuer");
        invalid(hs256(claims("alice").expirationTime(Date.from(now.plus(Duration.ofHours(2))))), "longer");
        invalid(hs256(claims("alice").issueTime(null)), "'iat'");
        invalid(hs256(claims("alice").subject(null)), "'sub'");
        invalid(hs256(claims("alice").expirationTime(null)), "'exp'");
        invalid(hs256(claims("alice").claim("sluice", Map.of("maxFileSize", "lots"))), "sluice.maxFileSize");
        // alg none: nimbus parses it as a plain JWT, not a signed one.
        String unsigned = hs256(claims("alice"));
        String[] parts = unsigned.split("\\.");
        String none = java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "." + parts[1] + ".";
        invalid(none, "not a signed JWT");
    }

    @Test
    void aTokenReachesItsSubjectsRecordsAndNothingElse() throws Exception {
        String alice = hs256(claims("alice-own"));
        String alice2 = hs256(claims("alice-own").jwtID("second"));
        String bob = hs256(claims("bob-own"));
        String id = http.put(alice, "mine.txt", "hello".getBytes());

        // Another token of the same subject owns it too; another subject is told it does not exist.
        assertThat(http.get("/api/v1/uploads/" + id, alice2).statusCode()).isEqualTo(200);
        http.refused(http.get("/api/v1/uploads/" + id, bob), 404, "not_found");
        http.refused(http.get("/api/v1/uploads/" + id + "/content", bob), 404, "not_found");
        http.refused(http.send("DELETE", "/api/v1/uploads/" + id, bob, null), 404, "not_found");
        assertThat(Json.parse(http.get("/api/v1/uploads", bob).body()).path("uploads").size()).isZero();
        assertThat(http.get("/api/v1/uploads/" + id + "/content", alice).body()).isEqualTo("hello");

        // No keys, no admin routes, no other API.
        http.refused(http.get("/api/v1/keys", alice), 403, "forbidden");
        http.refused(http.send("POST", "/api/v1/tokens/revoke", alice, "{\"sub\":\"bob-own\"}".getBytes(),
                "Content-Type", "application/json"), 403, "forbidden");
        http.refused(http.get("/api/v1/pipelines", alice), 403, "forbidden");
        http.refused(http.get("/api/v1/webhooks/deliveries", alice), 403, "forbidden");

        // An admin sees the owner and filters by it.
        JsonNode listed = Json.parse(http.get("/api/v1/uploads?owner=sub:alice-own", admin.secret()).body());
        assertThat(listed.path("uploads").size()).isEqualTo(1);
        assertThat(listed.path("uploads").get(0).path("owner").asText()).isEqualTo("sub:alice-own");
        assertThat(Json.parse(http.get("/api/v1/uploads?owner=sub:nobody", admin.secret()).body())
                .path("uploads").size()).isZero();

        assertThat(http.send("DELETE", "/api/v1/uploads/" + id, alice, null).statusCode()).isEqualTo(204);
        server.assertNothingLeftBehind();
    }

    @Test
    void sizeTypeAndCountClaimsAreEnforced() throws Exception {
        String small = hs256(claims("carol", Map.of("maxFileSize", "1KiB")));
        http.refused(http.send("PUT", "/api/v1/uploads/big.bin", small, AuthTestSupport.bytes(2000, 1)), 413,
                "file_too_large");
        http.refused(http.send("POST", "/files", small, null, "Tus-Resumable", "1.0.0", "Upload-Length", "2000"),
                413, "file_too_large");
        // The claim narrows the server's limit, it never widens it.
        String huge = hs256(claims("carol", Map.of("maxFileSize", 10_000_000)));
        http.refused(http.send("PUT", "/api/v1/uploads/big.bin", huge, AuthTestSupport.bytes(100_001, 2)), 413,
                "file_too_large");

        String textOnly = hs256(claims("carol", Map.of("allowedTypes", List.of("text/plain"))));
        http.refused(http.send("PUT", "/api/v1/uploads/x.bin", textOnly, AuthTestSupport.bytes(500, 3)), 415,
                "type_not_allowed");
        http.refused(http.send("POST", "/api/v1/uploads", textOnly,
                new Multipart("b").file("f", "x.bin", AuthTestSupport.bytes(500, 3)).build(),
                "Content-Type", "multipart/form-data; boundary=b"), 415, "type_not_allowed");
        http.refused(http.send("POST", "/files", textOnly, null, "Tus-Resumable", "1.0.0", "Upload-Length", "10",
                "Upload-Metadata", "filetype " + b64("image/png")), 415, "type_not_allowed");
        http.refused(http.send("POST", "/api/v1/uploads/presign", textOnly,
                "{\"filename\":\"a.png\",\"size\":10,\"contentType\":\"image/png\"}".getBytes(),
                "Content-Type", "application/json"), 415, "type_not_allowed");
        http.put(textOnly, "ok.txt", "plain text".getBytes());

        String two = hs256(claims("carol", Map.of("maxUploads", 2)).jwtID("two-uploads"));
        http.put(two, "1.txt", "one".getBytes());
        http.put(two, "2.txt", "two".getBytes());
        http.refused(http.send("PUT", "/api/v1/uploads/3.txt", two, "three".getBytes()), 403, "forbidden");
        http.refused(http.send("POST", "/files", two, null, "Tus-Resumable", "1.0.0", "Upload-Length", "3"),
                403, "forbidden");
        // Counted per token: another token of the subject has its own count.
        http.put(hs256(claims("carol", Map.of("maxUploads", 1)).jwtID("other")), "4.txt", "four".getBytes());
        // Presign counts when the URL is handed out.
        String presignOnce = hs256(claims("carol", Map.of("maxUploads", 1)).jwtID("presign-once"));
        byte[] presign = "{\"filename\":\"a.txt\",\"size\":5,\"contentType\":\"text/plain\"}".getBytes();
        HttpResponse<String> first = http.send("POST", "/api/v1/uploads/presign", presignOnce, presign,
                "Content-Type", "application/json");
        assertThat(first.statusCode()).as(first.body()).isBetween(200, 201);
        http.refused(http.send("POST", "/api/v1/uploads/presign", presignOnce, presign,
                "Content-Type", "application/json"), 403, "forbidden");
    }

    @Test
    void forcedPipelineAndMetadataAreOnTheUpload() throws Exception {
        String token = hs256(claims("dave", Map.of("pipeline", "forced",
                "metadata", Map.of("tenant", "acme", "userId", "dave"))));
        HttpResponse<String> r = http.send("POST", "/api/v1/uploads", token, new Multipart("b")
                        .field("pipeline", "chosen").field("tenant", "evil").field("note", "mine")
                        .file("f", "n.txt", "hello".getBytes()).build(),
                "Content-Type", "multipart/form-data; boundary=b");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode u = Json.parse(r.body()).at("/uploads/0");
        assertThat(u.path("metadata").path("tenant").asText()).isEqualTo("acme");
        assertThat(u.path("metadata").path("userId").asText()).isEqualTo("dave");
        assertThat(u.path("metadata").path("note").asText()).isEqualTo("mine");
        JsonNode job = Json.parse(http.get("/api/v1/jobs/" + u.path("job").path("id").asText(), token).body());
        assertThat(job.path("pipeline").asText()).as(job.toString()).isEqualTo("forced");

        HttpResponse<String> put = http.send("PUT", "/api/v1/uploads/p.txt?pipeline=chosen", token,
                "hello".getBytes());
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        JsonNode putJob = Json.parse(http.get("/api/v1/jobs/"
                + Json.parse(put.body()).at("/uploads/0/job/id").asText(), token).body());
        assertThat(putJob.path("pipeline").asText()).isEqualTo("forced");
        assertThat(Json.parse(put.body()).at("/uploads/0/metadata/tenant").asText()).isEqualTo("acme");
    }

    @Test
    void presignedUploadsCarryTheTokensMetadata() throws Exception {
        String token = hs256(claims("erin", Map.of("metadata", Map.of("team", "a"))));
        HttpResponse<String> presigned = http.send("POST", "/api/v1/uploads/presign", token,
                "{\"filename\":\"t.txt\",\"size\":5,\"contentType\":\"text/plain\"}".getBytes(),
                "Content-Type", "application/json");
        assertThat(presigned.statusCode()).as(presigned.body()).isEqualTo(201);
        JsonNode p = Json.parse(presigned.body());
        String id = p.path("uploadId").asText();
        URI url = URI.create(p.path("url").asText());
        // The signed URL is its own credential: no token on the PUT.
        HttpResponse<String> put = http.send("PUT", url.getRawPath() + "?" + url.getRawQuery(), null,
                "hello".getBytes(), "Content-Type", p.path("headers").path("Content-Type").asText());
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);

        // Read with the token: the upload is its subject's.
        HttpResponse<String> read = http.get("/api/v1/uploads/" + id, token);
        assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
        JsonNode u = Json.parse(read.body());
        assertThat(u.path("metadata").path("team").asText()).as(u.toString()).isEqualTo("a");
        assertThat(Json.parse(put.body()).path("metadata").path("team").asText()).as(put.body()).isEqualTo("a");
    }

    @Test
    void aSubjectsQuotaCountsAcrossItsTokens() throws Exception {
        String first = hs256(claims("erin", Map.of("quota", 3000)).jwtID("q1"));
        String second = hs256(claims("erin", Map.of("quota", "3000")).jwtID("q2"));
        http.put(first, "a.bin", AuthTestSupport.bytes(2000, 5));
        http.refused(http.send("PUT", "/api/v1/uploads/b.bin", second, AuthTestSupport.bytes(2000, 6)), 413,
                "quota_exceeded");
        http.refused(http.send("POST", "/files", second, null, "Tus-Resumable", "1.0.0", "Upload-Length", "2000"),
                413, "quota_exceeded");
        // Another subject with the same claim is not affected.
        http.put(hs256(claims("frank", Map.of("quota", 3000))), "c.bin", AuthTestSupport.bytes(2000, 7));
    }

    @Test
    void revokedSubjectsTokensAreRefusedAndNewOnesWork() throws Exception {
        String before = hs256(claims("gina"));
        http.put(before, "a.txt", "a".getBytes());
        HttpResponse<String> bad = http.send("POST", "/api/v1/tokens/revoke", admin.secret(), "{}".getBytes(),
                "Content-Type", "application/json");
        http.refused(bad, 400, "invalid_json");
        HttpResponse<String> r = http.send("POST", "/api/v1/tokens/revoke", admin.secret(),
                "{\"sub\":\"gina\"}".getBytes(), "Content-Type", "application/json");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Instant revokedBefore = Instant.parse(Json.parse(r.body()).path("revokedBefore").asText());
        invalid(before, "revocation");
        // Issued after the revocation (iat has whole seconds): accepted.
        Instant later = revokedBefore.plusSeconds(1);
        String after = hs256(claims("gina").issueTime(Date.from(later))
                .expirationTime(Date.from(later.plus(Duration.ofMinutes(5)))));
        assertThat(http.get("/api/v1/uploads", after).statusCode()).isEqualTo(200);
        // Other subjects are untouched.
        assertThat(http.get("/api/v1/uploads", hs256(claims("gina2"))).statusCode()).isEqualTo(200);
    }

    @Test
    void tusUploadWithAToken() throws Exception {
        String token = hs256(claims("hank", Map.of("metadata", Map.of("tenant", "acme"))));
        HttpResponse<String> created = http.send("POST", "/files", token, null, "Tus-Resumable", "1.0.0",
                "Upload-Length", "10", "Upload-Metadata", "filename " + b64("t.txt") + ",tenant " + b64("evil"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String location = created.headers().firstValue("Location").orElseThrow();
        String path = java.net.URI.create(location).getPath();
        assertThat(http.send("HEAD", path, hs256(claims("ivan")), null, "Tus-Resumable", "1.0.0").statusCode())
                .isEqualTo(404);
        http.refused(http.send("PATCH", path, hs256(claims("ivan")), "0123456789".getBytes(), "Tus-Resumable",
                "1.0.0", "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream"), 404, "not_found");
        HttpResponse<String> patch = http.send("PATCH", path, token, "0123456789".getBytes(), "Tus-Resumable",
                "1.0.0", "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream");
        assertThat(patch.statusCode()).as(patch.body()).isEqualTo(204);
        JsonNode items = Json.parse(http.get("/api/v1/uploads", token).body()).path("uploads");
        assertThat(items.size()).isEqualTo(1);
        assertThat(items.get(0).path("filename").asText()).isEqualTo("t.txt");
        assertThat(items.get(0).path("metadata").path("tenant").asText()).isEqualTo("acme");
    }

    @Test
    void eventStreamTakesTheTokenAsAccessTokenOnly() throws Exception {
        String token = hs256(claims("judy"));
        HttpResponse<InputStream> stream = server.client().send(http.request(
                "/api/v1/events?access_token=" + token, null).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = stream.body()) {
            assertThat(stream.statusCode()).isEqualTo(200);
            assertThat(new String(in.readNBytes("retry:".length()), StandardCharsets.UTF_8)).isEqualTo("retry:");
        }
        http.refused(http.get("/api/v1/uploads?access_token=" + token, null), 401, "unauthorized");
        http.refused(http.get("/api/v1/events?access_token=" + hs256(claims("judy").audience("x")), null), 401,
                "invalid_token");
    }

    private static String b64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aRevocationSurvivesARestart(@TempDir Path other) throws Exception {
        String token = hs256(claims("kate"));
        String[] settings = {"auth.jwt.hmacSecret", TokenSigner.SECRET, "auth.jwt.issuer", TokenSigner.ISSUER,
                "auth.jwt.audience", TokenSigner.AUDIENCE};
        try (TestServer first = TestServer.start(other, settings)) {
            AuthTestSupport h = new AuthTestSupport(first);
            String ops = AdminKeys.create(first, "ops");
            assertThat(h.get("/api/v1/uploads", token).statusCode()).isEqualTo(200);
            assertThat(h.send("POST", "/api/v1/tokens/revoke", ops, "{\"sub\":\"kate\"}".getBytes(),
                    "Content-Type", "application/json").statusCode()).isEqualTo(200);
        }
        try (TestServer second = TestServer.start(other, settings)) {
            AuthTestSupport h = new AuthTestSupport(second);
            h.refused(h.get("/api/v1/uploads", token), 401, "invalid_token");
        }
    }

    /**
     * Open mode (loopback, no keys) ends when tokens are configured: a page that leaves its token out is refused,
     * and a token on a route for admins is still a token, not the open mode's admin.
     */
    @Test
    void tokensConfiguredEndOpenModeEvenWithoutKeys(@TempDir Path other) throws Exception {
        try (TestServer open = TestServer.start(other, "auth.jwt.hmacSecret", TokenSigner.SECRET)) {
            AuthTestSupport h = new AuthTestSupport(open);
            h.refused(h.send("POST", "/files", null, null, "Tus-Resumable", "1.0.0", "Upload-Length", "5"), 401,
                    "unauthorized");
            h.refused(h.send("PUT", "/api/v1/uploads/a.txt", null, "hello".getBytes()), 401, "unauthorized");
            h.refused(h.get("/api/v1/keys", null), 401, "unauthorized");
            HttpResponse<String> token = h.get("/api/v1/keys", hs256(claims("mallory")));
            h.refused(token, 403, "forbidden");
            assertThat(open.get("/health").statusCode()).as("the open routes stay open").isEqualTo(200);
        }
        // The same server without auth.jwt is in open mode: the request without anything is an admin's.
        try (TestServer plain = TestServer.start(other.resolve("plain"))) {
            assertThat(plain.get("/api/v1/keys").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aShortSecretIsRefusedAtStartUp(@TempDir Path other) {
        assertThatThrownBy(() -> TestServer.start(other, "auth.jwt.hmacSecret", "only-31-bytes-long-0123456789ab"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("auth.jwt.hmacSecret").hasMessageContaining("32 bytes")
                .hasMessageNotContaining("only-31-bytes");
    }

    /** Without {@code auth.jwt.*}, a JWT is just a bearer that is no key. */
    @Test
    void withoutConfigurationAJwtIsAnUnknownKey(@TempDir Path other) throws Exception {
        try (TestServer plain = TestServer.start(other)) {
            AuthTestSupport h = new AuthTestSupport(plain);
            h.create(null, "{\"name\":\"ops\",\"admin\":true}");
            h.refused(h.get("/api/v1/uploads", hs256(claims("alice"))), 401, "unauthorized");
        }
    }

}
