package io.sluice.http;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.api.ApiException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.ServerConfig;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import org.eclipse.jetty.server.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The router's error contract, on a real {@link HttpServer} with routes made for the purpose. */
class RouterTest {

    private HttpServer server;
    private Router router;

    @BeforeEach
    void start() throws Exception {
        ServerConfig config = ConfigLoader.load(null, Map.of(), Map.of("server.port", "0")).server();
        router = new Router(Request::getRemoteAddr);
        router.add("GET", "/boom", ex -> {
            throw new IllegalStateException("bug");
        });
        router.add("GET", "/error", ex -> {
            throw new StackOverflowError();
        });
        router.add("GET", "/busy", ex -> {
            throw new ApiException(503, "busy", "try later", Map.of("queue", 3), Duration.ofSeconds(7));
        });
        router.add("GET", "/half", ex -> {
            ex.response().getHeaders().put("Content-Length", 1000);
            ex.write(false, ByteBuffer.wrap("partial".getBytes(StandardCharsets.US_ASCII)));
            throw new IllegalStateException("failed mid-response");
        });
        router.add("GET", "/items/{id}", ex -> ex.json(200, Map.of("id", ex.param("id"))));
        router.add("PUT", "/items/{id}", ex -> ex.empty(204));
        server = new HttpServer(config, router, new Router(Request::getRemoteAddr),
                new ConnectionCap(config.maxConnections(), new SimpleMeterRegistry()), Duration.ofSeconds(1),
                java.util.List.of());
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    @Test
    void unexpectedExceptionIsJson500WithRequestIdAndTheConnectionLives() throws Exception {
        try (RawHttp c = new RawHttp(server.port(), 10_000)) {
            for (String path : new String[]{"/boom", "/error"}) {
                RawResponse r = HttpLayerTest.get(c, path);
                assertThat(r.status()).isEqualTo(500);
                assertThat(Json.errorCode(r.body())).isEqualTo("internal_error");
                String id = r.header("X-Request-Id");
                assertThat(id).isNotBlank();
                assertThat(Json.parse(r.body()).at("/error/message").asText()).contains(id).doesNotContain("bug");
            }
            // Same connection still serves.
            assertThat(HttpLayerTest.get(c, "/items/7").status()).isEqualTo(200);
        }
        // The route returns just after its response is sent.
        Await.until(Duration.ofSeconds(10), "no request inside a route", () -> router.inFlight() == 0);
    }

    @Test
    void apiExceptionKeepsStatusDetailsAndRetryAfter() throws Exception {
        try (RawHttp c = new RawHttp(server.port(), 10_000)) {
            RawResponse r = HttpLayerTest.get(c, "/busy");
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.header("Retry-After")).isEqualTo("7");
            assertThat(Json.parse(r.body()).at("/error/queue").asInt()).isEqualTo(3);
            assertThat(Json.parse(r.body()).at("/error/requestId").asText()).isEqualTo(r.header("X-Request-Id"));
        }
    }

    @Test
    void failureAfterTheResponseStartedAbortsTheConnectionInsteadOfHanging() throws Exception {
        try (RawHttp c = new RawHttp(server.port(), 10_000)) {
            c.send("GET /half HTTP/1.1\r\nHost: x\r\n\r\n");
            String got = c.readAll();
            assertThat(got).startsWith("HTTP/1.1 200").contains("partial").doesNotContain("internal_error");
            assertThat(c.closedByServer()).isTrue();
        }
        // The route returns just after its response is sent.
        Await.until(Duration.ofSeconds(10), "no request inside a route", () -> router.inFlight() == 0);
    }

    @Test
    void matchingParamsTrailingSlashesAndMethods() throws Exception {
        try (RawHttp c = new RawHttp(server.port(), 10_000)) {
            assertThat(Json.parse(HttpLayerTest.get(c, "/items/abc").body()).path("id").asText()).isEqualTo("abc");
            assertThat(HttpLayerTest.get(c, "/items/abc/").status()).isEqualTo(200);
            assertThat(HttpLayerTest.get(c, "/items/").status()).isEqualTo(404);
            assertThat(HttpLayerTest.get(c, "/items/a/b").status()).isEqualTo(404);
            RawResponse r = c.send("DELETE /items/1 HTTP/1.1\r\nHost: x\r\n\r\n").readResponse();
            assertThat(r.status()).isEqualTo(405);
            assertThat(r.header("Allow")).isEqualTo("GET, PUT");
            assertThat(Json.errorCode(r.body())).isEqualTo("method_not_allowed");
        }
    }
}
