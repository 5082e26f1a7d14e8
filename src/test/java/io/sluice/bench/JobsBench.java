package io.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;
import io.sluice.db.Database;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobsConfig;
import io.sluice.jobs.NewJob;
import io.sluice.jobs.SqlJobQueue;
import io.sluice.upload.IdGenerator;
import org.dhatim.fastexcel.Workbook;
import org.dhatim.fastexcel.Worksheet;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;

/**
 * Background processing end to end through a server that {@code bench/run jobs} started from the jar, one phase per
 * invocation ({@code --phase}):
 *
 * <ul>
 *   <li>{@code xlsx-small}: a {@code --rows} (4,000) row inventory workbook PUT {@code --rounds} (10) times with
 *       {@code ?pipeline=inventory}, after one unreported warm-up; per round the client's time to the 201, the
 *       client's time until a GET of the job (every 10 ms) shows {@code succeeded}, and the server's
 *       {@code finishedAt - createdAt}; medians and p90.</li>
 *   <li>{@code xlsx-big}: {@link XlsxRowsBench}, a {@code --rows} (1,000,000) row workbook beside a bare read.</li>
 *   <li>{@code pdf}: one large file ({@code --pages} 1,000 pages) through {@code pdf}; pages per second of the job
 *       ({@code finishedAt - startedAt}) and the server's peak heap from its GC log ({@code --gc-log}).</li>
 *   <li>{@code noop-upload}, {@code noop-seed}, {@code noop-wait}: no-op job throughput on the worker side. One
 *       small upload is made through the server; with the server stopped, {@code noop-seed} inserts {@code --count}
 *       queued {@code noop} jobs for that upload with {@link SqlJobQueue#enqueue} in one transaction (so the
 *       upload path is not what is measured); the server is started again and {@code noop-wait} watches the jobs
 *       table (read-only) until all of them ended, then reports jobs/s from the first {@code started_at} to the last
 *       {@code finished_at}.</li>
 * </ul>
 *
 * <p>Not a test (its name ends in Bench). The xlsx files are written with fastexcel's writer, which
 * {@code bench/run} adds to the class path from ~/.m2; the PDF with PDFBox from the jar.
 */
