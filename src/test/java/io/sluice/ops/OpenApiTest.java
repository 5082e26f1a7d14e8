package io.sluice.ops;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /api/openapi.json} is {@code docs/openapi.yaml} as JSON, cacheable, and complete: every route the
 * real server registers (public and admin port, every optional API switched on) is in its {@code paths} with its
 * method, and every error response of every operation uses the shared {@code Error} schema (a status document
 * sent with an error status, readiness' 503, must be marked {@code x-sluice-status-body}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenApiTest {

    static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
    static final String ERROR_SCHEMA = "#/components/schemas/Error";

    @TempDir
    Path dir;
    TestServer server;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
    }

    /** A server with every optional part on: a pipeline, a relay, a static site, the admin port. */
    private TestServer fullServer() throws Exception {
        Path site = Files.createDirectories(dir.resolve("site"));
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                pipelines:
                  noop:
                    processor: noop
                relay:
                  chat:
                    targets: [http://127.0.0.1:9/hook]
                """);
        return TestServer.start(dir.resolve("data"), config, "server.adminPort", "0", "server.staticDir",
                site.toString());
    }

    private JsonNode document(TestServer s) throws Exception {
        HttpResponse<String> r = s.get("/api/openapi.json");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        return Json.parse(r.body());
    }

    /** {@code /files/{id}} and {@code /files/{upload}/} are the same route: parameter names and a trailing slash do not count. */
    static String normalize(String path) {
        String p = path.replaceAll("\\{[^}/]*}", "{}");
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    @Test
    void everyRegisteredRouteIsDocumented() throws Exception {
        server = fullServer();
        JsonNode doc = document(server);
        Set<String> documented = new TreeSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = doc.path("paths").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> path = it.next();
            for (Iterator<String> m = path.getValue().fieldNames(); m.hasNext(); ) {
                String method = m.next();
                if (METHODS.contains(method)) {
                    documented.add(method.toUpperCase(Locale.ROOT) + " " + normalize(path.getKey()));
                }
            }
        }
        List<String> routes = server.app().routes();
        assertThat(routes).as("routes the server registers").contains("GET /api/openapi.json", "GET /metrics",
                "POST /relay/{name}");
        Set<String> missing = new LinkedHashSet<>();
        for (String route : routes) {
            int space = route.indexOf(' ');
            String key = route.substring(0, space) + " " + normalize(route.substring(space + 1));
            if (!documented.contains(key)) {
                missing.add(route);
            }
        }
        assertThat(missing).as("routes missing from docs/openapi.yaml (GET /api/openapi.json)").isEmpty();
    }

    @Test
    void everyErrorResponseUsesTheSharedErrorSchema() throws Exception {
        server = TestServer.start(dir.resolve("data"));
        JsonNode doc = document(server);
        assertThat(doc.at("/components/schemas/Error/properties/error/required").toString())
                .contains("code", "message");
        List<String> problems = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = doc.path("paths").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> path = it.next();
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                if (!METHODS.contains(op.getKey())) {
                    continue;
                }
                String where = op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey();
                boolean anyError = false;
                for (Iterator<Map.Entry<String, JsonNode>> rs = op.getValue().path("responses").fields(); rs.hasNext(); ) {
                    Map.Entry<String, JsonNode> response = rs.next();
                    char first = response.getKey().charAt(0);
                    if (first != '4' && first != '5') {
                        continue;
                    }
                    anyError = true;
                    // A HEAD answer has no body to carry the error object.
                    if (!op.getKey().equals("head") && !usesErrorSchema(doc, response.getValue())) {
                        problems.add(where + " " + response.getKey() + " does not use " + ERROR_SCHEMA);
                    }
                }
                if (!anyError) {
                    problems.add(where + " documents no error response");
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    private static boolean usesErrorSchema(JsonNode doc, JsonNode response) {
        JsonNode r = response;
        if (r.has("$ref")) {
            String ref = r.path("$ref").asText();
            if (!ref.startsWith("#/")) {
                return false;
            }
            r = doc.at(ref.substring(1));
        }
        // A status document answered with an error status (readiness' 503) says so explicitly.
        return r.path("x-sluice-status-body").asBoolean(false)
                || ERROR_SCHEMA.equals(r.at("/content/application~1json/schema/$ref").asText());
    }

    @Test
    void theDocumentIsCachedByETag() throws Exception {
        server = TestServer.start(dir.resolve("data"));
        HttpResponse<String> first = server.get("/api/openapi.json");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("Cache-Control").orElse("")).contains("max-age=");
        String etag = first.headers().firstValue("ETag").orElseThrow();
        assertThat(Json.parse(first.body()).path("openapi").asText()).startsWith("3.");
        assertThat(Json.parse(first.body()).at("/paths/~1api~1openapi.json/get").isObject()).isTrue();

        HttpResponse<String> again = server.send(HttpRequest.newBuilder(server.uri("/api/openapi.json"))
                .header("If-None-Match", etag).GET().build());
        assertThat(again.statusCode()).isEqualTo(304);
        assertThat(again.body()).isEmpty();
        assertThat(again.headers().firstValue("ETag")).contains(etag);
    }
}
