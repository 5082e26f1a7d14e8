package io.sluice.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.auth.Redaction;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 13, section 4: a real server process is sent credentials every way they leak (query parameters, a key
 * pasted anywhere, presigned-URL signatures, Authorization and Cookie headers, a job failing with a message that
 * quotes a key and a signed URL, a webhook delivery to a URL with a token that fails). Then ALL its log output (the
 * console and every file in {@code <dataDir>/logs}) and the stored rows, read back through the API, must hold none
 * of the secrets, and {@code ***} where they were.
 */
class CredentialRedactionTest {

    private static final String KEY = "sk_01J9ABCDEFGHJKMNPQRSTVWXYZ_S3cr3tKeyMaterialS3cr3tKeyMaterial0123456";
    private static final String KEY_SECRET = "S3cr3tKeyMaterial";
    private static final List<String> SECRETS = List.of(KEY_SECRET, "tokSecret41", "apiKeySecret42", "plainKey43",
            "sigSecret44", "amzSig45", "AKIACRED46", "cookieSecret47", "bearerSecret48", "hookToken49", "jobSig50",
            "jobAmz51", "bigHeaderTok52");

    @TempDir
    Path dir;

    @Test
    void noCredentialReachesALogLineOrAStoredRecord() throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                webhooks:
                  urls: ["http://127.0.0.1:1/hook?token=hookToken49&x=1"]
                  backoffBase: 1s
                  maxAttempts: 1
                pipelines:
                  leak:
                    processor: test-leak
                    options:
                      message: "GET https://bucket.example/o?X-Amz-Signature=jobAmz51&signature=jobSig50 failed; key %s"
                """.formatted(KEY));
        Path data = dir.resolve("data");
        HttpClient client = HttpClient.newHttpClient();
        try (ServerProcess server = ServerProcess.serve(data, List.of(), "--config", config.toString())) {
            String base = "http://127.0.0.1:" + server.port();
            for (String query : List.of("access_token=" + KEY, "token=tokSecret41", "api_key=apiKeySecret42",
                    "key=plainKey43", "q=" + KEY, "signature=sigSecret44&expires=1",
                    "X-Amz-Signature=amzSig45&X-Amz-Credential=AKIACRED46%2F20260101")) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads?" + query))
                        .header("Cookie", "session=cookieSecret47").build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(query).isIn(200, 400, 401, 403);
            }
            client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads"))
                    .header("Authorization", "Bearer bearerSecret48").build(), HttpResponse.BodyHandlers.ofString());
            // Answered by Jetty before any handler (431): the request log of unhandled requests masks too.
            try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
                raw.send("GET /api/v1/uploads?token=bigHeaderTok52 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                        + "a".repeat(64 * 1024) + "\r\n\r\n");
                assertThat(raw.readResponse().status()).isEqualTo(431);
            }

            // A job failing with a message that quotes a signed URL and a key; the upload also fires a webhook
            // delivery to a URL with a token, which fails (nothing listens on port 1).
            HttpResponse<String> up = client.send(HttpRequest.newBuilder(URI.create(base
                    + "/api/v1/uploads/a.txt?pipeline=leak")).PUT(HttpRequest.BodyPublishers.ofString("hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
            String jobId = Json.parse(up.body()).path("uploads").get(0).path("job").path("id").asText();
            JsonNode[] job = new JsonNode[1];
            Await.until(Duration.ofSeconds(30), "job failed", () -> {
                job[0] = Json.parse(get(client, base + "/api/v1/jobs/" + jobId));
                return job[0].path("state").asText().equals("failed");
            });
            String jobText = job[0].toString();
            assertThat(jobText).contains(Redaction.MASK).contains("X-Amz-Signature=***").contains("signature=***");

            JsonNode[] deliveries = new JsonNode[1];
            Await.until(Duration.ofSeconds(30), "a delivery attempt recorded", () -> {
                deliveries[0] = Json.parse(get(client, base + "/api/v1/webhooks/deliveries"));
                return deliveries[0].toString().contains("lastUrl\":\"http");
            });
            String deliveryText = deliveries[0].toString();
            assertThat(deliveryText).contains("token=***");

            server.sigterm();
            server.waitFor(Duration.ofSeconds(30));
            StringBuilder logs = new StringBuilder(server.output());
            try (Stream<Path> files = Files.list(data.resolve("logs"))) {
                for (Path f : files.toList()) {
                    logs.append(Files.readString(f, StandardCharsets.UTF_8));
                }
            }
            String all = logs.toString();
            assertThat(all).contains("access_token=***").contains("api_key=***").contains("X-Amz-Credential=***")
                    .contains("token=***");
            for (String secret : SECRETS) {
                assertThat(all).as("log output").doesNotContain(secret);
                assertThat(jobText).as("stored job").doesNotContain(secret);
                assertThat(deliveryText).as("stored delivery").doesNotContain(secret);
            }
        }
    }

    private static String get(HttpClient client, String uri) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(uri)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
