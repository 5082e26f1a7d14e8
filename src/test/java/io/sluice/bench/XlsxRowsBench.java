package io.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;
import org.dhatim.fastexcel.reader.Cell;
import org.dhatim.fastexcel.reader.ReadableWorkbook;
import org.dhatim.fastexcel.reader.ReadingOptions;
import org.dhatim.fastexcel.reader.Row;
import org.dhatim.fastexcel.reader.Sheet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import java.util.stream.Stream;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;

/**
 * The {@code xlsx-big} phase of {@link JobsBench}: a {@code --rows} inventory workbook (inline or every string
 * shared, {@code --inline-unique}) through the server's {@code inventory} pipeline, {@code --big-rounds} times, each
 * beside its anchor: a bare streaming read of the same file with fastexcel-reader in this JVM (every cell's value
 * touched, nothing written). Rows/s is measured from the upload's 201 to the moment a GET of the job (every 20 ms)
 * shows it ended, as a user sees it; the server's own {@code startedAt -> finishedAt} is printed beside it.
 */
final class XlsxRowsBench {

    private XlsxRowsBench() {
    }

    /** One round's figures, in nanoseconds. */
    private record Round(long bare, long to201, long toEnd, long serverRun, String load) {
    }

    static void run(Args args, Report report) throws Exception {
        String url = args.require("url");
        Path dir = Path.of(args.require("dir"));
        int rows = args.integer("rows", 1_000_000);
        int rounds = args.integer("big-rounds", 3);
        boolean inline = Boolean.parseBoolean(args.get("inline-unique", "true"));
        long t0 = System.nanoTime();
        Path file = JobsBench.inventory(dir.resolve("inventory-big.xlsx"), rows, inline);
        log("generated " + rows + " rows, " + formatBytes(Files.size(file)) + " in "
                + fmt((System.nanoTime() - t0) / 1e9) + " s");
        Round[] done = new Round[rounds];
        JsonNode last = null;
        for (int r = 0; r < rounds; r++) {
            String load = BenchSupport.loadAverage();
            long bare = bareRead(file, rows);
            long s = System.nanoTime();
            String jobId = JobsBench.upload(url, file, "inventory-big-" + r + ".xlsx", "inventory");
            long created = System.nanoTime() - s;
            JsonNode job = waitForEnd(url, jobId, args.integer("max-minutes", 20));
            long ended = System.nanoTime() - s - created;
            last = job;
            long serverRun = JobsBench.millisBetween(job, "startedAt", "finishedAt") * 1_000_000;
            done[r] = new Round(bare, created, ended, serverRun, load);
            log("round " + (r + 1) + ": bare read " + rate(rows, bare) + " rows/s; 201 after " + ms(created)
                    + " ms; " + job.path("state").asText() + " " + ms(ended) + " ms after the 201 ("
                    + rate(rows, ended) + " rows/s; server run " + ms(serverRun) + " ms); load " + load);
            if (!job.path("state").asText().equals("succeeded")) {
                break;
            }
        }
        boolean succeeded = last != null && last.path("state").asText().equals("succeeded");
        ConcurrencyBench.GcPeaks gc = ConcurrencyBench.GcPeaks.parse(Path.of(args.require("gc-log")));
        report.line("");
        report.line("### " + rows + "-row xlsx, pipeline `inventory`, " + formatBytes(Files.size(file))
                + (inline ? ", sku and name as inline strings" : ", every string in the shared-strings table")
                + ", server " + args.get("heap", "-Xmx128m"));
        report.line("");
        report.line("| round | load (1/5/15 min) | bare fastexcel read | PUT to 201 | 201 to job ended | rows/s (201 to"
                + " ended) | ratio to bare | server run (startedAt to finishedAt) |");
        report.line("|---|---|---|---|---|---|---|---|");
        int n = 0;
        double[] bare = new double[rounds];
        double[] e2e = new double[rounds];
        double[] ratio = new double[rounds];
        for (Round d : done) {
            if (d == null) {
                break;
            }
            bare[n] = rows / (d.bare / 1e9);
            e2e[n] = rows / (d.toEnd / 1e9);
            ratio[n] = e2e[n] / bare[n];
            n++;
            report.line("| " + n + " | " + d.load + " | " + fmt(d.bare / 1e9) + " s (" + fmt(bare[n - 1])
                    + " rows/s) | " + fmt(d.to201 / 1e9) + " s | " + fmt(d.toEnd / 1e9) + " s | " + fmt(e2e[n - 1])
                    + " | " + String.format("%.2f", ratio[n - 1]) + "x | " + fmt(d.serverRun / 1e9) + " s |");
        }
        double medianRate = BenchSupport.median(Arrays.copyOf(e2e, n));
        double medianRatio = BenchSupport.median(Arrays.copyOf(ratio, n));
        report.line("");
        report.line("Job: " + (last == null ? "-" : last.path("state").asText()
                + (last.has("error") ? " " + last.path("error") : "") + ", result `" + last.path("result") + "`"));
        report.line("");
        report.line("Median " + (succeeded ? fmt(medianRate) : "-") + " rows/s from the 201 to succeeded (target >="
                + " 200,000: " + (succeeded && medianRate >= 200_000 ? "MET" : "MISSED") + "), median "
                + String.format("%.2f", medianRatio) + "x the bare read (target >= 0.8x: "
                + (succeeded && medianRatio >= 0.8 ? "MET" : "MISSED") + "); median bare read "
                + fmt(BenchSupport.median(Arrays.copyOf(bare, n))) + " rows/s. Server heap: peak used"
                + " before a GC " + formatBytes(gc.peakBefore()) + ", peak after a GC " + formatBytes(gc.peakAfter())
                + " of " + formatBytes(gc.committedAtPeak()) + " committed.");
        Files.deleteIfExists(file);
    }

