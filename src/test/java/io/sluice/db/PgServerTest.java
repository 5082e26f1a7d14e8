package io.sluice.db;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Postgres;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The whole server on PostgreSQL ({@code database.url}): a tus upload in two PATCHes whose pipeline job runs and
 * succeeds, with the upload's record, the job and its events all in PostgreSQL; the password never shows; a URL of
 * another database is refused at configuration time. Skipped, loudly, where no embedded PostgreSQL can start.
 */
class PgServerTest {

    private static final String PASSWORD = "not-to-be-shown-anywhere";

    @TempDir
    Path dir;
    private TestServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aTusUploadWithAPipelineJobSucceedsOnPostgres() throws Exception {
        String url = Postgres.freshDatabase();
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                pipelines:
                  noop:
                    processor: noop
                """);
        // The embedded server trusts loopback connections, so any password is accepted and can be looked for.
        server = TestServer.start(dir.resolve("data"), config, "database.url", url,
                "database.user", Postgres.USER, "database.password", PASSWORD, "database.poolSize", "4");

        byte[] data = "resumable bytes on PostgreSQL\n".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> created = tus("POST", "/files/", null, "Upload-Length", String.valueOf(data.length),
                "Upload-Metadata", "filename " + b64("pg.txt") + ",pipeline " + b64("noop"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        HttpResponse<String> first = tus("PATCH", path, Arrays.copyOfRange(data, 0, 10), "Upload-Offset", "0",
                "Content-Type", "application/offset+octet-stream");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(204);
        HttpResponse<String> last = tus("PATCH", path, Arrays.copyOfRange(data, 10, data.length),
                "Upload-Offset", "10", "Content-Type", "application/offset+octet-stream");
        assertThat(last.statusCode()).as(last.body()).isEqualTo(204);
        String uploadId = last.headers().firstValue("Sluice-Upload-Id").orElseThrow();
        String jobId = last.headers().firstValue("Sluice-Job-Id").orElseThrow();

        JsonNode[] job = new JsonNode[1];
        Await.until(Duration.ofSeconds(30), "the job to succeed", () -> {
            job[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            return job[0].path("state").asText().equals("succeeded");
        });
        assertThat(job[0].path("uploadId").asText()).isEqualTo(uploadId);
        assertThat(job[0].at("/result/bytes").asInt()).isEqualTo(data.length);
        JsonNode record = Json.parse(server.get("/api/v1/uploads/" + uploadId).body());
        assertThat(record.path("size").asLong()).isEqualTo(data.length);
        assertThat(record.path("filename").asText()).isEqualTo("pg.txt");

        // The rows are in PostgreSQL, not in a SQLite file of the data directory.
        assertThat(dir.resolve("data").resolve("sluice.db")).doesNotExist();
        try (Database direct = Database.openPostgres(url, Postgres.USER, "", 1)) {
            assertThat(count(direct, "SELECT COUNT(*) FROM uploads WHERE id = '" + uploadId + "'")).isEqualTo(1);
            assertThat(count(direct, "SELECT COUNT(*) FROM events WHERE job_id = '" + jobId + "'"))
                    .as("job events recorded").isGreaterThanOrEqualTo(2);
        }

        // The list endpoints' optional filters ("? IS NULL OR ...") bind as PostgreSQL wants them.
        for (String list : new String[] {"/api/v1/uploads", "/api/v1/jobs?state=succeeded&pipeline=noop",
                "/api/v1/jobs", "/api/v1/webhooks/deliveries", "/api/v1/webhooks/deliveries?state=failed"}) {
            HttpResponse<String> r = server.get(list);
            assertThat(r.statusCode()).as("%s: %s", list, r.body()).isEqualTo(200);
        }
        assertThat(Json.parse(server.get("/api/v1/jobs?state=succeeded").body()).toString()).contains(jobId);

        HttpResponse<String> detailed = server.get("/health/detailed");
        assertThat(detailed.body()).contains("postgresql").doesNotContain(PASSWORD);
        server.assertNothingLeftBehind();
    }

    @Test
    void anotherDatabaseIsRefusedWithoutEchoingTheUrl() {
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("database.url",
                "jdbc:mysql://db.example.com/sluice?password=hunter2")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("database.url")
                .hasMessageContaining("jdbc:postgresql://")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("database.url", "postgres://x/y")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("database.url");
    }

    private HttpResponse<String> tus(String method, String path, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Tus-Resumable", "1.0.0");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return server.send(b.build());
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static long count(Database db, String sql) throws Exception {
        return db.read(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
