package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The spreadsheet pipeline end to end on a real server: the upload is answered after a header check only, the job
 * turns 4,000 rows into NDJSON with progress that rises while it runs, and a file without the required columns is
 * refused with 422 and not kept.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpreadsheetPipelineTest {

    @TempDir
    static Path dir;
    static TestServer server;
    static Path inventory;

    @BeforeAll
    static void start() throws Exception {
        inventory = Sheets.inventory(dir.resolve("inventory.xlsx"), 4_000);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  inventory:
                    processor: spreadsheet
                    options:
                      requiredColumns: [sku, name, stock, reorder_level]
                """);
        server = TestServer.start(dir.resolve("data"), config);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void fourThousandRowsBecomeNdjsonWithProgressRising() throws Exception {
        HttpResponse<String> created = put("inventory.xlsx?pipeline=inventory", Files.readAllBytes(inventory));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode upload = Json.parse(created.body()).path("uploads").get(0);
        String jobId = upload.at("/job/id").asText();
        assertThat(upload.at("/job/state").asText()).isEqualTo("queued");

        List<Integer> seen = new ArrayList<>();
        JsonNode[] last = new JsonNode[1];
        Await.until(Duration.ofSeconds(60), "job " + jobId + " to finish", () -> {
            JsonNode job = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            last[0] = job;
            seen.add(job.path("progress").asInt());
            String state = job.path("state").asText();
            return state.equals("succeeded") || state.equals("failed");
        });
        JsonNode job = last[0];
        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("succeeded");
        assertThat(seen).as("progress never goes back").isSorted();
        assertThat(seen.getLast()).isEqualTo(100);
        assertThat(job.at("/result/rows").asInt()).isEqualTo(4_000);
        assertThat(job.at("/result/outputLines").asInt()).isEqualTo(4_000);

        HttpResponse<String> output = server.get("/api/v1/jobs/" + jobId + "/output?offset=3999&limit=5");
        assertThat(output.statusCode()).isEqualTo(200);
        List<String> lines = output.body().lines().toList();
        assertThat(lines).hasSize(1);
        JsonNode row = Json.parse(lines.getFirst());
        for (String column : Sheets.INVENTORY) {
            assertThat(row.has(column)).as("column " + column + " in " + row).isTrue();
        }
        server.assertNothingLeftBehind();
    }

    @Test
    void aWorkbookWithoutTheRequiredColumnsIsRefusedAndNotKept() throws Exception {
        Path wrong = Sheets.handMade(dir.resolve("wrong.xlsx"), w -> w.write(
                "<row r=\"1\">" + Sheets.text("A1", "sku") + Sheets.text("B1", "price") + "</row>"
                        + "<row r=\"2\">" + Sheets.text("A2", "X-1") + Sheets.number("B2", 3) + "</row>"));
        long blobsBefore = server.blobFiles();
        int uploadsBefore = Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size();

        HttpResponse<String> r = put("wrong.xlsx?pipeline=inventory", Files.readAllBytes(wrong));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(Json.errorCode(r.body())).isEqualTo("missing_columns");
        assertThat(Json.parse(r.body()).at("/error/missing").toString()).contains("name", "stock", "reorder_level");
        assertThat(server.blobFiles()).isEqualTo(blobsBefore);
        assertThat(Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size())
                .isEqualTo(uploadsBefore);
        server.assertNothingLeftBehind();
    }

    private static HttpResponse<String> put(String pathAndQuery, byte[] body) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/" + pathAndQuery))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }
}
