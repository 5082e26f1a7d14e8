package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.fmt2;
import static io.sluice.bench.BenchSupport.log;
import static io.sluice.bench.BenchSupport.mbPerSecond;
import static io.sluice.bench.BenchSupport.median;

/**
 * Single-stream upload throughput against the disk's own: {@code dd if=/dev/zero ... conv=fdatasync} and a raw
 * {@code PUT /api/v1/uploads/bench.bin} of the same size, interleaved round by round (dd, sluice, dd, sluice, ...)
 * so that a noisy neighbour hurts both sides alike. Sluice's time runs from sending the request to receiving its
 * 201, which it sends only after fsync, rename and database commit; dd's time includes its fdatasync.
 *
 * <p>Not a test: run by {@code bench/run throughput} against a server it started.
 * Arguments: {@code --url http://127.0.0.1:PORT --dir DIR [--rounds 3] [--size 4GiB] [--warmup 512MiB]
 * [--client java|curl] [--server-pid PID] [--summary FILE]}; DIR is where dd writes, on the same filesystem as the
 * server's data directory. {@code --client curl} sends with {@code head -c | curl} instead, to tell client cost from
 * server cost; with {@code --server-pid} each round also reports the server's CPU time per GiB.
 */
public final class ThroughputBench {

    private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(15);
    private static final long DD_TIMEOUT_MINUTES = 15;
    private static final long MIB = 1L << 20;
    /** USER_HZ; 100 on every Linux this runs on. */
    private static final long CLOCK_TICKS_PER_SECOND = 100;
    /** CPU use during the last upload, for the round's log line. */
    private String lastCpu = "";

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private final URI base;
    private final Path dir;
    private final boolean curl;
    private final long serverPid;
    /** dd or curl while one runs, so that a killed benchmark does not leave it behind. */
    private volatile Process child;

