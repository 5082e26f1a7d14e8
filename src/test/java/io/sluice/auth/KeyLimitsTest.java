package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Per-key limits over real HTTP: a key's max file size (multipart, PUT, tus creation; above and below the global
 * limit), its quota (known lengths refused up front, unknown lengths while streaming), and its request rate.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KeyLimitsTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "10000");
    static AuthTestSupport http;
    static AuthTestSupport.Key admin;

    @BeforeAll
    static void start() throws Exception {
        http = new AuthTestSupport(server.server());
        admin = http.create(null, "{\"name\":\"ops\",\"admin\":true}");
    }

    @Test
    void aKeysMaxFileSizeIsAppliedToMultipartPutAndTus() throws Exception {
        AuthTestSupport.Key small = http.create(admin.secret(), "{\"name\":\"small\",\"maxFileSize\":1000}");
        byte[] big = AuthTestSupport.bytes(1500, 1);
        http.refused(http.send("PUT", "/api/v1/uploads/big.bin", small.secret(), big), 413, "file_too_large");
        http.refused(http.send("POST", "/api/v1/uploads", small.secret(),
                new Multipart("bnd").file("f", "big.bin", big).build(),
                "Content-Type", "multipart/form-data; boundary=bnd"), 413, "file_too_large");
        http.refused(http.send("POST", "/files", small.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Length", "1500"), 413, "file_too_large");
        // A chunked PUT has no declared length: refused while streaming.
        http.refused(chunkedPut(small.secret(), "big.bin", big), 413, "file_too_large");
        // Below its limit, all is well; the global limit (10000) no longer applies to this key.
        http.put(small.secret(), "ok.bin", AuthTestSupport.bytes(900, 2));
        assertThat(server.blobFiles()).isEqualTo(1);

        // A larger tier: above the global limit.
        AuthTestSupport.Key large = http.create(admin.secret(), "{\"name\":\"large\",\"maxFileSize\":\"50000\"}");
        http.put(large.secret(), "large.bin", AuthTestSupport.bytes(20_000, 3));
        HttpResponse<String> tus = http.send("POST", "/files", large.secret(), AuthTestSupport.bytes(20_000, 4),
                "Tus-Resumable", "1.0.0", "Upload-Length", "20000", "Content-Type", "application/offset+octet-stream");
        assertThat(tus.statusCode()).as(tus.body()).isEqualTo(201);
        // tus discovery reports the caller's own limit: the key's when it sends one, else the global one.
        assertThat(http.send("OPTIONS", "/files", large.secret(), null).headers().firstValue("Tus-Max-Size"))
                .hasValue("50000");
        assertThat(http.send("OPTIONS", "/files", small.secret(), null).headers().firstValue("Tus-Max-Size"))
                .hasValue("1000");
        assertThat(http.send("OPTIONS", "/files", admin.secret(), null).headers().firstValue("Tus-Max-Size"))
                .hasValue("10000");
        assertThat(http.send("OPTIONS", "/files", null, null).headers().firstValue("Tus-Max-Size"))
                .hasValue("10000");
        // A bad key on a route that needs none is not refused, only not used.
        HttpResponse<String> badKey = http.send("OPTIONS", "/files", "sk_nope", null);
        assertThat(badKey.statusCode()).isBetween(200, 204);
        assertThat(badKey.headers().firstValue("Tus-Max-Size")).hasValue("10000");
        // Without a key of its own the global limit stands.
        http.refused(http.send("PUT", "/api/v1/uploads/big.bin", admin.secret(), AuthTestSupport.bytes(20_000, 5)),
                413, "file_too_large");
        server.assertNothingLeftBehind();
    }

    @Test
    void keyFieldsMustHaveTheirJsonTypes() throws Exception {
        int before = keyCount();
        for (String bad : new String[]{"{\"name\":\"a\",\"admin\":\"yes\"}", "{\"name\":\"a\",\"admin\":\"true\"}",
                "{\"name\":\"a\",\"admin\":1}", "{\"name\":\"a\",\"admin\":0}", "{\"name\":\"a\",\"admin\":[]}",
                "{\"name\":42}", "{\"name\":true}", "{\"name\":{\"x\":1}}",
                "{\"name\":\"a\",\"maxFileSize\":true}", "{\"name\":\"a\",\"maxFileSize\":1.5}",
                "{\"name\":\"a\",\"quota\":99999999999999999999999}", "{\"name\":\"a\",\"quota\":[1]}",
                "{\"name\":\"a\",\"rate\":\"5\"}", "{\"name\":\"a\",\"rate\":true}", "{\"name\":\"a\",\"rate\":2.5}",
                "{\"name\":\"a\",\"rate\":4294967296}"}) {
            http.refused(http.send("POST", "/api/v1/keys", admin.secret(), bad.getBytes(),
                    "Content-Type", "application/json"), 400, "invalid_key_spec");
        }
        assertThat(keyCount()).isEqualTo(before);
        // The right types, and null for "not set", still work.
        AuthTestSupport.Key typed = http.create(admin.secret(),
                "{\"name\":\"typed\",\"admin\":false,\"maxFileSize\":null,\"quota\":\"1MiB\",\"rate\":5}");
        HttpResponse<String> list = http.get("/api/v1/keys", admin.secret());
        JsonNode key = StreamSupport.stream(Json.parse(list.body()).path("keys").spliterator(), false)
                .filter(k -> k.path("id").asText().equals(typed.id())).findFirst().orElseThrow();
        assertThat(key.path("admin").asBoolean(true)).isFalse();
        assertThat(key.path("quota").asLong()).isEqualTo(1024 * 1024);
    }

    private static int keyCount() throws Exception {
        return Json.parse(http.get("/api/v1/keys", admin.secret()).body()).path("keys").size();
    }

    @Test
    void aQuotaCountsStoredAndInProgressBytes() throws Exception {
        AuthTestSupport.Key q = http.create(admin.secret(), "{\"name\":\"quota\",\"quota\":5000}");
        http.put(q.secret(), "first.bin", AuthTestSupport.bytes(3000, 6));
        long blobs = server.blobFiles();
        // Known lengths are refused before a byte is stored.
        http.refused(http.send("PUT", "/api/v1/uploads/second.bin", q.secret(), AuthTestSupport.bytes(3000, 7)),
                413, "quota_exceeded");
        http.refused(http.send("POST", "/api/v1/uploads", q.secret(),
                new Multipart("bnd").file("f", "second.bin", AuthTestSupport.bytes(3000, 8)).build(),
                "Content-Type", "multipart/form-data; boundary=bnd"), 413, "quota_exceeded");
        http.refused(http.send("POST", "/files", q.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Length", "3000"), 413, "quota_exceeded");
        // An unknown length is stopped while streaming.
        http.refused(chunkedPut(q.secret(), "second.bin", AuthTestSupport.bytes(3000, 9)), 413, "quota_exceeded");
        assertThat(server.blobFiles()).isEqualTo(blobs);

        // An unfinished resumable upload counts with its declared length.
        HttpResponse<String> pending = http.send("POST", "/files", q.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Length", "1500");
        assertThat(pending.statusCode()).as(pending.body()).isEqualTo(201);
        http.refused(http.send("PUT", "/api/v1/uploads/third.bin", q.secret(), AuthTestSupport.bytes(1000, 10)),
                413, "quota_exceeded");
        String pendingPath = java.net.URI.create(pending.headers().firstValue("Location").orElseThrow()).getPath();
        assertThat(http.send("DELETE", pendingPath, q.secret(), null, "Tus-Resumable", "1.0.0").statusCode())
                .isEqualTo(204);

        // A deferred length is counted as its bytes arrive.
        HttpResponse<String> deferred = http.send("POST", "/files", q.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Defer-Length", "1");
        assertThat(deferred.statusCode()).as(deferred.body()).isEqualTo(201);
        String path = java.net.URI.create(deferred.headers().firstValue("Location").orElseThrow()).getPath();
        http.refused(http.send("PATCH", path, q.secret(), AuthTestSupport.bytes(2500, 11), "Tus-Resumable", "1.0.0",
                "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream"), 413, "quota_exceeded");
        HttpResponse<String> fits = http.send("PATCH", path, q.secret(), AuthTestSupport.bytes(1500, 12),
                "Tus-Resumable", "1.0.0", "Upload-Offset", "0", "Upload-Length", "1500",
                "Content-Type", "application/offset+octet-stream");
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(204);
        // Now 4500 of 5000 are used.
        http.refused(http.send("PUT", "/api/v1/uploads/fourth.bin", q.secret(), AuthTestSupport.bytes(600, 13)),
                413, "quota_exceeded");
        http.put(q.secret(), "fifth.bin", AuthTestSupport.bytes(400, 14));
        // Deleting frees quota.
        String first = Json.parse(http.get("/api/v1/uploads", q.secret()).body()).at("/uploads/2/id").asText();
        assertThat(http.send("DELETE", "/api/v1/uploads/" + first, q.secret(), null).statusCode()).isEqualTo(204);
        http.put(q.secret(), "sixth.bin", AuthTestSupport.bytes(2000, 15));
        server.assertNothingLeftBehind();
    }

    @Test
    void anIetfUploadOfUnknownLengthIsStoppedAtTheQuota() throws Exception {
        AuthTestSupport.Key q = http.create(admin.secret(), "{\"name\":\"ietf\",\"quota\":2000}");
        http.refused(http.send("POST", "/files", q.secret(), null, "Upload-Draft-Interop-Version", "6",
                "Upload-Complete", "?0", "Upload-Length", "2500"), 413, "quota_exceeded");
        HttpResponse<String> created = http.send("POST", "/files", q.secret(), null,
                "Upload-Draft-Interop-Version", "6", "Upload-Complete", "?0");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String path = java.net.URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        http.refused(http.send("PATCH", path, q.secret(), AuthTestSupport.bytes(2500, 16),
                "Upload-Draft-Interop-Version", "6", "Upload-Offset", "0", "Upload-Complete", "?0",
                "Content-Type", "application/partial-upload"), 413, "quota_exceeded");
        HttpResponse<String> fits = http.send("PATCH", path, q.secret(), AuthTestSupport.bytes(1500, 17),
                "Upload-Draft-Interop-Version", "6", "Upload-Offset", "0", "Upload-Complete", "?1",
                "Content-Type", "application/partial-upload");
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(204);
        server.assertNothingLeftBehind();
    }

    @Test
    void aRateLimitedKeyGets429WithRetryAfter() throws Exception {
        AuthTestSupport.Key slow = http.create(admin.secret(), "{\"name\":\"slow\",\"rate\":1}");
        HttpResponse<String> limited = null;
        for (int i = 0; i < 20 && limited == null; i++) {
            HttpResponse<String> r = http.get("/api/v1/uploads", slow.secret());
            if (r.statusCode() == 429) {
                limited = r;
            } else {
                assertThat(r.statusCode()).isEqualTo(200);
            }
        }
        assertThat(limited).as("a 429 within 20 requests at 1 request per second").isNotNull();
        http.refused(limited, 429, "rate_limited");
        assertThat(limited.headers().firstValue("Retry-After")).hasValueSatisfying(
                v -> assertThat(Long.parseLong(v)).isPositive());
        // Other keys are not affected.
        assertThat(http.get("/api/v1/uploads", admin.secret()).statusCode()).isEqualTo(200);
    }

    /** A PUT whose length is unknown to the server (chunked transfer encoding). */
    private static HttpResponse<String> chunkedPut(String key, String name, byte[] body) throws Exception {
        return server.send(http.request("/api/v1/uploads/" + name, key)
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build());
    }
}
