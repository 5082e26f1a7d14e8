package io.sluice.examples;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.NodeScript;
import io.sluice.testing.SluiceServerExtension;
import org.dhatim.fastexcel.Workbook;
import org.dhatim.fastexcel.Worksheet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Example 1 of issue 7, {@code examples/inventory-dashboard}: a stock dashboard fed weekly Excel reports. The
 * server runs the example's own {@code sluice.yaml} (only the data directory and port are overridden), serves the
 * dashboard page from its static site, and:
 * <ul>
 *   <li>a generated 4,200-row report is answered with 201 and a <em>queued</em> job (only the header row was read
 *       in the request); the job's {@code job.succeeded} event arrives on the SSE stream; the low-stock list the
 *       page computes from {@code GET /api/v1/jobs/{id}/output} equals the one computed here from the generated
 *       data — once with the page's own module under Node (skipped loudly without node), once in Java;</li>
 *   <li>a report without the {@code reorder_level} column is refused with 422 {@code missing_columns} and nothing
 *       is stored: no upload record, no blob, no job.</li>
 * </ul>
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class InventoryDashboardExampleTest {

    static final Path EXAMPLE = Path.of("examples", "inventory-dashboard").toAbsolutePath();
    static final List<String> COLUMNS = List.of("sku", "name", "category", "stock", "reorder_level", "unit_cost",
            "supplier", "location");
    static final int ROWS = 4_200;
    static final Duration JOB_WAIT = Duration.ofSeconds(60);
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    static Path dir;
    // The example's file as it is; relative paths in it (server.staticDir) resolve against the working
    // directory, which is the repository root for the README's command and for Surefire alike.
    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().configFile(EXAMPLE.resolve("sluice.yaml"));

    /** One generated report row; {@code low()} is the rule the page applies: stock strictly below reorder level. */
    record Item(String sku, String name, String category, int stock, int reorderLevel, BigDecimal unitCost,
                String supplier, String location) {
        boolean low() {
            return stock < reorderLevel;
        }
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    @Test
    void theDashboardPageAndItsModuleAreServedFromTheStaticSite() throws Exception {
        HttpResponse<String> page = server.get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(page.body()).contains("<table id=\"lowstock\"").contains("src=\"dashboard.js\"");
        for (String asset : List.of("/dashboard.js", "/lowstock.js")) {
            HttpResponse<String> js = server.get(asset);
            assertThat(js.statusCode()).as(asset).isEqualTo(200);
            assertThat(js.headers().firstValue("Content-Type")).as(asset)
                    .hasValueSatisfying(t -> assertThat(t).contains("javascript"));
        }
        HttpResponse<String> pipelines = server.get("/api/v1/pipelines");
        assertThat(Json.parse(pipelines.body()).at("/pipelines/0/name").asText()).isEqualTo("inventory");
    }

    /** The page's data path with the page's own module, under Node: events, upload, output, low-stock list. */
    @Test
    void thePagesModuleListsExactlyTheItemsBelowTheirReorderLevel() throws Exception {
        NodeScript.assumeAvailable();
        List<Item> items = generate(ROWS, 7L);
        Path report = writeReport(dir.resolve("week-47.xlsx"), COLUMNS, items);

        NodeScript.Result run = NodeScript.run(JOB_WAIT, "examples/inventory-dashboard.mjs",
                "http://127.0.0.1:" + server.port(), report.toString());
        assertThat(run.exitCode()).as(run.describe()).isZero();
        List<JsonNode> events = run.events();
        JsonNode uploaded = events.stream().filter(e -> e.path("event").asText().equals("uploaded")).findFirst()
                .orElseThrow(() -> new AssertionError(run.describe()));
        assertThat(uploaded.at("/job/state").asText()).as("the rows are read after the answer, by a worker")
                .isEqualTo("queued");
        JsonNode low = events.getLast();
        assertThat(low.path("event").asText()).as(run.describe()).isEqualTo("lowstock");
        assertThat(low.path("rows").asInt()).isEqualTo(ROWS);
        assertThat(low.path("skipped").asInt()).isZero();
        List<String> skus = new ArrayList<>();
        low.path("skus").forEach(s -> skus.add(s.asText()));
        assertThat(skus).containsExactlyElementsOf(expectedLowSkus(items));
        Item worst = expectedLow(items).getFirst();
        assertThat(low.at("/first/sku").asText()).isEqualTo(worst.sku());
        assertThat(low.at("/first/shortfall").asInt()).isEqualTo(worst.reorderLevel() - worst.stock());
        String jobId = uploaded.at("/job/id").asText();
        assertThat(low.path("latestJob").asText()).as("the page's on-load job is this report's").isEqualTo(jobId);

        // The stored report is the generated file, byte for byte.
        JsonNode job = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
        JsonNode upload = Json.parse(server.get("/api/v1/uploads/" + job.path("uploadId").asText()).body());
        assertThat(upload.path("sha256").asText()).isEqualTo(sha256(report));
        System.out.printf("inventory-dashboard (node): %d rows, %d low-stock items, worst %s short by %d%n",
                ROWS, skus.size(), worst.sku(), worst.reorderLevel() - worst.stock());
    }

    /**
     * The page itself in Chromium (playwright-core): upload through its form, the table filled after the job's SSE
     * event, the SKUs it shows; a report without a column shows the server's refusal. Skipped loudly without node,
     * playwright-core or {@code /usr/bin/chromium} ({@code scripts/test-deps} installs them).
     */
    @Test
    void inChromiumThePageShowsTheLowStockItemsOfTheReportJustUploaded() throws Exception {
        NodeScript.assumeAvailable("playwright-core");
        if (!Files.isExecutable(CHROMIUM)) {
            String message = "SKIPPED: " + CHROMIUM + " is missing. Run scripts/test-deps as root (it installs "
                    + "Debian's chromium package), or apt-get install chromium.";
            System.err.println("=".repeat(80));
            System.err.println("WARNING: the inventory dashboard's browser test is " + message);
            System.err.println("=".repeat(80));
            Assumptions.abort(message);
        }
        List<Item> items = generate(ROWS, 13L);
        Path report = writeReport(dir.resolve("week-49.xlsx"), COLUMNS, items);
        Path broken = writeReport(dir.resolve("no-location.xlsx"),
                COLUMNS.stream().filter(c -> !c.equals("location")).toList(), generate(20, 1L));

        NodeScript.Result run = NodeScript.run(Duration.ofSeconds(80), "examples/inventory-dashboard-browser.mjs",
                "http://127.0.0.1:" + server.port(), report.toString(), broken.toString());
        assertThat(run.exitCode()).as(run.describe()).isZero();
        List<JsonNode> events = run.events();
        JsonNode table = events.stream().filter(e -> e.path("event").asText().equals("table")).findFirst()
                .orElseThrow(() -> new AssertionError(run.describe()));
        List<String> skus = new ArrayList<>();
        table.path("skus").forEach(s -> skus.add(s.asText()));
        assertThat(skus).containsExactlyElementsOf(expectedLowSkus(items));
        assertThat(table.path("count").asText()).isEqualTo(Integer.toString(skus.size()));
        assertThat(table.path("rows").asText()).isEqualTo(Integer.toString(ROWS));
        JsonNode refused = events.stream().filter(e -> e.path("event").asText().equals("refused")).findFirst()
                .orElseThrow(() -> new AssertionError(run.describe()));
        assertThat(refused.path("status").asText()).contains("422").contains("missing_columns").contains("location");
        assertThat(events.getLast().path("problems")).as("console errors, page errors").isEmpty();
        System.out.printf("inventory-dashboard (chromium): the page listed %d low-stock items of %d rows%n",
                skus.size(), ROWS);
    }

    /** The same path in Java: 201 with a queued job, the job's SSE event, its output, the low-stock rule. */
    @Test
    void aReportOf4200RowsIsAnsweredAtOnceAndItsLowStockListComesFromTheJobOutput() throws Exception {
        List<Item> items = generate(ROWS, 11L);
        Path report = writeReport(dir.resolve("week-48.xlsx"), COLUMNS, items);

        HttpResponse<String> r = upload(report);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode job = Json.parse(r.body()).at("/uploads/0/job");
        assertThat(job.path("state").asText()).isEqualTo("queued");
        String jobId = job.path("id").asText();

        JsonNode event = awaitJobEvent(jobId);
        assertThat(event.path("type").asText()).as(event.toString()).isEqualTo("job.succeeded");
        assertThat(event.at("/data/job/result/rows").asInt()).isEqualTo(ROWS);
        assertThat(event.at("/data/job/pipeline").asText()).isEqualTo("inventory");

        HttpResponse<String> output = server.get("/api/v1/jobs/" + jobId + "/output");
        assertThat(output.statusCode()).isEqualTo(200);
        List<JsonNode> rows = output.body().lines().map(Json::parse).toList();
        assertThat(rows).hasSize(ROWS);
        assertThat(rows.getFirst().path("sku").asText()).isEqualTo(items.getFirst().sku());
        assertThat(rows.getFirst().path("stock").isNumber()).as("stock keeps its number type").isTrue();
        List<String> low = rows.stream()
                .filter(row -> row.path("stock").asInt() < row.path("reorder_level").asInt())
                .sorted(Comparator.<JsonNode>comparingInt(row -> row.path("stock").asInt()
                                - row.path("reorder_level").asInt())
                        .thenComparing(row -> row.path("sku").asText()))
                .map(row -> row.path("sku").asText())
                .toList();
        assertThat(low).containsExactlyElementsOf(expectedLowSkus(items));
        System.out.printf("inventory-dashboard (java): %d rows, %d low-stock items%n", rows.size(), low.size());
    }

    @Test
    void aReportWithoutTheReorderLevelColumnIs422AndNothingIsStored() throws Exception {
        List<String> columns = COLUMNS.stream().filter(c -> !c.equals("reorder_level")).toList();
        Path report = writeReport(dir.resolve("broken.xlsx"), columns, generate(50, 3L));
        long blobsBefore = server.blobFiles();
        int uploadsBefore = Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size();
        int jobsBefore = Json.parse(server.get("/api/v1/jobs?limit=500").body()).path("jobs").size();

        HttpResponse<String> r = upload(report);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        JsonNode error = Json.parse(r.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("missing_columns");
        assertThat(error.path("missing").toString()).isEqualTo("[\"reorder_level\"]");
        assertThat(error.path("requestId").asText()).isNotBlank();

        assertThat(server.blobFiles()).as("blobs").isEqualTo(blobsBefore);
        assertThat(Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size())
                .as("upload records").isEqualTo(uploadsBefore);
        assertThat(Json.parse(server.get("/api/v1/jobs?limit=500").body()).path("jobs").size())
                .as("jobs").isEqualTo(jobsBefore);
    }

    // ---------------------------------------------------------------------------------------------------------

    /** A weekly report: random stock and reorder levels, some equal (not low), some zero. */
    static List<Item> generate(int rows, long seed) {
        Random rnd = new Random(seed);
        String[] categories = {"tools", "garden", "kitchen", "toys", "paint", "lighting"};
        List<Item> items = new ArrayList<>(rows);
        for (int r = 1; r <= rows; r++) {
            int reorder = 10 + rnd.nextInt(50);
            int stock = switch (rnd.nextInt(10)) {
                case 0 -> 0;                            // out of stock
                case 1 -> reorder;                      // exactly at the level: not low
                case 2, 3 -> rnd.nextInt(reorder);      // below
                default -> reorder + rnd.nextInt(400);  // fine
            };
            items.add(new Item("SKU-%06d".formatted(r * 7 + 100_000), "Item " + r, categories[rnd.nextInt(6)],
                    stock, reorder, BigDecimal.valueOf(100 + rnd.nextInt(9_900), 2), "Supplier " + rnd.nextInt(40),
                    "A-" + rnd.nextInt(60)));
        }
        return items;
    }

    /** Low items as the page orders them: largest shortfall first, then by sku. */
    static List<Item> expectedLow(List<Item> items) {
        return items.stream().filter(Item::low)
                .sorted(Comparator.comparingInt((Item i) -> i.stock() - i.reorderLevel()).thenComparing(Item::sku))
                .toList();
    }

    static List<String> expectedLowSkus(List<Item> items) {
        List<String> skus = expectedLow(items).stream().map(Item::sku).toList();
        assertThat(skus).as("the generated data has low items").hasSizeGreaterThan(100);
        return skus;
    }

    /** Writes the report with fastexcel: the given columns in order (numbers as numeric cells). */
    static Path writeReport(Path file, List<String> columns, List<Item> items) throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
             Workbook wb = new Workbook(os, "sluice-example", "1.0")) {
            Worksheet ws = wb.newWorksheet("Stock");
            for (int c = 0; c < columns.size(); c++) {
                ws.value(0, c, columns.get(c));
            }
            for (int r = 0; r < items.size(); r++) {
                Item it = items.get(r);
                for (int c = 0; c < columns.size(); c++) {
                    switch (columns.get(c)) {
                        case "sku" -> ws.value(r + 1, c, it.sku());
                        case "name" -> ws.value(r + 1, c, it.name());
                        case "category" -> ws.value(r + 1, c, it.category());
                        case "stock" -> ws.value(r + 1, c, it.stock());
                        case "reorder_level" -> ws.value(r + 1, c, it.reorderLevel());
                        case "unit_cost" -> ws.value(r + 1, c, it.unitCost());
                        case "supplier" -> ws.value(r + 1, c, it.supplier());
                        case "location" -> ws.value(r + 1, c, it.location());
                        default -> throw new IllegalArgumentException(columns.get(c));
                    }
                }
            }
            ws.finish();
        }
        return file;
    }

    /** Uploads as the page does: multipart with the field {@code pipeline=inventory} and the file. */
    static HttpResponse<String> upload(Path report) throws Exception {
        Multipart body = new Multipart().field("pipeline", "inventory")
                .file("file", report.getFileName().toString(), Files.readAllBytes(report));
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads"))
                .header("Content-Type", body.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }

    /**
     * The job's first terminal event ({@code job.succeeded}, {@code job.failed} or {@code job.cancelled}) from
     * {@code GET /api/v1/jobs/{id}/events}, replayed from the start ({@code lastEventId=0}) so that an event sent
     * before the stream opened is not missed. The class timeout bounds the wait.
     */
    static JsonNode awaitJobEvent(String jobId) throws Exception {
        HttpResponse<Stream<String>> stream = server.client().send(
                HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + jobId + "/events?lastEventId=0"))
                        .header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(stream.statusCode()).isEqualTo(200);
        try (Stream<String> lines = stream.body()) {
            Iterator<String> it = lines.iterator();
            while (it.hasNext()) {
                String line = it.next();
                if (line.startsWith("data:")) {
                    JsonNode event = Json.parse(line.substring(5).strip());
                    String type = event.path("type").asText();
                    if (type.equals("job.succeeded") || type.equals("job.failed") || type.equals("job.cancelled")) {
                        return event;
                    }
                }
            }
        }
        throw new AssertionError("the event stream of job " + jobId + " ended without its outcome");
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
