package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.dhatim.fastexcel.Workbook;
import org.dhatim.fastexcel.Worksheet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static io.sluice.processors.spreadsheet.Sheets.XLSX;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A workbook as Excel writes it, every string shared, whose shared-strings table (200,000 distinct strings, about
 * 6 MiB of XML) is far larger than the pipeline's on-heap cache (256 KiB): the table goes to a memory-mapped file in
 * the attempt's work directory and the job reads it back right; the file is gone after a success, a failure and a
 * cancellation, and its disk reservation is returned. Runs in the test JVM's heap on a real server.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpreadsheetSharedStringsTest {

    static final int ROWS = 100_000;

    @TempDir
    static Path dir;
    static Path workbook;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        workbook = allShared(dir.resolve("all-shared.xlsx"), ROWS);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  shared:
                    processor: spreadsheet
                    options:
                      requiredColumns: [sku, name]
                      sharedStringsCacheSize: 256KiB
                  shared-few-rows:
                    processor: spreadsheet
                    options:
                      sharedStringsCacheSize: 256KiB
                      maxRows: 50000
                  shared-small-disk:
                    processor: spreadsheet
                    options:
                      sharedStringsCacheSize: 256KiB
                      maxSharedStringsSize: 2MiB
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
    void aTableLargerThanTheCacheIsReadFromDiskAndItsFileRemoved() throws Exception {
        JsonNode job = runJob("shared");
        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("succeeded");
        assertThat(job.at("/result/rows").asInt()).isEqualTo(ROWS);
        assertThat(job.at("/result/sharedStrings/onDisk").asBoolean()).as(job.toString()).isTrue();
        assertThat(job.at("/result/sharedStrings/strings").asLong()).isGreaterThanOrEqualTo(2L * ROWS);
        assertThat(job.at("/result/errorCount").asInt()).isZero();

        String id = job.path("id").asText();
        for (int row : List.of(1, 2, 4_321, ROWS / 2, ROWS)) {
            HttpResponse<String> out = server.get("/api/v1/jobs/" + id + "/output?offset=" + (row - 1) + "&limit=1");
            assertThat(out.statusCode()).isEqualTo(200);
            JsonNode line = Json.parse(out.body().lines().findFirst().orElseThrow());
            assertThat(line.path("sku").asText()).isEqualTo("SKU-%07d".formatted(row));
            assertThat(line.path("name").asText()).isEqualTo("Item number " + row);
            assertThat(line.path("category").asText()).isEqualTo(CATEGORIES[row % CATEGORIES.length]);
            assertThat(line.path("stock").asInt()).isEqualTo(row % 500);
        }
        assertThat(sharedStringFiles(server.dataDir())).isEmpty();
        server.assertNothingLeftBehind(); // includes the disk ledger: nothing still reserved
    }

    @Test
    void aFailureAfterTheTableWentToDiskRemovesItsFile() throws Exception {
        JsonNode job = runJob("shared-few-rows");
        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("failed");
        assertThat(job.at("/error/code").asText()).isEqualTo("too_many_rows");
        assertThat(sharedStringFiles(server.dataDir())).isEmpty();
        server.assertNothingLeftBehind();
    }

    @Test
    void aTablePastMaxSharedStringsSizeIsStillRefused() throws Exception {
        // The on-disk limit: the central directory already declares more, so the upload itself is refused.
        HttpResponse<String> r = put("shared-small-disk");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(Json.errorCode(r.body())).isEqualTo("shared_strings_too_large");
        assertThat(Json.parse(r.body()).at("/error/message").asText()).contains("2MiB", "maxSharedStringsSize");
        assertThat(sharedStringFiles(server.dataDir())).isEmpty();
        server.assertNothingLeftBehind();
    }

    @Test
    void aCancellationWhileTheFileExistsRemovesIt() throws Exception {
        // A cancellation reaches a processor as a checkpoint that throws; throw it the first time the file is there.
        Path work = dir.resolve("work");
        AtomicBoolean sawFile = new AtomicBoolean();
        RuntimeException cancelled = new RuntimeException("cancelled");
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of("sharedStringsCacheSize", "256KiB")), dir, workbook,
                "all-shared.xlsx", XLSX, () -> {
                    if (!sharedStringFiles(work).isEmpty()) {
                        sawFile.set(true);
                        throw cancelled;
                    }
                });
        assertThat(sawFile).as("the table was on disk when the run was stopped").isTrue();
        assertThat(run.failure()).isSameAs(cancelled);
        assertThat(sharedStringFiles(work)).isEmpty();
    }

    private static HttpResponse<String> put(String pipeline) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/" + pipeline + ".xlsx?pipeline="
                + pipeline)).PUT(HttpRequest.BodyPublishers.ofFile(workbook)).build());
    }

    private static JsonNode runJob(String pipeline) throws Exception {
        HttpResponse<String> created = put(pipeline);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String jobId = Json.parse(created.body()).path("uploads").get(0).at("/job/id").asText();
        JsonNode[] last = new JsonNode[1];
        Await.until(Duration.ofSeconds(90), "job " + jobId + " to end", () -> {
            last[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            String state = last[0].path("state").asText();
            return state.equals("succeeded") || state.equals("failed");
        });
        return last[0];
    }

    static List<Path> sharedStringFiles(Path root) {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> all = Files.walk(root)) {
            return all.filter(p -> p.getFileName().toString().startsWith("shared-strings-")).toList();
        } catch (IOException e) {
            return List.of(); // a directory removed while walking: nothing of ours is in it
        }
    }

    static final String[] CATEGORIES = {"tools", "garden", "kitchen", "toys"};

    /** sku and name unique per row and, as Excel writes them, in the shared-strings table; category repeats. */
    static Path allShared(Path file, int rows) throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
             Workbook wb = new Workbook(os, "sluice-test", "1.0")) {
            Worksheet ws = wb.newWorksheet("Inventory");
            ws.value(0, 0, "sku");
            ws.value(0, 1, "name");
            ws.value(0, 2, "category");
            ws.value(0, 3, "stock");
            for (int r = 1; r <= rows; r++) {
                ws.value(r, 0, "SKU-%07d".formatted(r));
                ws.value(r, 1, "Item number " + r);
                ws.value(r, 2, CATEGORIES[r % CATEGORIES.length]);
                ws.value(r, 3, r % 500);
                if (r % 10_000 == 0) {
                    ws.flush();
                }
            }
            ws.finish();
        }
        return file;
    }
}
