package io.sluice.site;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard's files over plain HTTP: content types, the strict CSP, ETag/304, {@code /} and {@code /dashboard/},
 * unknown files, {@code /} yielding to {@code server.staticDir}; and the two small endpoints it reads
 * ({@code /api/v1/pipelines}, the {@code jobs} block of {@code /health/detailed}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DashboardTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("tus.basePath", "/up/").config("""
                    pipelines:
                      noop:
                        processor: noop
                      texts:
                        processor: noop
                        types: [text/*]
                        default: true
                        options: {}
                    """);

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "/, text/html",
            "/dashboard/, text/html",
            "/dashboard/index.html, text/html",
            "/dashboard/app.js, javascript",
            "/dashboard/app.css, text/css",
            "/dashboard/jobs.js, javascript",
            "/dashboard/jobs.css, text/css",
            "/dashboard/favicon.svg, image/svg+xml"})
    void servesEachFileWithItsTypeAndTheStrictPolicy(String path, String type) throws Exception {
        HttpResponse<String> r = server.get(path);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).contains(type);
        String csp = r.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertThat(csp).startsWith("default-src 'self'").doesNotContain("unsafe-inline").doesNotContain("unsafe-eval")
                .contains("frame-ancestors 'none'");
        assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-cache");
        assertThat(r.headers().firstValue("ETag").orElseThrow()).matches("\"[0-9a-f]{24}\"");
        assertThat(r.body()).isNotEmpty();
    }

    @Test
    void theRootAndTheDashboardAreTheSamePageWithTheTusEndpointWrittenIn() throws Exception {
        HttpResponse<String> root = server.get("/");
        HttpResponse<String> dashboard = server.get("/dashboard/");
        assertThat(root.body()).isEqualTo(dashboard.body());
        assertThat(root.headers().firstValue("ETag")).isEqualTo(dashboard.headers().firstValue("ETag"));
        assertThat(root.body()).contains("data-tus-endpoint=\"/up/\"").doesNotContain("{{");
    }

    @Test
    void pagesHoldNoExternalResourcesOrInlineCode() throws Exception {
        String html = server.get("/").body();
        assertThat(html).doesNotContainPattern("(?i)(src|href)=\"(https?:)?//");
        assertThat(html).doesNotContainPattern("(?i)<script>|<style|style=\"| on[a-z]+=\"");
        for (String file : List.of("app.js", "jobs.js", "jobs.css")) {
            assertThat(server.get("/dashboard/" + file).body()).as(file).doesNotContainPattern("https?://")
                    .doesNotContain("eval(").doesNotContain("new Function");
        }
    }

    @Test
    void aMatchingEtagAnswers304WithoutABody() throws Exception {
        HttpResponse<String> first = server.get("/dashboard/app.js");
        String etag = first.headers().firstValue("ETag").orElseThrow();
        HttpResponse<String> again = server.send(HttpRequest.newBuilder(server.uri("/dashboard/app.js"))
                .header("If-None-Match", "\"other\", " + etag).build());
        assertThat(again.statusCode()).isEqualTo(304);
        assertThat(again.body()).isEmpty();
        assertThat(again.headers().firstValue("ETag")).hasValue(etag);
        assertThat(again.headers().firstValue("Content-Security-Policy")).isPresent();

        HttpResponse<String> stale = server.send(HttpRequest.newBuilder(server.uri("/dashboard/app.js"))
                .header("If-None-Match", "\"0000\"").build());
        assertThat(stale.statusCode()).isEqualTo(200);
        assertThat(stale.body()).isEqualTo(first.body());
    }

    @Test
    void headAnswersTheHeadersOnly() throws Exception {
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/dashboard/app.css"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEmpty();
        assertThat(Long.parseLong(r.headers().firstValue("Content-Length").orElseThrow()))
                .isEqualTo(server.get("/dashboard/app.css").body().length());
    }

    @Test
    void withoutTheSlashItRedirects() throws Exception {
        HttpResponse<String> r = server.get("/dashboard");
        assertThat(r.statusCode()).isEqualTo(301);
        assertThat(r.headers().firstValue("Location")).hasValue("/dashboard/");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/dashboard/nope.js", "/dashboard/..%2Fpom.xml", "/dashboard/.env",
            "/dashboard/index.html/x", "/app.js"})
    void unknownFilesAre404(String path) throws Exception {
        HttpResponse<String> r = server.get(path);
        assertThat(r.statusCode()).as(path).isIn(400, 404);
        if (r.statusCode() == 404) {
            assertThat(Json.parse(r.body()).at("/error/code").asText()).isEqualTo("not_found");
        }
    }

    @Test
    void otherMethodsAre405() throws Exception {
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/dashboard/app.js"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build());
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(Json.parse(r.body()).at("/error/code").asText()).isEqualTo("method_not_allowed");
        assertThat(r.headers().firstValue("Allow").orElseThrow()).contains("GET").contains("HEAD");
    }

    @Test
    void pipelinesAreListedWithoutTheirOptions() throws Exception {
        HttpResponse<String> r = server.get("/api/v1/pipelines");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode p = Json.parse(r.body()).path("pipelines");
        assertThat(p).hasSize(2);
        assertThat(p.get(0).path("name").asText()).isEqualTo("noop");
        assertThat(p.get(0).path("default").asBoolean()).isFalse();
        assertThat(p.get(0).path("types")).isEmpty();
        assertThat(p.get(1).path("name").asText()).isEqualTo("texts");
        assertThat(p.get(1).path("processor").asText()).isEqualTo("noop");
        assertThat(p.get(1).path("default").asBoolean()).isTrue();
        assertThat(p.get(1).path("types").get(0).asText()).isEqualTo("text/*");
        assertThat(p.get(1).has("options")).isFalse();
    }

    @Test
    void detailedHealthCarriesTheQueueDepth() throws Exception {
        JsonNode d = Json.parse(server.get("/health/detailed").body());
        assertThat(d.at("/jobs/queued").isIntegralNumber()).isTrue();
        assertThat(d.at("/jobs/running").isIntegralNumber()).isTrue();
        assertThat(d.at("/jobs/queued").asLong()).isGreaterThanOrEqualTo(0);
    }

    /** With {@code server.staticDir}, {@code /} is the application's; the dashboard stays at /dashboard/. */
    @Test
    void theRootYieldsToTheStaticSite(@TempDir Path other) throws Exception {
        Path site = Files.createDirectories(other.resolve("site"));
        Files.writeString(site.resolve("index.html"), "<p>the app</p>");
        try (TestServer withSite = TestServer.start(other.resolve("data"), "server.staticDir", site.toString())) {
            HttpResponse<String> root = withSite.get("/");
            assertThat(root.statusCode()).isEqualTo(200);
            assertThat(root.body()).isEqualTo("<p>the app</p>");
            assertThat(root.headers().firstValue("Content-Security-Policy")).isEmpty();
            HttpResponse<String> dashboard = withSite.get("/dashboard/");
            assertThat(dashboard.statusCode()).isEqualTo(200);
            assertThat(dashboard.body()).contains("data-tus-endpoint=\"/files/\"");
            withSite.assertNothingLeftBehind();
        }
    }
}