    private ThroughputBench(URI base, Path dir, boolean curl, long serverPid) {
        this.base = base;
        this.dir = dir;
        this.curl = curl;
        this.serverPid = serverPid;
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        URI base = URI.create(args.require("url"));
        Path dir = Path.of(args.require("dir"));
        int rounds = args.integer("rounds", 3);
        long size = args.size("size", 4L << 30);
        long warmup = Math.min(size, args.size("warmup", 512 * MIB));
        if (rounds < 1 || rounds > 20) {
            throw new IllegalArgumentException("--rounds must be 1..20");
        }
        if (size < MIB || size % MIB != 0) {
            throw new IllegalArgumentException("--size must be a whole number of MiB (dd writes bs=1M)");
        }
        String client = args.get("client", "java");
        if (!client.equals("java") && !client.equals("curl")) {
            throw new IllegalArgumentException("--client must be java or curl");
        }
        Report report = new Report(args.get("summary", null));
        ThroughputBench bench = new ThroughputBench(base, dir, client.equals("curl"),
                Long.parseLong(args.get("server-pid", "-1")));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Process p = bench.child;
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroy);
                p.destroy();
            }
        }));
        System.exit(bench.run(rounds, size, warmup, report) ? 0 : 1);
    }

    /** @return false when an upload failed */
    private boolean run(int rounds, long size, long warmup, Report report) throws Exception {
        log("throughput: " + rounds + " round(s) of " + BenchSupport.formatBytes(size) + ", dd then sluice ("
                + (curl ? "curl" : "java.net.http") + " client), load " + BenchSupport.loadAverage());
        if (warmup > 0) {
            // Lets the server's JIT compile the upload path; not measured.
            long t = upload(warmup, "warm-up");
            log("warm-up upload of " + BenchSupport.formatBytes(warmup) + ": " + fmt(mbPerSecond(warmup, t))
                    + " MB/s (not counted" + (lastCpu.isEmpty() ? "" : "; " + lastCpu) + ")");
        }
        double[] dd = new double[rounds];
        double[] sluice = new double[rounds];
        double[] ratio = new double[rounds];
        String[] loads = new String[rounds];
        String[] failure = new String[rounds];
        int failed = 0;
        for (int r = 0; r < rounds; r++) {
            loads[r] = BenchSupport.loadAverage();
            dd[r] = mbPerSecond(size, dd(size));
            try {
                sluice[r] = mbPerSecond(size, upload(size, "round " + (r + 1)));
            } catch (IOException e) {
                // Recorded and reported, not fatal: the other rounds still say something.
                failure[r] = e.getMessage();
                lastCpu = "";
                sluice[r] = Double.NaN;
                failed++;
            }
            ratio[r] = sluice[r] / dd[r];
            log(String.format("round %d: dd %s MB/s, sluice %s, ratio %s (load %s%s)", r + 1, fmt(dd[r]),
                    failure[r] == null ? fmt(sluice[r]) + " MB/s" : "FAILED: " + failure[r], fmt2(ratio[r]),
                    loads[r], lastCpu.isEmpty() ? "" : "; during the upload " + lastCpu));
        }
        // Medians over the rounds where both sides completed, so that a failed upload does not unpair them.
        double[] okDd = java.util.stream.IntStream.range(0, rounds).filter(r -> failure[r] == null)
                .mapToDouble(r -> dd[r]).toArray();
        double mdd = median(okDd);
        double ms = median(java.util.Arrays.stream(sluice).filter(v -> !Double.isNaN(v)).toArray());
        double mratio = median(java.util.Arrays.stream(ratio).filter(v -> !Double.isNaN(v)).toArray());
        report.line("");
        report.line("### throughput: single " + BenchSupport.formatBytes(size) + " raw PUT vs dd conv=fdatasync"
                + (curl ? " (curl client)" : ""));
        report.line("");
        report.line("| round | dd MB/s | sluice MB/s | sluice/dd | load avg (1/5/15 min) |");
        report.line("|------:|--------:|------------:|----------:|-----------------------|");
        for (int r = 0; r < rounds; r++) {
            report.line("| " + (r + 1) + " | " + fmt(dd[r]) + " | " + (failure[r] == null ? fmt(sluice[r]) : "failed")
                    + " | " + (failure[r] == null ? fmt2(ratio[r]) : "-") + " | " + loads[r] + " |");
        }
        report.line("| **median**" + (failed > 0 ? " of the " + okDd.length + " complete round(s)" : "") + " | **"
                + fmt(mdd) + "** | **" + fmt(ms) + "** | **" + fmt2(ms / mdd) + "** (median of round ratios "
                + fmt2(mratio) + ") | |");
        for (int r = 0; r < rounds; r++) {
            if (failure[r] != null) {
                report.line("");
                report.line("round " + (r + 1) + " upload FAILED: " + failure[r]);
            }
        }
        report.line("");
        report.line("target sluice/dd >= 0.90: " + (failed == 0 && ms / mdd >= 0.9 ? "MET" : "MISSED")
                + " (ratio of medians " + fmt2(ms / mdd) + (failed > 0 ? ", " + failed + " failed upload(s)" : "")
                + ")");
        return failed == 0;
    }

    /** Runs dd, returns its wall time in nanoseconds, removes its file. */
    private long dd(long size) throws IOException, InterruptedException {
        Path file = dir.resolve("dd-bench.bin");
        Files.deleteIfExists(file);
        sync();
        Path log = dir.resolve("dd-bench.log");
        ProcessBuilder pb = new ProcessBuilder("dd", "if=/dev/zero", "of=" + file, "bs=1M",
                "count=" + (size / MIB), "conv=fdatasync").redirectErrorStream(true).redirectOutput(log.toFile());
        try {
            long t0 = System.nanoTime();
            Process p = pb.start();
            child = p;
            if (!p.waitFor(DD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("dd did not finish within " + DD_TIMEOUT_MINUTES + " minutes");
            }
            long elapsed = System.nanoTime() - t0;
            if (p.exitValue() != 0) {
                throw new IOException("dd failed: " + Files.readString(log, StandardCharsets.UTF_8).strip());
            }
            return elapsed;
        } finally {
            child = null;
            Files.deleteIfExists(file);
            Files.deleteIfExists(log);
        }
    }

    /** One raw PUT of zeros; returns the time until the 201 arrived, then deletes the upload. */
    private long upload(long size, String what) throws IOException, InterruptedException {
        sync();
        URI target = base.resolve("/api/v1/uploads/bench.bin");
        long serverCpu0 = cpuNanos(serverPid);
        long clientCpu0 = ownCpuNanos();
        long t0 = System.nanoTime();
        int status;
        String answer;
        if (curl) {
            // For comparison only: curl reads zeros from a pipe, so it pays a copy the Java client does not.
            Path log = dir.resolve("curl-bench.log");
            Process p = new ProcessBuilder("sh", "-c", "head -c " + size + " /dev/zero | curl -sS -T - -H "
                    + "'Transfer-Encoding:' -H 'Expect:' -H 'Content-Type: application/octet-stream' "
                    + "-H 'Content-Length: " + size + "' -w '\\n%{http_code}' '" + target + "'")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            child = p;
            String out;
            try {
                if (!p.waitFor(REQUEST_TIMEOUT.toMinutes(), TimeUnit.MINUTES)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    throw new IOException(what + ": curl did not finish within " + REQUEST_TIMEOUT.toMinutes()
                            + " minutes");
                }
                out = Files.readString(log, StandardCharsets.UTF_8).strip();
            } finally {
                child = null;
                Files.deleteIfExists(log);
            }
            int nl = out.lastIndexOf('\n');
            answer = nl < 0 ? out : out.substring(0, nl);
            status = nl < 0 ? -1 : Integer.parseInt(out.substring(nl + 1).strip());
        } else {
            HttpRequest put = HttpRequest.newBuilder(target)
                    .timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/octet-stream")
                    .PUT(BenchBytes.Body.zeros(size).publisher())
                    .build();
            HttpResponse<String> resp = http.send(put, HttpResponse.BodyHandlers.ofString());
            status = resp.statusCode();
            answer = resp.body();
        }
        long elapsed = System.nanoTime() - t0;
        long serverCpu = cpuNanos(serverPid) - serverCpu0;
        long clientCpu = ownCpuNanos() - clientCpu0;
        if (serverCpu >= 0) {
            lastCpu = String.format(java.util.Locale.ROOT,
                    "server CPU %.2f s/GiB = %.2f cores, client %.2f cores",
                    serverCpu / 1e9 / (size / (double) (1L << 30)), serverCpu / (double) elapsed,
                    clientCpu / (double) elapsed);
        }
        if (status != 201) {
            throw new IOException(what + ": PUT answered " + status + ": " + answer);
        }
        String id = BenchSupport.jsonString(answer, "id");
        long stored = BenchSupport.jsonLong(answer, "size");
        if (id == null || stored != size) {
            throw new IOException(what + ": unexpected answer " + answer);
        }
        HttpResponse<String> del = http.send(HttpRequest.newBuilder(base.resolve("/api/v1/uploads/" + id))
                .timeout(Duration.ofMinutes(1)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
        if (del.statusCode() != 204 && del.statusCode() != 200) {
            throw new IOException(what + ": DELETE answered " + del.statusCode() + ": " + del.body());
        }
        return elapsed;
    }

    /** CPU time of process {@code pid} from /proc (user + system), or -1 when unknown. */
    private static long cpuNanos(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
            return ticks * (1_000_000_000L / CLOCK_TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long ownCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Flushes other dirty pages first so that each measurement starts from the same state. */
    private static void sync() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sync").inheritIO().start();
        p.waitFor(5, TimeUnit.MINUTES);
    }
}