public final class JobsBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private JobsBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        Report report = new Report(args.get("summary", null));
        String phase = args.require("phase");
        switch (phase) {
            case "xlsx-small" -> xlsxSmall(args, report);
            case "xlsx-big" -> XlsxRowsBench.run(args, report);
            case "pdf" -> bigFile(args, report, false);
            case "noop-upload" -> noopUpload(args);
            case "noop-seed" -> noopSeed(args);
            case "noop-wait" -> noopWait(args, report);
            default -> throw new IllegalArgumentException("unknown --phase " + phase);
        }
    }

    // --- xlsx-small -------------------------------------------------------------------------------------------

    private static void xlsxSmall(Args args, Report report) throws Exception {
        String url = args.require("url");
        int rows = args.integer("rows", 4_000);
        int rounds = args.integer("rounds", 10);
        Path file = inventory(Path.of(args.require("dir")).resolve("inventory-small.xlsx"), rows, false);
        log("generated " + rows + " rows, " + formatBytes(Files.size(file)));
        long[] to201 = new long[rounds];
        long[] toSucceeded = new long[rounds];
        long[] serverTotal = new long[rounds];
        long[] serverRun = new long[rounds];
        String warmUp = "";
        for (int r = -1; r < rounds; r++) {
            long t0 = System.nanoTime();
            String jobId = upload(url, file, "inventory-" + (r + 1) + ".xlsx", "inventory");
            long created = System.nanoTime() - t0;
            JsonNode job;
            while (true) {
                job = getJob(url, jobId);
                String state = job.path("state").asText();
                if (state.equals("succeeded")) {
                    break;
                }
                if (state.equals("failed") || state.equals("cancelled")) {
                    throw new IllegalStateException("job ended " + state + ": " + job);
                }
                if (System.nanoTime() - t0 > Duration.ofMinutes(2).toNanos()) {
                    throw new IllegalStateException("job did not finish in 2 minutes: " + job);
                }
                Thread.sleep(10);
            }
            long done = System.nanoTime() - t0;
            if (r < 0) {
                warmUp = "first upload after start (warm-up, not in the table): 201 after " + ms(created)
                        + " ms, `succeeded` seen after " + ms(done) + " ms";
                log(warmUp + "; result " + job.path("result"));
                continue;
            }
            to201[r] = created;
            toSucceeded[r] = done;
            serverTotal[r] = millisBetween(job, "createdAt", "finishedAt") * 1_000_000;
            serverRun[r] = millisBetween(job, "startedAt", "finishedAt") * 1_000_000;
            log("round " + (r + 1) + ": 201 after " + ms(created) + " ms, succeeded seen after " + ms(done)
                    + " ms (server: created->finished " + ms(serverTotal[r]) + " ms, run " + ms(serverRun[r])
                    + " ms)");
        }
        report.line("");
        report.line("### " + rows + "-row xlsx, pipeline `spreadsheet`, " + rounds + " rounds (+1 warm-up), "
                + formatBytes(Files.size(file)));
        report.line("");
        report.line("| | median | p90 | target |");
        report.line("|---|---|---|---|");
        row(report, "client: PUT to 201", to201, 300);
        row(report, "client: PUT to `succeeded` seen (GET every 10 ms)", toSucceeded, 1000);
        row(report, "server: createdAt to finishedAt", serverTotal, -1);
        row(report, "server: startedAt to finishedAt (the job's run)", serverRun, -1);
        report.line("");
        report.line(warmUp);
    }

    private static void row(Report report, String what, long[] nanos, long targetMillis) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        double median = BenchSupport.median(Arrays.stream(s).asDoubleStream().toArray());
        long p90 = BenchSupport.percentile(s, 90);
        String target = targetMillis < 0 ? "" : "< " + targetMillis + " ms: "
                + (median < targetMillis * 1e6 ? "MET" : "MISSED") + " (median)";
        report.line("| " + what + " | " + fmt(median / 1e6) + " ms | " + fmt(p90 / 1e6) + " ms | " + target + " |");
    }

    // --- xlsx-big / pdf ---------------------------------------------------------------------------------------

    private static void bigFile(Args args, Report report, boolean xlsx) throws Exception {
        String url = args.require("url");
        Path dir = Path.of(args.require("dir"));
        long t0 = System.nanoTime();
        Path file;
        String pipeline;
        String strings = "";
        int units;
        if (xlsx) {
            units = args.integer("rows", 1_000_000);
            file = inventory(dir.resolve("inventory-big.xlsx"), units,
                    Boolean.parseBoolean(args.get("inline-unique", "true")));
            pipeline = "inventory";
            strings = Boolean.parseBoolean(args.get("inline-unique", "true"))
                    ? ", sku and name as inline strings" : ", every string in the shared-strings table";
        } else {
            units = args.integer("pages", 1_000);
            file = PdfBench.generate(dir.resolve("big.pdf"), units, args.integer("lines", 45));
            pipeline = "pdf";
        }
        String unit = xlsx ? "rows" : "pages";
        log("generated " + units + " " + unit + ", " + formatBytes(Files.size(file)) + " in "
                + fmt((System.nanoTime() - t0) / 1e9) + " s");
        t0 = System.nanoTime();
        String jobId = upload(url, file, file.getFileName().toString(), pipeline);
        long created = System.nanoTime() - t0;
        log("201 after " + ms(created) + " ms; job " + jobId);
        JsonNode job;
        int lastProgress = -1;
        long cap = Duration.ofMinutes(args.integer("max-minutes", 20)).toNanos();
        while (true) {
            job = getJob(url, jobId);
            String state = job.path("state").asText();
            if (state.equals("succeeded") || state.equals("failed") || state.equals("cancelled")) {
                break;
            }
            int progress = job.path("progress").asInt();
            if (progress / 10 != lastProgress / 10) {
                lastProgress = progress;
                log(state + " " + progress + "% " + job.path("stage").asText(""));
            }
            if (System.nanoTime() - t0 > cap) {
                throw new IllegalStateException("job did not finish within the cap: " + job);
            }
            Thread.sleep(250);
        }
        long runMs = millisBetween(job, "startedAt", "finishedAt");
        ConcurrencyBench.GcPeaks gc = ConcurrencyBench.GcPeaks.parse(Path.of(args.require("gc-log")));
        boolean succeeded = job.path("state").asText().equals("succeeded");
        double perSecond = units / (runMs / 1000.0);
        long target = args.integer("target", -1);
        report.line("");
        report.line("### " + units + "-" + (xlsx ? "row xlsx" : "page PDF") + ", pipeline `" + pipeline + "`, "
                + formatBytes(Files.size(file)) + strings + ", server " + args.get("heap", "-Xmx128m"));
        report.line("");
        report.line("| | value |");
        report.line("|---|---|");
        report.line("| job state | " + job.path("state").asText() + (job.has("error") ? " " + job.path("error") : "")
                + " |");
        report.line("| result | `" + job.path("result") + "` |");
        report.line("| PUT to 201 | " + fmt(created / 1e9) + " s |");
        report.line("| job run (startedAt to finishedAt) | " + fmt(runMs / 1000.0) + " s |");
        report.line("| " + unit + "/s | " + (succeeded ? fmt(perSecond) : "- (the job did not succeed)")
                + (target < 0 ? "" : " (target >= " + target + ": "
                + (perSecond >= target && succeeded ? "MET" : "MISSED") + ")") + " |");
        report.line("| server heap, peak used before a GC (gc.log) | " + formatBytes(gc.peakBefore()) + " |");
        report.line("| server heap, peak after a GC (gc.log) | " + formatBytes(gc.peakAfter()) + " of "
                + formatBytes(gc.committedAtPeak()) + " committed (" + gc.collections() + " GC log lines) |");
        Files.deleteIfExists(file);
    }

    // --- noop -------------------------------------------------------------------------------------------------

    private static void noopUpload(Args args) throws Exception {
        String url = args.require("url");
        Path file = Files.writeString(Path.of(args.require("dir")).resolve("tiny.txt"), "hello\n");
        String jobId = upload(url, file, "tiny.txt", "noop");
        JsonNode job = getJob(url, jobId);
        Files.writeString(Path.of(args.require("out")), job.path("uploadId").asText());
        log("upload " + job.path("uploadId").asText() + " (job " + jobId + ")");
    }

    private static void noopSeed(Args args) throws Exception {
        Path data = Path.of(args.require("data"));
        String uploadId = Files.readString(Path.of(args.require("upload-id-file"))).strip();
        int count = args.integer("count", 10_000);
        String prefix = args.require("key-prefix");
        JobsConfig config = JobsConfig.defaults();
        IdGenerator ids = new IdGenerator(Clock.systemUTC());
        long t0 = System.nanoTime();
        try (Database db = Database.openSqlite(data)) {
            SqlJobQueue queue = new SqlJobQueue(db, ids::next, config, new JobSignal());
            db.write(c -> {
                for (int i = 0; i < count; i++) {
                    queue.enqueue(c, new NewJob(uploadId, "noop", prefix + i, config.defaultMaxAttempts(),
                            config.defaultTimeout(), Duration.ZERO));
                }
                return null;
            });
        }
        log("seeded " + count + " queued noop jobs (keys " + prefix + "*) in " + fmt((System.nanoTime() - t0) / 1e9)
                + " s");
    }

    private static void noopWait(Args args, Report report) throws Exception {
        Path db = Path.of(args.require("data")).resolve("sluice.db");
        String prefix = args.require("key-prefix");
        int count = args.integer("count", 10_000);
        long cap = System.nanoTime() + Duration.ofMinutes(args.integer("max-minutes", 10)).toNanos();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:file:" + db.toAbsolutePath() + "?mode=ro")) {
            long ended;
            while (true) {
                ended = one(c, "SELECT count(*) FROM jobs WHERE idempotency_key LIKE ? AND finished_at IS NOT NULL",
                        prefix);
                if (ended >= count || System.nanoTime() > cap) {
                    break;
                }
                Thread.sleep(200);
            }
            long succeeded = one(c, "SELECT count(*) FROM jobs WHERE idempotency_key LIKE ? "
                    + "AND state = 'succeeded'", prefix);
            long first = one(c, "SELECT min(started_at) FROM jobs WHERE idempotency_key LIKE ?", prefix);
            long last = one(c, "SELECT max(finished_at) FROM jobs WHERE idempotency_key LIKE ?", prefix);
            double seconds = (last - first) / 1000.0;
            double rate = ended / seconds;
            report.line("| " + args.require("workers") + " | " + count + " | " + succeeded + " | " + fmt(seconds)
                    + " s | " + fmt(rate) + " | " + (ended == count && succeeded == count && rate >= 2000
                    ? "MET" : "MISSED") + " |");
        }
    }

    private static long one(Connection c, String sql, String prefix) throws Exception {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, prefix + "%");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    // --- helpers ----------------------------------------------------------------------------------------------

    /**
     * An inventory workbook (as the spreadsheet tests write it): a header and {@code rows} rows. With
     * {@code inlineUnique}, the two columns whose every value is different (sku, name) are inline strings and only
     * the repeating ones go to the shared-strings table; without it every string is shared, as Excel writes them,
     * which for a million rows makes a table of two million strings (refused by {@code maxSharedStringsSize}).
     */
    static Path inventory(Path file, int rows, boolean inlineUnique) throws IOException {
        String[] header = {"sku", "name", "category", "stock", "reorder_level", "unit_cost", "supplier", "location"};
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
             Workbook wb = new Workbook(os, "sluice-bench", "1.0")) {
            Worksheet ws = wb.newWorksheet("Inventory");
            for (int c = 0; c < header.length; c++) {
                ws.value(0, c, header[c]);
            }
            String[] categories = {"tools", "garden", "kitchen", "toys"};
            for (int r = 1; r <= rows; r++) {
                if (inlineUnique) {
                    ws.inlineString(r, 0, "SKU-%07d".formatted(r));
                    ws.inlineString(r, 1, "Item number " + r);
                } else {
                    ws.value(r, 0, "SKU-%07d".formatted(r));
                    ws.value(r, 1, "Item number " + r);
                }
                ws.value(r, 2, categories[r % categories.length]);
                ws.value(r, 3, r % 500);
                ws.value(r, 4, 20 + r % 7);
                ws.value(r, 5, new BigDecimal("1.25").add(BigDecimal.valueOf(r % 100, 2)));
                ws.value(r, 6, "Supplier " + (r % 13));
                ws.value(r, 7, "A-" + (r % 40));
                if (r % 10_000 == 0) {
                    ws.flush();
                }
            }
            ws.finish();
        }
        return file;
    }

    /** PUTs {@code file} with {@code ?pipeline=}; returns the job id from the 201. */
    static String upload(String url, Path file, String name, String pipeline) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/api/v1/uploads/" + name + "?pipeline=" + pipeline))
                .timeout(Duration.ofMinutes(10))
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build();
        HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 201) {
            throw new IllegalStateException("PUT " + name + ": " + res.statusCode() + " " + res.body());
        }
        JsonNode job = JSON.readTree(res.body()).path("uploads").path(0).path("job");
        if (!job.hasNonNull("id")) {
            throw new IllegalStateException("PUT " + name + " made no job: " + res.body());
        }
        return job.path("id").asText();
    }

    static JsonNode getJob(String url, String id) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/api/v1/jobs/" + id))
                .timeout(Duration.ofSeconds(30)).GET().build();
        HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException("GET job " + id + ": " + res.statusCode() + " " + res.body());
        }
        return JSON.readTree(res.body());
    }

    static long millisBetween(JsonNode job, String from, String to) {
        return Duration.between(Instant.parse(job.path(from).asText()), Instant.parse(job.path(to).asText()))
                .toMillis();
    }

    private static String ms(long nanos) {
        return fmt(nanos / 1e6);
    }
}
