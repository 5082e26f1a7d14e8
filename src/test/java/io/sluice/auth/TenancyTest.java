package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.SluiceServerExtension;
import io.tus.java.client.TusClient;
import io.tus.java.client.TusUpload;
import io.tus.java.client.TusUploader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tenancy over real HTTP: what key A creates (uploads, resumable uploads, jobs, events) is 404 for key B on every
 * route, invisible in B's lists and event stream, and visible to an admin key.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TenancyTest {

    @TempDir
    static Path dir;
    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
                    jobs:
                      pollInterval: 50ms
                    pipelines:
                      noop:
                        processor: noop
                    """);
    static AuthTestSupport http;
    static AuthTestSupport.Key admin;
    static AuthTestSupport.Key a;
    static AuthTestSupport.Key b;

    @BeforeAll
    static void start() throws Exception {
        http = new AuthTestSupport(server.server());
        admin = http.create(null, "{\"name\":\"ops\",\"admin\":true}");
        a = http.create(admin.secret(), "{\"name\":\"tenant-a\"}");
        b = http.create(admin.secret(), "{\"name\":\"tenant-b\"}");
    }

    @Test
    void uploadsOfOneKeyAreNotFoundForAnother() throws Exception {
        String id = http.put(a.secret(), "a.txt", "tenant a's bytes".getBytes());
        HttpResponse<String> multipart = http.send("POST", "/api/v1/uploads", a.secret(),
                new Multipart("b0undary").file("f", "m.txt", "multipart bytes".getBytes()).build(),
                "Content-Type", "multipart/form-data; boundary=b0undary");
        assertThat(multipart.statusCode()).as(multipart.body()).isEqualTo(201);
        String mid = Json.parse(multipart.body()).at("/uploads/0/id").asText();

        for (String u : List.of(id, mid)) {
            http.refused(http.get("/api/v1/uploads/" + u, b.secret()), 404, "not_found");
            http.refused(http.get("/api/v1/uploads/" + u + "/content", b.secret()), 404, "not_found");
            assertThat(http.send("HEAD", "/api/v1/uploads/" + u + "/content", b.secret(), null).statusCode())
                    .isEqualTo(404);
            http.refused(http.send("DELETE", "/api/v1/uploads/" + u, b.secret(), null), 404, "not_found");
            assertThat(http.get("/api/v1/uploads/" + u, a.secret()).statusCode()).isEqualTo(200);
            assertThat(http.get("/api/v1/uploads/" + u + "/content", a.secret()).statusCode()).isEqualTo(200);
            assertThat(http.get("/api/v1/uploads/" + u, admin.secret()).statusCode()).isEqualTo(200);
        }
        assertThat(ids(http.get("/api/v1/uploads", b.secret()), "uploads")).doesNotContain(id, mid);
        assertThat(ids(http.get("/api/v1/uploads", a.secret()), "uploads")).contains(id, mid);
        assertThat(ids(http.get("/api/v1/uploads", admin.secret()), "uploads")).contains(id, mid);

        assertThat(http.send("DELETE", "/api/v1/uploads/" + id, a.secret(), null).statusCode()).isEqualTo(204);
        assertThat(http.send("DELETE", "/api/v1/uploads/" + mid, admin.secret(), null).statusCode()).isEqualTo(204);
        server.assertNothingLeftBehind();
    }

    @Test
    void presignedUploadsBelongToTheKeyThatAskedAndTheirUrlNeedsNoKey() throws Exception {
        byte[] content = "presigned bytes of tenant a".getBytes(StandardCharsets.UTF_8);
        http.refused(http.send("POST", "/api/v1/uploads/presign", null, ("{\"filename\":\"p.txt\",\"size\":"
                + content.length + ",\"contentType\":\"text/plain\"}").getBytes(), "Content-Type",
                "application/json"), 401, "unauthorized");
        HttpResponse<String> presigned = http.send("POST", "/api/v1/uploads/presign", a.secret(),
                ("{\"filename\":\"p.txt\",\"size\":" + content.length + ",\"contentType\":\"text/plain\"}")
                        .getBytes(), "Content-Type", "application/json");
        assertThat(presigned.statusCode()).as(presigned.body()).isEqualTo(201);
        JsonNode p = Json.parse(presigned.body());
        String id = p.path("uploadId").asText();
        // B cannot complete (or learn about) A's presigned upload.
        http.refused(http.send("POST", "/api/v1/uploads/" + id + "/complete", b.secret(), null), 404, "not_found");

        // The signed URL is the credential: no API key is sent with the PUT.
        java.net.URI url = java.net.URI.create(p.path("url").asText());
        HttpResponse<String> put = http.send("PUT", url.getRawPath() + "?" + url.getRawQuery(), null, content,
                "Content-Type", p.path("headers").path("Content-Type").asText());
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);

        http.refused(http.get("/api/v1/uploads/" + id, b.secret()), 404, "not_found");
        http.refused(http.send("POST", "/api/v1/uploads/" + id + "/complete", b.secret(), null), 404, "not_found");
        assertThat(http.get("/api/v1/uploads/" + id, a.secret()).statusCode()).isEqualTo(200);
        assertThat(http.send("POST", "/api/v1/uploads/" + id + "/complete", a.secret(), null).statusCode())
                .isEqualTo(200);
        assertThat(ids(http.get("/api/v1/uploads", a.secret()), "uploads")).contains(id);
        assertThat(ids(http.get("/api/v1/uploads", b.secret()), "uploads")).doesNotContain(id);
        assertThat(http.send("DELETE", "/api/v1/uploads/" + id, a.secret(), null).statusCode()).isEqualTo(204);
        server.assertNothingLeftBehind();
    }

    @Test
    void theDashboardAndTheApiDescriptionLoadWithoutAKey() throws Exception {
        for (String path : List.of("/", "/dashboard/", "/dashboard/app.js", "/api/openapi.json")) {
            assertThat(http.get(path, null).statusCode()).as(path).isEqualTo(200);
        }
        http.refused(http.get("/api/v1/pipelines", null), 401, "unauthorized");
    }

    @Test
    void resumableUploadsOfOneKeyAreNotFoundForAnother() throws Exception {
        HttpResponse<String> created = http.send("POST", "/files", a.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Length", "10");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String path = java.net.URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();

        assertThat(http.send("HEAD", path, b.secret(), null, "Tus-Resumable", "1.0.0").statusCode()).isEqualTo(404);
        assertThat(http.send("HEAD", path, b.secret(), null, "Upload-Draft-Interop-Version", "6").statusCode())
                .isEqualTo(404);
        http.refused(http.send("PATCH", path, b.secret(), "12345".getBytes(), "Tus-Resumable", "1.0.0",
                "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream"), 404, "not_found");
        http.refused(http.send("PATCH", path, b.secret(), "12345".getBytes(), "Upload-Draft-Interop-Version", "6",
                "Upload-Offset", "0", "Upload-Complete", "?0", "Content-Type", "application/partial-upload"), 404,
                "not_found");
        http.refused(http.send("POST", path, b.secret(), null, "Tus-Resumable", "1.0.0",
                "X-HTTP-Method-Override", "DELETE"), 404, "not_found");
        http.refused(http.send("DELETE", path, b.secret(), null, "Tus-Resumable", "1.0.0"), 404, "not_found");
        http.refused(http.send("DELETE", path, b.secret(), null, "Upload-Draft-Interop-Version", "6"), 404,
                "not_found");
        http.refused(http.get(path, b.secret()), 404, "not_found");

        // The owner and an admin still see it, untouched.
        HttpResponse<String> head = http.send("HEAD", path, a.secret(), null, "Tus-Resumable", "1.0.0");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue("0");
        assertThat(http.send("HEAD", path, admin.secret(), null, "Tus-Resumable", "1.0.0").statusCode())
                .isEqualTo(200);
        assertThat(http.send("DELETE", path, a.secret(), null, "Tus-Resumable", "1.0.0").statusCode())
                .isEqualTo(204);

        // Another key's partial uploads cannot be concatenated: to it they do not exist.
        HttpResponse<String> partial = http.send("POST", "/files", a.secret(), "abc".getBytes(),
                "Tus-Resumable", "1.0.0", "Upload-Length", "3", "Upload-Concat", "partial",
                "Content-Type", "application/offset+octet-stream");
        assertThat(partial.statusCode()).as(partial.body()).isEqualTo(201);
        String partialPath = java.net.URI.create(partial.headers().firstValue("Location").orElseThrow()).getPath();
        http.refused(http.send("POST", "/files", b.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Concat", "final;" + partialPath), 400, "invalid_concat");
        HttpResponse<String> fin = http.send("POST", "/files", a.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Concat", "final;" + partialPath);
        assertThat(fin.statusCode()).as(fin.body()).isEqualTo(201);
        String finalId = fin.headers().firstValue("Sluice-Upload-Id").orElseThrow();
        http.refused(http.get("/api/v1/uploads/" + finalId, b.secret()), 404, "not_found");
        assertThat(http.get("/api/v1/uploads/" + finalId, a.secret()).statusCode()).isEqualTo(200);
        server.assertNothingLeftBehind();
    }

    @Test
    void tusJavaClientWithAnAuthorizationHeaderUploadsAsItsKey() throws Exception {
        Path file = dir.resolve("tus.bin");
        Files.write(file, AuthTestSupport.bytes(300_000, 7));
        TusClient client = new TusClient();
        client.setUploadCreationURL(server.uri("/files/").toURL());
        client.setHeaders(Map.of("Authorization", "Bearer " + a.secret()));
        TusUploader uploader = client.createUpload(new TusUpload(file.toFile()));
        uploader.setChunkSize(64 * 1024);
        while (uploader.uploadChunk() > -1) {
            // next chunk
        }
        uploader.finish();
        String path = uploader.getUploadURL().getPath();
        String id = path.substring(path.lastIndexOf('/') + 1);
        JsonNode record = Json.parse(http.get("/api/v1/uploads/" + id, a.secret()).body());
        assertThat(record.path("size").asLong()).isEqualTo(300_000);
        http.refused(http.get("/api/v1/uploads/" + id, b.secret()), 404, "not_found");

        // Without the header the same client is refused.
        TusClient anonymous = new TusClient();
        anonymous.setUploadCreationURL(server.uri("/files/").toURL());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> anonymous.createUpload(new TusUpload(file.toFile())))
                .hasMessageContaining("401");
        server.assertNothingLeftBehind();
    }

    @Test
    void jobsAndEventsOfOneKeyAreNotFoundForAnother() throws Exception {
        HttpResponse<String> up = http.send("PUT", "/api/v1/uploads/job.txt?pipeline=noop", a.secret(),
                "job input".getBytes());
        assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
        String uploadA = Json.parse(up.body()).at("/uploads/0/id").asText();
        String job = Json.parse(up.body()).at("/uploads/0/job/id").asText();
        assertThat(job).isNotEmpty();
        Await.until(Duration.ofSeconds(30), "job " + job + " succeeded", () -> "succeeded".equals(
                Json.parse(http.get("/api/v1/jobs/" + job, a.secret()).body()).path("state").asText()));

        http.refused(http.get("/api/v1/jobs/" + job, b.secret()), 404, "not_found");
        http.refused(http.send("POST", "/api/v1/jobs/" + job + "/cancel", b.secret(), null), 404, "not_found");
        http.refused(http.send("POST", "/api/v1/jobs/" + job + "/retry", b.secret(), null), 404, "not_found");
        http.refused(http.get("/api/v1/jobs/" + job + "/output", b.secret()), 404, "not_found");
        http.refused(http.get("/api/v1/jobs/" + job + "/events", b.secret()), 404, "not_found");
        assertThat(ids(http.get("/api/v1/jobs", b.secret()), "jobs")).doesNotContain(job);
        assertThat(ids(http.get("/api/v1/jobs", a.secret()), "jobs")).contains(job);
        assertThat(ids(http.get("/api/v1/jobs", admin.secret()), "jobs")).contains(job);
        assertThat(http.get("/api/v1/jobs/" + job, admin.secret()).statusCode()).isEqualTo(200);
        assertThat(http.get("/api/v1/jobs/" + job + "/output", a.secret()).statusCode()).isEqualTo(200);

        // Webhook deliveries are an admin matter.
        http.refused(http.get("/api/v1/webhooks/deliveries", a.secret()), 403, "forbidden");
        assertThat(http.get("/api/v1/webhooks/deliveries", admin.secret()).statusCode()).isEqualTo(200);

        // B's stream, replayed from the start, shows B's upload and nothing of A's before it (an upload's event
        // is recorded with its job).
        HttpResponse<String> upB = http.send("PUT", "/api/v1/uploads/b.txt?pipeline=noop", b.secret(),
                "tenant b".getBytes());
        assertThat(upB.statusCode()).as(upB.body()).isEqualTo(201);
        String uploadB = Json.parse(upB.body()).at("/uploads/0/id").asText();
        List<String> seenByB = eventsUntil(b.secret(), uploadB);
        assertThat(String.join("\n", seenByB)).doesNotContain(uploadA).doesNotContain(job);
        // An admin's stream has A's events.
        assertThat(String.join("\n", eventsUntil(admin.secret(), uploadA))).contains(uploadA);
        server.assertNothingLeftBehind();
    }

    /** The data lines of the caller's event stream (replayed from the start) up to one that mentions {@code marker}. */
    private static List<String> eventsUntil(String key, String marker) throws Exception {
        HttpResponse<InputStream> r = server.client().send(http.request(
                "/api/v1/events?lastEventId=0&access_token=" + key, null).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> data = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data:")) {
                    data.add(line);
                    if (line.contains(marker)) {
                        return data;
                    }
                }
            }
        }
        throw new AssertionError("the stream ended before an event about " + marker + ": " + data);
    }

    private static List<String> ids(HttpResponse<String> r, String field) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        Json.parse(r.body()).path(field).forEach(n -> out.add(n.path("id").asText()));
        return out;
    }
}
