package io.sluice.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.S3Server;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * preFinish on a presigned upload to S3 (s3proxy): the bytes go straight to the bucket, and {@code complete} is the
 * upload's last request. A refusal answers it and deletes the object; a failed call keeps the object so that
 * {@code complete} can be asked again. The preCreate hook's metadata, decided when the URL was asked for, is on the
 * upload {@code complete} records.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PresignCompleteHookTest {

    static final String SECRET = "hook-secret-0123456789";

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private HookApp app;
    private TestServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
        if (app != null) {
            app.close();
        }
        http.shutdownNow();
    }

    @Test
    void completeGetsTheApplicationsDecision() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        app = new HookApp();
        server = TestServer.start(dir, s3.serverSettings(bucket, "hooks.preCreate", app.url("/create"),
                "hooks.preFinish", app.url("/finish"), "webhooks.secret", SECRET));
        // The preCreate answer's metadata is kept on the presigned row until complete records the upload.
        app.preCreate = j -> HookApp.Reply.json("{\"allow\": true, \"metadata\": {\"scan\": \"v1\"}}");

        app.preFinish = j -> HookApp.Reply.refuse(403, "quarantined");
        String refused = presignAndPut("refused.txt", "refused bytes\n");
        HttpResponse<String> r = complete(refused);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(Json.errorCode(r.body())).isEqualTo("hook_refused");
        assertThat(s3.objects(bucket)).noneMatch(k -> k.endsWith(refused));
        assertThat(Json.errorCode(complete(refused).body())).as("its bytes are gone").isEqualTo("not_uploaded");
        assertThat(server.get("/api/v1/uploads/" + refused).statusCode()).isEqualTo(404);

        app.preFinish = j -> new HookApp.Reply(500, "oops", 0);
        String later = presignAndPut("later.txt", "later bytes\n");
        HttpResponse<String> failed = complete(later);
        assertThat(failed.statusCode()).as(failed.body()).isEqualTo(503);
        assertThat(Json.errorCode(failed.body())).isEqualTo("hook_unavailable");
        assertThat(s3.objects(bucket)).anyMatch(k -> k.endsWith(later));

        app.preFinish = j -> HookApp.Reply.allow();
        HttpResponse<String> done = complete(later);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        assertThat(server.get("/api/v1/uploads/" + later).statusCode()).isEqualTo(200);
        JsonNode told = app.calls("preFinish").getLast().json().path("upload");
        assertThat(told.path("id").asText()).isEqualTo(later);
        assertThat(told.path("filename").asText()).isEqualTo("later.txt");
        assertThat(told.path("metadata").path("scan").asText()).as(told.toString()).isEqualTo("v1");
        assertThat(Json.parse(done.body()).path("metadata").path("scan").asText()).as(done.body()).isEqualTo("v1");
        JsonNode recorded = Json.parse(server.get("/api/v1/uploads/" + later).body());
        assertThat(recorded.path("metadata").path("scan").asText()).as(recorded.toString()).isEqualTo("v1");
    }

    /** Presigns {@code filename} and PUTs {@code text} to the bucket with the returned method, URL and headers. */
    private String presignAndPut(String filename, String text) throws Exception {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> p = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/presign"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"filename\": \"" + filename + "\", \"size\": "
                        + bytes.length + ", \"contentType\": \"text/plain\"}")).build());
        assertThat(p.statusCode()).as(p.body()).isEqualTo(201);
        JsonNode answer = Json.parse(p.body());
        HttpRequest.Builder put = HttpRequest.newBuilder(URI.create(answer.path("url").asText()))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes));
        // Content-Length is the client's own to set (the JDK refuses it as a header); it is the body's length.
        answer.path("headers").properties().stream().filter(e -> !e.getKey().equalsIgnoreCase("Content-Length"))
                .forEach(e -> put.header(e.getKey(), e.getValue().asText()));
        HttpResponse<String> stored = http.send(put.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(stored.statusCode()).as(stored.body()).isEqualTo(200);
        return answer.path("uploadId").asText();
    }

    private HttpResponse<String> complete(String id) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/" + id + "/complete"))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
    }
}
