package io.sluice.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
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
        return fullServer(true);
    }

    /** @param staticSite whether {@code server.staticDir} is set (it takes {@code GET /} from the dashboard) */
    private TestServer fullServer(boolean staticSite) throws Exception {
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
        return staticSite
                ? TestServer.start(dir.resolve("data"), config, "server.adminPort", "0", "server.staticDir",
                site.toString())
                : TestServer.start(dir.resolve("data"), config, "server.adminPort", "0");
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

    /**
     * The document is valid OpenAPI 3.1 by a real parser (swagger-parser), both as written and as served, and has
     * what generators need: an operationId (unique) and declared tags on every operation, relative servers. YAML
     * flow maps turn an unquoted comma into a stray key with no value, which the parser accepts inside schemas, so
     * no key anywhere may be valueless.
     */
    @Test
    void theDocumentIsValidOpenApi31() throws Exception {
        server = TestServer.start(dir.resolve("data"));
        String yaml = Files.readString(Path.of("docs/openapi.yaml"));
        for (String text : List.of(yaml, server.get("/api/openapi.json").body())) {
            ParseOptions options = new ParseOptions();
            options.setResolve(true);
            SwaggerParseResult parsed = new OpenAPIV3Parser().readContents(text, null, options);
            assertThat(parsed.getMessages()).as("swagger-parser messages").isEmpty();
            OpenAPI api = parsed.getOpenAPI();
            assertThat(api.getOpenapi()).startsWith("3.1.");
            assertThat(api.getServers()).allSatisfy(s -> assertThat(s.getUrl()).startsWith("/"));

            Set<String> tags = new TreeSet<>();
            api.getTags().forEach(t -> tags.add(t.getName()));
            Set<String> ids = new TreeSet<>();
            List<String> problems = new ArrayList<>();
            api.getPaths().forEach((path, item) -> item.readOperationsMap().forEach((method, op) -> {
                String where = method + " " + path;
                if (op.getOperationId() == null || !ids.add(op.getOperationId())) {
                    problems.add(where + ": missing or repeated operationId " + op.getOperationId());
                }
                if (op.getTags() == null || op.getTags().isEmpty() || !tags.containsAll(op.getTags())) {
                    problems.add(where + ": tags " + op.getTags() + " not among the declared " + tags);
                }
            }));
            assertThat(problems).isEmpty();
            assertThat(ids).hasSize(api.getPaths().values().stream().mapToInt(i -> i.readOperations().size()).sum());
        }
        List<String> valueless = new ArrayList<>();
        valuelessKeys(new ObjectMapper(new YAMLFactory()).readTree(yaml), "", valueless);
        assertThat(valueless).as("keys without a value (an unquoted comma in a flow map?)").isEmpty();
    }

    private static void valuelessKeys(JsonNode node, String at, List<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    out.add(at + "/" + e.getKey());
                }
                valuelessKeys(e.getValue(), at + "/" + e.getKey(), out);
            });
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                valuelessKeys(node.get(i), at + "/" + i, out);
            }
        }
    }

    /** And the other way round: every documented operation is a route the server answers. */
    @Test
    void everyDocumentedOperationIsARoute() throws Exception {
        server = fullServer(false);
        Set<String> routes = new TreeSet<>();
        for (String route : server.app().routes()) {
            int space = route.indexOf(' ');
            routes.add(route.substring(0, space) + " " + normalize(route.substring(space + 1)));
        }
        List<String> unknown = new ArrayList<>();
        OpenAPI api = new OpenAPIV3Parser().readContents(Files.readString(Path.of("docs/openapi.yaml"))).getOpenAPI();
        api.getPaths().forEach((path, item) -> item.readOperationsMap().forEach((method, op) -> {
            String key = method.name() + " " + normalize(path);
            if (!routes.contains(key)) {
                unknown.add(key);
            }
        }));
        assertThat(unknown).as("operations in docs/openapi.yaml that no route answers").isEmpty();
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