    /**
     * Reads every row of the first sheet with fastexcel-reader (the library the processor used before it read
     * sheets itself, and the anchor), touching every cell's value; returns the nanoseconds it took.
     */
    static long bareRead(Path file, int expectedRows) throws Exception {
        long t0 = System.nanoTime();
        long count = 0;
        long chars = 0;
        try (ReadableWorkbook wb = new ReadableWorkbook(file.toFile(), new ReadingOptions(true, true))) {
            Sheet sheet = wb.getFirstSheet();
            try (Stream<Row> stream = sheet.openStream()) {
                Iterator<Row> it = stream.iterator();
                while (it.hasNext()) {
                    Row row = it.next();
                    count++;
                    for (int i = 0; i < row.getCellCount(); i++) {
                        Cell c = row.getCell(i);
                        Object v = c == null ? null : c.getValue();
                        chars += v == null ? 0 : 1;
                    }
                }
            }
        }
        long took = System.nanoTime() - t0;
        if (count != expectedRows + 1L || chars == 0) {
            throw new IllegalStateException("bare read saw " + count + " rows, expected " + (expectedRows + 1));
        }
        return took;
    }

    private static JsonNode waitForEnd(String url, String jobId, int maxMinutes) throws Exception {
        long cap = System.nanoTime() + Duration.ofMinutes(maxMinutes).toNanos();
        while (true) {
            JsonNode job = JobsBench.getJob(url, jobId);
            String state = job.path("state").asText();
            if (state.equals("succeeded") || state.equals("failed") || state.equals("cancelled")) {
                return job;
            }
            if (System.nanoTime() > cap) {
                throw new IllegalStateException("job did not finish within " + maxMinutes + " minutes: " + job);
            }
            Thread.sleep(20);
        }
    }

    private static String rate(int rows, long nanos) {
        return fmt(rows / (nanos / 1e9));
    }

    private static String ms(long nanos) {
        return fmt(nanos / 1e6);
    }
}
