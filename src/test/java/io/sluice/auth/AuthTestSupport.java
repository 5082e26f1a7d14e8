package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP helpers for the API key tests: requests with an optional key, key creation, error checks. */
final class AuthTestSupport {

    /** A key as the API returned it at creation. */
    record Key(String id, String secret) {
    }

    private final TestServer server;

    AuthTestSupport(TestServer server) {
        this.server = server;
    }

    HttpRequest.Builder request(String path, String key, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (headers.length > 0) {
            b.headers(headers);
        }
        return b;
    }

    HttpResponse<String> send(String method, String path, String key, byte[] body, String... headers)
            throws Exception {
        HttpRequest.BodyPublisher p = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body);
        // Expect: 100-continue, so a body refused before it is read is not sent into a closing connection.
        return server.send(request(path, key, headers).expectContinue(body != null).method(method, p).build());
    }

    HttpResponse<String> get(String path, String key) throws Exception {
        return send("GET", path, key, null);
    }

    /** Creates a key through the API with {@code adminKey} (null in open mode). */
    Key create(String adminKey, String json) throws Exception {
        HttpResponse<String> r = send("POST", "/api/v1/keys", adminKey, json.getBytes(),
                "Content-Type", "application/json");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode n = Json.parse(r.body());
        assertThat(n.path("key").asText()).startsWith("sk_" + n.path("id").asText() + "_");
        return new Key(n.path("id").asText(), n.path("key").asText());
    }

    /** A raw PUT upload; returns its id. */
    String put(String key, String name, byte[] content) throws Exception {
        HttpResponse<String> r = send("PUT", "/api/v1/uploads/" + name, key, content);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).at("/uploads/0/id").asText();
    }

    /** Asserts status and error code, then that the server holds nothing for the refused request. */
    void refused(HttpResponse<String> r, int status, String code) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).as(r.body()).isEqualTo(code);
        if (status == 401) {
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        }
        server.assertNothingLeftBehind();
    }

    static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }
}
