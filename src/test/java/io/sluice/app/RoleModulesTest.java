package io.sluice.app;

import io.sluice.Application;
import io.sluice.Role;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.testing.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The role picks the modules: a worker builds no upload, resumable or presign service and serves none of their
 * routes (health, metrics and keys only), an API node runs no workers, {@code serve} runs both; each in dependency
 * order, the HTTP server after every module that registers routes and before the workers.
 */
class RoleModulesTest {

    private static final List<String> COMMON = List.of("metrics", "database", "storage", "sweeper", "admission",
            "notify", "jobs", "auth", "hooks", "ops");
    private static final List<String> API = List.of("uploads", "presign", "resumable", "api", "site");

    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Application start(Role role) throws Exception {
        SluiceConfig config = ConfigLoader.load(null, Map.of(), Map.of("server.port", "0",
                "dataDir", dir.resolve("data").toString(), "limits.diskReserve", "0", "database.headroom", "1MiB"));
        return Application.start(config, role);
    }

    private HttpResponse<String> send(Application app, String method, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aWorkerBuildsNoUploadServicesAndServesNoUploadRoutes() throws Exception {
        try (Application app = start(Role.WORKER)) {
            assertThat(app.modules()).containsExactlyElementsOf(concat(COMMON, List.of("http", "workers")));
            assertThat(app.routes()).contains("GET /health", "GET /metrics", "GET /api/v1/keys")
                    .noneMatch(r -> r.contains("/api/v1/uploads") || r.contains("/files") || r.contains("/jobs")
                            || r.contains("/dashboard"));
            assertThatThrownBy(app::resumable).isInstanceOf(IllegalStateException.class);

            assertThat(send(app, "GET", "/health").statusCode()).isEqualTo(200);
            for (String[] request : List.of(new String[]{"POST", "/api/v1/uploads"}, new String[]{"POST", "/files/"},
                    new String[]{"POST", "/api/v1/uploads/presign"}, new String[]{"GET", "/api/v1/jobs"})) {
                HttpResponse<String> r = send(app, request[0], request[1]);
                assertThat(r.statusCode()).as("%s %s", request[0], request[1]).isEqualTo(404);
                assertThat(Json.errorCode(r.body())).isEqualTo("not_found");
            }
        }
    }

    @Test
    void anApiNodeRunsNoWorkersAndServeRunsBoth() throws Exception {
        try (Application app = start(Role.API)) {
            assertThat(app.modules()).containsExactlyElementsOf(concat(COMMON, API, List.of("http")));
            assertThat(send(app, "GET", "/api/v1/uploads").statusCode()).isEqualTo(200);
            assertThat(app.resumable().locksHeld()).isZero();
        }
        try (Application app = start(Role.ALL)) {
            assertThat(app.modules()).containsExactlyElementsOf(concat(COMMON, API, List.of("http", "workers")));
            assertThat(send(app, "GET", "/api/v1/jobs").statusCode()).isEqualTo(200);
        }
    }

    @SafeVarargs
    private static List<String> concat(List<String>... parts) {
        return Arrays.stream(parts).flatMap(List::stream).toList();
    }
}
