package io.sluice.upload;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.storage.BlobWriter;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import io.sluice.util.DerivedKeys;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Presigned direct uploads on local storage: presign → the Sluice-signed PUT (sent with exactly the returned method,
 * URL and headers) → the upload record and its job; idempotent completion; the S3/MinIO event endpoint; and every
 * refusal with its status and code, leaving no blob, no upload record and no job behind.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PresignTest {

    static final String TOKEN = "event-token-0123456789";
    static final String CSV = "name,qty\nbolt,4\nnut,7\n";

    @TempDir
    static Path dir;
    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "64KiB",
            "limits.allowedTypes", "text/*,image/png", "presign.eventToken", TOKEN).config("""
                    jobs:
                      pollInterval: 50ms
                    pipelines:
                      sleepy:
                        processor: test-sleep
                        options: {lines: 3}
                    """);

    @AfterEach
    void nothingHeld() throws Exception {
        server.assertNothingLeftBehind();
    }

    // ---------------------------------------------------------------------------------------------------------
    // The happy paths.

    @Test
    void presignThenPutRecordsTheUploadAndItsJobRuns() throws Exception {
        byte[] bytes = CSV.getBytes(StandardCharsets.UTF_8);
        JsonNode p = presign(server.server(), "stock.csv", bytes.length, "text/csv", "sleepy");
        assertThat(p.path("method").asText()).isEqualTo("PUT");
        assertThat(p.path("expiresAt").asText()).isNotEmpty();
        String id = p.path("uploadId").asText();

        HttpResponse<String> put = send(server.server(), exactly(p, bytes));
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        JsonNode upload = Json.parse(put.body());
        assertThat(upload.path("id").asText()).isEqualTo(id);
        assertThat(upload.path("size").asLong()).isEqualTo(bytes.length);
        assertThat(upload.path("sha256").asText()).isEqualTo(sha256(bytes));
        assertThat(upload.path("contentType").asText()).isEqualTo("text/csv");
        String jobId = upload.at("/job/id").asText();
        assertThat(jobId).isNotEmpty();

        JsonNode record = Json.parse(server.get("/api/v1/uploads/" + id).body());
        assertThat(record.path("sha256").asText()).isEqualTo(sha256(bytes));
        Await.until(Duration.ofSeconds(30), "job succeeded",
                () -> Json.parse(server.get("/api/v1/jobs/" + jobId).body()).path("state").asText().equals("succeeded"));

        // Completion after the PUT answers the same upload and job, as often as it is asked.
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> done = post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of());
            assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
            JsonNode again = Json.parse(done.body());
            assertThat(again.path("id").asText()).isEqualTo(id);
            assertThat(again.path("sha256").asText()).isEqualTo(sha256(bytes));
            assertThat(again.at("/job/id").asText()).isEqualTo(jobId);
            assertThat(again.at("/job/state").asText()).isEqualTo("succeeded");
        }
        assertThat(jobsOf(id)).isEqualTo(1);

        // A second PUT after completion: 409, and the recorded bytes are untouched.
        HttpResponse<String> second = send(server.server(), exactly(p, bytes));
        assertError(second, 409, "already_completed");
        assertThat(server.app().store().size(id)).isEqualTo(bytes.length);
        assertThat(jobsOf(id)).isEqualTo(1);
    }

    /**
     * URLs are signed with a key derived for presigning (HKDF, "sluice presign v1"), never with the configured secret
     * itself: even with the webhook secret set to the same value, a presign signature is not a webhook signature.
     * A URL signed the pre-HKDF way (the raw secret) is refused, as URLs issued before the upgrade are.
     */
    @Test
    void urlsAreSignedWithAKeyDerivedForPresigningAndStillRoundTrip() throws Exception {
        String shared = "one-secret-for-everything-0123";
        try (TestServer s = TestServer.start(dir.resolve("derived"), "presign.secret", shared,
                "webhooks.secret", shared)) {
            byte[] bytes = CSV.getBytes(StandardCharsets.UTF_8);
            JsonNode p = presign(s, "stock.csv", bytes.length, "text/csv", null);
            String id = p.path("uploadId").asText();
            String url = p.path("url").asText();
            long expires = Long.parseLong(url.replaceAll(".*[?&]expires=(\\d+).*", "$1"));
            String signature = url.substring(url.indexOf("signature=") + 10);
            String canonical = "PUT\n" + id + "\n" + bytes.length + "\ntext/csv\n" + expires;
            assertThat(signature).isEqualTo(hmac(DerivedKeys.derive(shared, PresignService.KEY_INFO), canonical));
            String oldWay = hmac(shared.getBytes(StandardCharsets.UTF_8), canonical);
            assertThat(signature).as("not the raw secret's MAC").isNotEqualTo(oldWay);

            HttpResponse<String> stale = send(s, HttpRequest.newBuilder(URI.create(url.replace(signature, oldWay)))
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).header("Content-Type", "text/csv"));
            assertError(stale, 403, "presign_invalid");
            assertThat(s.app().store().size(id)).as("nothing stored for the refused URL").isEqualTo(-1);

            HttpResponse<String> put = send(s, exactly(p, bytes));
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            assertThat(s.app().store().size(id)).isEqualTo(bytes.length);
            s.assertNothingLeftBehind();
        }
    }

    private static String hmac(byte[] key, String text) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void theEventEndpointCompletesAnUploadWhoseBytesAreInTheStoreOnce() throws Exception {
        byte[] bytes = "just some text\n".getBytes(StandardCharsets.UTF_8);
        String id = presign(server.server(), "notes.txt", bytes.length, "text/plain",
                "sleepy").path("uploadId").asText();
        // What an S3 PUT does: the object appears in the store without Sluice seeing the bytes.
        writeBlob(id, bytes);

        String event = minioEvent("uploads", "prefix/" + id);
        HttpResponse<String> first = post(server.server(), "/api/v1/storage/events", event, bearer(TOKEN));
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        JsonNode outcome = Json.parse(first.body());
        assertThat(outcome.path("records").asInt()).isEqualTo(2);
        assertThat(outcome.path("completed").asInt()).isEqualTo(1);
        assertThat(outcome.path("ignored").asInt()).as("the unknown key").isEqualTo(1);

        JsonNode record = Json.parse(server.get("/api/v1/uploads/" + id).body());
        assertThat(record.path("sha256").asText()).isEqualTo(sha256(bytes));
        assertThat(record.path("contentType").asText()).isEqualTo("text/plain");

        HttpResponse<String> repeat = post(server.server(), "/api/v1/storage/events", event, bearer(TOKEN));
        assertThat(Json.parse(repeat.body()).path("alreadyCompleted").asInt()).isEqualTo(1);
        HttpResponse<String> complete = post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of());
        assertThat(complete.statusCode()).isEqualTo(200);
        assertThat(Json.parse(complete.body()).at("/job/id").asText()).isNotEmpty();
        assertThat(jobsOf(id)).isEqualTo(1);
    }

    @Test
    void completeChecksTheStoredObjectAndIsIdempotent() throws Exception {
        byte[] bytes = "a,b\n1,2\n".getBytes(StandardCharsets.UTF_8);
        String id = presign(server.server(), "t.csv", bytes.length, "text/csv", null).path("uploadId").asText();
        assertError(post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of()), 409, "not_uploaded");

        // The wrong size: refused, the object removed, the upload still pending.
        writeBlob(id, "a,b\n".getBytes(StandardCharsets.UTF_8));
        assertError(post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of()), 400, "size_mismatch");
        assertThat(server.app().store().size(id)).isEqualTo(-1);

        // Bytes of another type than declared: refused likewise.
        byte[] png = TypeDetectorTest.Samples.png();
        String pngId = presign(server.server(), "t.csv", png.length, "text/csv", null).path("uploadId").asText();
        writeBlob(pngId, png);
        HttpResponse<String> wrongType = post(server.server(), "/api/v1/uploads/" + pngId + "/complete", "", Map.of());
        assertThat(wrongType.statusCode()).as(wrongType.body()).isEqualTo(415);
        assertThat(server.app().store().size(pngId)).isEqualTo(-1);
        assertNoUpload(pngId);

        writeBlob(id, bytes);
        JsonNode a = Json.parse(post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of()).body());
        JsonNode b = Json.parse(post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of()).body());
        assertThat(a.path("id").asText()).isEqualTo(id);
        assertThat(b).isEqualTo(a);
        assertThat(a.path("sha256").asText()).isEqualTo(sha256(bytes));
        assertThat(jobsOf(id)).isZero();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Refusals of the PUT.

    @Test
    void aTamperedUrlIsRefused() throws Exception {
        byte[] bytes = CSV.getBytes(StandardCharsets.UTF_8);
        JsonNode p = presign(server.server(), "stock.csv", bytes.length, "text/csv", null);
        String url = p.path("url").asText();
        String id = p.path("uploadId").asText();
        String other = presign(server.server(), "other.csv", bytes.length, "text/csv", null).path("uploadId").asText();
        String signature = url.substring(url.indexOf("signature=") + 10);
        String flipped = (signature.charAt(0) == 'a' ? "b" : "a") + signature.substring(1);
        long expires = Long.parseLong(url.replaceAll(".*expires=(\\d+).*", "$1"));

        for (String bad : new String[]{
                url.replace(signature, flipped),
                url.replace(id, other),
                url.replace("expires=" + expires, "expires=" + (expires + 3600)),
                url.replace("&signature=" + signature, ""),
                url.replace("expires=" + expires, "expires=soon")}) {
            HttpResponse<String> r = send(server.server(), HttpRequest.newBuilder(URI.create(bad))
                    .header("Content-Type", "text/csv").PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
            assertError(r, 403, "presign_invalid");
        }
        // Another Content-Type than the signed one is another request.
        HttpResponse<String> r = send(server.server(), HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "text/plain").PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
        assertError(r, 403, "presign_invalid");
        assertNoUpload(id);
        assertNoUpload(other);
    }

    @Test
    void aBodyOfAnotherSizeThanDeclaredIsRefused() throws Exception {
        byte[] bytes = CSV.getBytes(StandardCharsets.UTF_8);
        JsonNode p = presign(server.server(), "stock.csv", bytes.length, "text/csv", "sleepy");
        String id = p.path("uploadId").asText();
        assertError(send(server.server(), exactly(p, "name,qty\n".getBytes(StandardCharsets.UTF_8))), 400,
                "size_mismatch");
        assertError(send(server.server(), exactly(p, (CSV + "washer,9\n").getBytes(StandardCharsets.UTF_8))), 413,
                "size_mismatch");
        // Without a Content-Length (chunked), the body is cut at the declared size while it streams.
        HttpRequest chunked = HttpRequest.newBuilder(URI.create(p.path("url").asText()))
                .header("Content-Type", "text/csv")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                        (CSV + "washer,9\n").getBytes(StandardCharsets.UTF_8)))).build();
        assertError(server.send(chunked), 413, "size_mismatch");
        HttpRequest shortChunked = HttpRequest.newBuilder(URI.create(p.path("url").asText()))
                .header("Content-Type", "text/csv")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(
                        "name".getBytes(StandardCharsets.UTF_8)))).build();
        assertError(server.send(shortChunked), 400, "size_mismatch");
        assertNoUpload(id);
        // The URL still works for the right bytes.
        assertThat(send(server.server(), exactly(p, bytes)).statusCode()).isEqualTo(201);
    }

    @Test
    void aPutInFlightHoldsTheUploadAgainstASecondPutAndACompletion() throws Exception {
        StringBuilder csv = new StringBuilder("name,qty\n");
        while (csv.length() < 4000) {
            csv.append("bolt,").append(csv.length()).append('\n');
        }
        byte[] bytes = csv.toString().getBytes(StandardCharsets.UTF_8);
        JsonNode p = presign(server.server(), "big.csv", bytes.length, "text/csv", "sleepy");
        String id = p.path("uploadId").asText();
        URI url = URI.create(p.path("url").asText());
        try (RawHttp first = new RawHttp(server.port(), 30_000)) {
            first.send("PUT " + url.getRawPath() + "?" + url.getRawQuery() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: text/csv\r\nContent-Length: " + bytes.length + "\r\n\r\n");
            first.send(java.util.Arrays.copyOf(bytes, 1000));
            // The first PUT holds the row once its staged file exists.
            Await.until(Duration.ofSeconds(10), "first PUT staging", () -> server.stagedFiles() == 1);
            assertError(send(server.server(), exactly(p, bytes)), 423, "upload_locked");
            assertError(post(server.server(), "/api/v1/uploads/" + id + "/complete", "", Map.of()), 409,
                    "not_uploaded");
            first.send(java.util.Arrays.copyOfRange(bytes, 1000, bytes.length));
            RawResponse done = first.readResponse();
            assertThat(done.status()).as(done.body()).isEqualTo(201);
            assertThat(Json.parse(done.body()).path("sha256").asText()).isEqualTo(sha256(bytes));
        }
        assertError(send(server.server(), exactly(p, bytes)), 409, "already_completed");
        assertThat(jobsOf(id)).isEqualTo(1);
    }

    @Test
    void bytesOfAnotherTypeThanDeclaredAreRefused() throws Exception {
        byte[] png = TypeDetectorTest.Samples.png();
        JsonNode p = presign(server.server(), "picture.png", png.length, "text/plain", null);
        HttpResponse<String> r = send(server.server(), exactly(p, png));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(415);
        assertThat(Json.errorCode(r.body())).isIn("type_mismatch", "type_not_allowed");
        assertNoUpload(p.path("uploadId").asText());
    }

    @Test
    void anExpiredUrlIsRefusedAndTheUploadIsSweptWithItsBytes() throws Exception {
        Path config = dir.resolve("short.yaml");
        Files.writeString(config, "presign:\n  expiry: 1s\n");
        try (TestServer s = TestServer.start(dir.resolve("short-data"), config)) {
            byte[] bytes = CSV.getBytes(StandardCharsets.UTF_8);
            JsonNode p = presign(s, "stock.csv", bytes.length, "text/csv", null);
            String id = p.path("uploadId").asText();
            JsonNode q = presign(s, "other.csv", bytes.length, "text/csv", null);
            String qid = q.path("uploadId").asText();
            // As if an S3 PUT had arrived but nobody completed it.
            try (BlobWriter w = s.app().store().create(qid)) {
                w.write(ByteBuffer.wrap(bytes));
                w.commit();
            }
            Thread.sleep(2100);
            assertError(send(s, exactly(p, bytes)), 403, "presign_expired");
            Await.until(Duration.ofSeconds(20), "both swept", () ->
                    post(s, "/api/v1/uploads/" + id + "/complete", "", Map.of()).statusCode() == 404
                            && post(s, "/api/v1/uploads/" + qid + "/complete", "", Map.of()).statusCode() == 404);
            assertThat(s.app().store().size(qid)).as("bytes swept").isEqualTo(-1);
            assertThat(s.blobFiles()).isZero();
            assertThat(Json.parse(s.get("/api/v1/uploads").body()).path("uploads")).isEmpty();
            s.assertNothingLeftBehind();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Refusals of presign, complete and the event endpoint.

    @Test
    void presignRefusesWhatCouldNeverBeStored() throws Exception {
        long blobs = server.blobFiles();
        assertError(presignRaw("a.png", 10, "image/jpeg", null), 415, "type_not_allowed");
        assertError(presignRaw("a.csv", 10, "text/csv", "nope"), 400, "unknown_pipeline");
        assertError(presignRaw("a.csv", 64 * 1024 + 1, "text/csv", null), 413, "file_too_large");
        assertError(presignRaw("a.csv", 0, "text/csv", null), 400, "invalid_size");
        assertError(presignRaw(null, 10, "text/csv", null), 400, "invalid_filename");
        assertError(presignRaw("a.csv", 10, "not a type", null), 400, "invalid_content_type");
        assertError(post(server.server(), "/api/v1/uploads/presign", "{\"filename\":", Map.of()), 400, "invalid_json");
        assertThat(server.blobFiles()).isEqualTo(blobs);
    }

    @Test
    void completeOfAnUnknownUploadIs404() throws Exception {
        assertError(post(server.server(), "/api/v1/uploads/01JZZZZZZZZZZZZZZZZZZZZZZZ/complete", "", Map.of()), 404,
                "not_found");
        assertError(post(server.server(), "/api/v1/uploads/nonsense/complete", "", Map.of()), 404, "not_found");
    }

    @Test
    void theEventEndpointNeedsItsTokenAndWellFormedJson() throws Exception {
        String event = minioEvent("uploads", "x");
        assertError(post(server.server(), "/api/v1/storage/events", event, Map.of()), 401, "unauthorized");
        assertError(post(server.server(), "/api/v1/storage/events", event, bearer("wrong-token-0123456789")), 401,
                "unauthorized");
        assertError(post(server.server(), "/api/v1/storage/events", "{\"Records\": [", bearer(TOKEN)), 400,
                "invalid_event");
        assertError(post(server.server(), "/api/v1/storage/events", "{\"no\": 1}", bearer(TOKEN)), 400,
                "invalid_event");
    }

    @Test
    void withoutAConfiguredTokenTheEventEndpointRefusesEverything() throws Exception {
        try (TestServer s = TestServer.start(dir.resolve("no-token"))) {
            assertError(post(s, "/api/v1/storage/events", minioEvent("b", "k"), bearer("")), 401, "unauthorized");
            assertError(post(s, "/api/v1/storage/events", minioEvent("b", "k"), bearer("anything-at-all-123")),
                    401, "unauthorized");
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private static JsonNode presign(TestServer s, String filename, long size, String type, String pipeline)
            throws Exception {
        HttpResponse<String> r = post(s, "/api/v1/uploads/presign", presignBody(filename, size, type, pipeline),
                Map.of("Content-Type", "application/json"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body());
    }

    private static HttpResponse<String> presignRaw(String filename, long size, String type, String pipeline)
            throws Exception {
        return post(server.server(), "/api/v1/uploads/presign", presignBody(filename, size, type, pipeline),
                Map.of("Content-Type", "application/json"));
    }

    private static String presignBody(String filename, long size, String type, String pipeline) {
        var body = new java.util.LinkedHashMap<String, Object>();
        body.put("filename", filename);
        body.put("size", size);
        body.put("contentType", type);
        if (pipeline != null) {
            body.put("pipeline", pipeline);
        }
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(body);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The request the presign answer describes: its method, URL and headers, nothing else. */
    private static HttpRequest.Builder exactly(JsonNode p, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(p.path("url").asText()))
                .method(p.path("method").asText(), HttpRequest.BodyPublishers.ofByteArray(body));
        for (Iterator<Map.Entry<String, JsonNode>> it = p.path("headers").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> h = it.next();
            b.header(h.getKey(), h.getValue().asText());
        }
        return b;
    }

    private static HttpResponse<String> send(TestServer s, HttpRequest.Builder b) throws Exception {
        return s.send(b.timeout(Duration.ofSeconds(30)).build());
    }

    private static HttpResponse<String> post(TestServer s, String path, String body, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return send(s, b);
    }

    private static Map<String, String> bearer(String token) {
        return Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json");
    }

    /** A MinIO bucket notification for {@code key} (URL-encoded as MinIO sends it), plus one for an unknown key. */
    static String minioEvent(String bucket, String key) {
        String record = """
                {"eventVersion":"2.0","eventSource":"minio:s3","awsRegion":"","eventTime":"2026-11-23T10:00:00.000Z",
                 "eventName":"s3:ObjectCreated:Put","userIdentity":{"principalId":"minio"},
                 "s3":{"s3SchemaVersion":"1.0","configurationId":"Config",
                       "bucket":{"name":"%s","ownerIdentity":{"principalId":"minio"},"arn":"arn:aws:s3:::%s"},
                       "object":{"key":"%s","size":1,"eTag":"x","contentType":"text/plain","sequencer":"1"}}}""";
        return "{\"EventName\":\"s3:ObjectCreated:Put\",\"Key\":\"" + bucket + "/" + key + "\",\"Records\":["
                + record.formatted(bucket, bucket, URLEncoder.encode(key, StandardCharsets.UTF_8)) + ","
                + record.formatted(bucket, bucket, "unrelated%2Ffile.txt") + "]}";
    }

    private static void writeBlob(String id, byte[] bytes) throws Exception {
        try (BlobWriter w = server.app().store().create(id)) {
            w.write(ByteBuffer.wrap(bytes));
            w.commit();
        }
    }

    private static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).as(r.body()).isEqualTo(code);
        assertThat(Json.parse(r.body()).at("/error/requestId").asText()).isNotEmpty();
    }

    /** No upload record, no blob, no job for {@code id}. */
    private static void assertNoUpload(String id) throws Exception {
        assertThat(server.get("/api/v1/uploads/" + id).statusCode()).isEqualTo(404);
        assertThat(server.app().store().size(id)).isEqualTo(-1);
        assertThat(jobsOf(id)).isZero();
    }

    private static long jobsOf(String uploadId) throws Exception {
        JsonNode jobs = Json.parse(server.get("/api/v1/jobs?limit=500").body()).path("jobs");
        long n = 0;
        for (JsonNode j : jobs) {
            if (j.path("uploadId").asText().equals(uploadId)) {
                n++;
            }
        }
        return n;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
