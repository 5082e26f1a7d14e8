package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.spreadsheet.SpreadsheetProcessor;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;

/**
 * The xlsx row's work without the server around it, in the job thread's CPU time (robust to a loaded machine, where
 * wall time is not): {@code --mode job} runs the spreadsheet processor over a {@link FileContext} in this JVM, as a
 * worker does; {@code --mode bare} reads the same file with fastexcel-reader as {@link XlsxRowsBench}'s anchor does.
 * Each mode in its own JVM (the bare read of an all-shared workbook needs more than the job's 128 MiB), for
 * {@code --rounds} rounds, the first of which warms the JIT. {@code --keep} keeps the job's NDJSON (to compare the
 * output of two builds byte for byte).
 *
 * <pre>
 * java -Xmx128m -cp target/bench-classes:target/sluice.jar:$FASTEXCEL_WRITER io.sluice.bench.XlsxCpuBench \
 *     --mode job --file /tmp/inv.xlsx --rows 200000 --inline true --rounds 5
 * </pre>
 */
final class XlsxCpuBench {

    private static final String XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    private XlsxCpuBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        String mode = args.require("mode");
        Path file = Path.of(args.require("file"));
        int rows = args.integer("rows", 200_000);
        int rounds = args.integer("rounds", 5);
        boolean inline = Boolean.parseBoolean(args.get("inline", "true"));
        if (!Files.exists(file)) {
            JobsBench.inventory(file, rows, inline);
            log("generated " + rows + " rows, " + formatBytes(Files.size(file)));
        }
        if (mode.equals("generate")) {
            return;
        }
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Path work = Files.createTempDirectory("xlsx-cpu-");
        String keep = args.get("keep", null);
        for (int r = 1; r <= rounds; r++) {
            long cpu0 = threads.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            switch (mode) {
                case "bare" -> XlsxRowsBench.bareRead(file, rows);
                case "job" -> job(file, work, keep != null && r == rounds ? Path.of(keep) : work.resolve("out.ndjson"));
                default -> throw new IllegalArgumentException("--mode job, bare or generate");
            }
            long cpu = threads.getCurrentThreadCpuTime() - cpu0;
            long wall = System.nanoTime() - t0;
            System.out.println(mode + " round " + r + ": thread CPU " + fmt(cpu / 1e6) + " ms (" + fmt(rows / (cpu / 1e9))
                    + " rows/s of one core), wall " + fmt(wall / 1e6) + " ms (" + fmt(rows / (wall / 1e9)) + " rows/s)"
                    + ", load " + BenchSupport.loadAverage());
        }
    }

    private static void job(Path file, Path work, Path out) throws Exception {
        Processor.Task task = new SpreadsheetProcessor().configure(Map.of("requiredColumns",
                List.of("sku", "name", "stock", "reorder_level")));
        ProcessorContext.UploadInfo upload = new ProcessorContext.UploadInfo("bench", "inventory.xlsx",
                Files.size(file), "-", XLSX, Map.of());
        Processor.Result result;
        try (FileContext ctx = new FileContext(upload, file, work.resolve("attempt"), out, (p, s, e) -> { },
                () -> { })) {
            result = task.run(ctx);
        }
        if (!(result.summary().get("rows") instanceof Number n) || n.longValue() <= 0) {
            throw new IllegalStateException("job wrote no rows: " + result.summary());
        }
    }
}
