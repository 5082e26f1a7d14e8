package io.sluice.site;

import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code server.staticDir}: files with caching headers, endpoints never shadowed, nothing outside the root. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StaticSiteTest {

    static final String INDEX = "<!doctype html><title>Sluice</title>";

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().settings(dir -> {
        Path site = Files.createDirectories(dir.resolve("site"));
        Files.writeString(site.resolve("index.html"), INDEX);
        Files.writeString(site.resolve("app.3f9a1c2b.js"), "console.log(1)");
        Files.writeString(site.resolve("style.css"), "body{}");
        Files.writeString(site.resolve(".env"), "SECRET=1");
        Files.createDirectories(site.resolve("docs"));
        Files.writeString(site.resolve("docs/index.html"), "<p>docs</p>");
        // Names that collide with endpoints: the endpoints must win.
        Files.createDirectories(site.resolve("health"));
        Files.writeString(site.resolve("health/index.html"), "shadow");
        Files.writeString(dir.resolve("outside.txt"), "outside the root");
        return List.of("server.staticDir", site.toString());
    });

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    @Test
    void theRootServesIndexHtmlWithCachingHeaders() throws Exception {
        HttpResponse<String> r = server.get("/");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(INDEX);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("public, max-age=300");
        assertThat(r.headers().firstValue("Last-Modified")).isPresent();
        String etag = r.headers().firstValue("ETag").orElseThrow();

        HttpResponse<String> again = server.send(HttpRequest.newBuilder(server.uri("/index.html"))
                .header("If-None-Match", etag).build());
        assertThat(again.statusCode()).isEqualTo(304);
        assertThat(again.body()).isEmpty();
    }

    @Test
    void hashedAssetsAreImmutableAndOthersCachedForAnHour() throws Exception {
        HttpResponse<String> hashed = server.get("/app.3f9a1c2b.js");
        assertThat(hashed.statusCode()).isEqualTo(200);
        assertThat(hashed.headers().firstValue("Cache-Control")).hasValue("public, max-age=31536000, immutable");
        HttpResponse<String> css = server.get("/style.css");
        assertThat(css.headers().firstValue("Cache-Control")).hasValue("public, max-age=3600");
        assertThat(css.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/css");
    }

    @Test
    void aDirectoryRedirectsToItsSlashAndServesItsIndex() throws Exception {
        HttpResponse<String> r = server.get("/docs");
        assertThat(r.statusCode()).isEqualTo(301);
        assertThat(r.headers().firstValue("Location")).hasValue("/docs/");
        assertThat(server.get("/docs/").body()).isEqualTo("<p>docs</p>");
    }

    @Test
    void aMissingFileIsAJson404() throws Exception {
        HttpResponse<String> r = server.get("/nope.html");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(Json.errorCode(r.body())).isEqualTo("not_found");
    }

    @Test
    void endpointsAreNeverShadowed() throws Exception {
        HttpResponse<String> health = server.get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).doesNotContain("shadow");
        // Only GET and HEAD reach the site: other methods on unmatched paths stay 404.
        HttpResponse<String> post = server.send(HttpRequest.newBuilder(server.uri("/index.html"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build());
        assertThat(post.statusCode()).isEqualTo(404);
        assertThat(Json.errorCode(post.body())).isEqualTo("not_found");
    }

    @Test
    void headAnswersHeadersOnly() throws Exception {
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/style.css"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Length")).hasValue("6");
        assertThat(r.body()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/../outside.txt", "/docs/../../outside.txt", "/%2e%2e/outside.txt",
            "/docs/%2e%2e/%2e%2e/outside.txt", "/.env", "/%2eenv", "/..%2foutside.txt", "/..%5coutside.txt"})
    void nothingOutsideTheRootOrHiddenIsServed(String path) throws Exception {
        try (RawHttp raw = new RawHttp(server.port(), 5000)) {
            raw.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            RawResponse r = raw.readResponse();
            assertThat(r.status()).as(path + " -> " + r.body()).isIn(400, 404);
            assertThat(r.body()).doesNotContain("outside the root").doesNotContain("SECRET");
        }
    }
}
