package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import java.util.stream.IntStream;

import static io.sluice.bench.BenchSupport.cpuNanos;
import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.fmt2;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;
import static io.sluice.bench.BenchSupport.mbPerSecond;
import static io.sluice.bench.BenchSupport.median;
import static io.sluice.bench.BenchSupport.percentile;
import static io.sluice.bench.BenchSupport.procStatusBytes;

/**
 * Sluice's tus endpoint against {@code @tus/server} with its {@code FileStore}, driven by the same client (raw
 * HTTP/1.1, bodies sent from a generated file with {@code sendfile}), in two phases:
 *
 * <ul>
 *   <li>{@code large}: one file of {@code --size} uploaded with one PATCH, with 50 MiB PATCHes and with 5 MiB
 *       PATCHes (after a creation POST), beside {@code dd if=<the same file> of=<target> bs=1M conv=fdatasync} on the
 *       same disk. Rounds interleave {@code dd, sluice, tus} for each chunk size. Sluice answers the last PATCH only
 *       after fsync and its database commit; {@code @tus/server} never fsyncs, so its time runs until the client has
 *       fsync'd its data file, its {@code .json} and its directory after the last answer. Reported: MB/s, the
 *       ratios, and each server's CPU seconds per GiB (utime + stime from /proc/&lt;pid&gt;/stat).</li>
 *   <li>{@code small}: {@code --small} uploads of {@code --small-size} with creation-with-upload (the whole file in
 *       the POST), {@code --parallel} at a time, each on its own keep-alive connection. Reported: files/s, latency,
 *       CPU per file, and each server's peak RSS (VmRSS sampled every 10 ms during the round; VmHWM at the end).
 *       {@code @tus/server}'s files/s is also given with one {@code sync -f} of its filesystem after the last
 *       answer, for a durable-to-durable comparison.</li>
 * </ul>
 *
 * <p>Not a test: run by {@code bench/run tus} against two servers it started (fresh ones for each phase, so the
 * VmHWM of the small phase is the small phase's). Arguments: {@code --phase large|small --dir DIR --sluice-url URL
 * --sluice-pid PID --tus-url URL --tus-pid PID --tus-dir DIR [--rounds 3] [--size 4GiB] [--small 3000]
 * [--small-size 100KiB] [--parallel 32] [--summary FILE]}; DIR (where the source file and dd's target go) and the
 * servers' data directories are on one filesystem.
 */
public final class TusBench {

    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    private static final String TUS_VERSION = "1.0.0";
    private static final String OFFSET_OCTET_STREAM = "application/offset+octet-stream";
    private static final Duration SHORT_TIMEOUT = Duration.ofSeconds(60);
    private static final long DD_TIMEOUT_MINUTES = 15;
    /** Unmeasured upload per server before the large rounds: lets the JIT (and Node's) compile the paths. */
    private static final long LARGE_WARMUP = 512 * MIB;
    private static final int SMALL_WARMUP = 300;
    /** The small uploads read their bodies from distinct offsets of a file this large. */
    private static final long SMALL_SOURCE_SIZE = 64 * MIB;
    private static final int SMALL_VERIFY = 5;
    private static final long RSS_SAMPLE_MILLIS = 10;

    /**
     * One server under test; {@code fileStore} is where @tus/server keeps its files (null for Sluice);
     * {@code multipart}: Sluice's {@code POST /api/v1/uploads}, one file per request, instead of tus.
     */
    private record Server(String name, URI base, long pid, Path fileStore, boolean multipart) {
        Server(String name, URI base, long pid, Path fileStore) {
            this(name, base, pid, fileStore, false);
        }

        boolean isSluice() {
            return fileStore == null;
        }
    }

    /** A chunk size of a large upload; {@code bytes} 0 means everything in one PATCH. */
    private record Mode(String label, long bytes) {
        long chunk(long size) {
            return bytes == 0 ? size : bytes;
        }
    }

    private final Path dir;
    private final Server sluice;
    private final Server tus;
    private final RawHttpClient.Watchdog watchdog = new RawHttpClient.Watchdog();
    /** dd while it runs, so that a killed benchmark does not leave it behind. */
    private volatile Process child;
    private int failures;

    private TusBench(Path dir, Server sluice, Server tus) {
        this.dir = dir;
        this.sluice = sluice;
        this.tus = tus;
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        Path dir = Path.of(args.require("dir"));
        Server sluice = new Server("sluice", URI.create(args.require("sluice-url")),
                Long.parseLong(args.require("sluice-pid")), null);
        Server tus = new Server("tus-server", URI.create(args.require("tus-url")),
                Long.parseLong(args.require("tus-pid")), Path.of(args.require("tus-dir")));
        int rounds = args.integer("rounds", 3);
        if (rounds < 1 || rounds > 20) {
            throw new IllegalArgumentException("--rounds must be 1..20");
        }
        Report report = new Report(args.get("summary", null));
        TusBench bench = new TusBench(dir, sluice, tus);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Process p = bench.child;
            if (p != null) {
                p.destroy();
            }
        }));
        String phase = args.require("phase");
        switch (phase) {
            case "large" -> {
                long size = args.size("size", 4 * GIB);
                if (size < 64 * MIB || size % MIB != 0) {
                    throw new IllegalArgumentException("--size must be a whole number of MiB, at least 64MiB");
                }
                // --only-chunked: the 5 MiB PATCHes alone (the chunked row of issue 14), the others skipped.
                bench.large(rounds, size, Boolean.parseBoolean(args.get("only-chunked", "false")), report);
            }
            case "small" -> {
                int count = args.integer("small", 3000);
                long size = args.size("small-size", 100 * 1024);
                int parallel = args.integer("parallel", 32);
                if (count < 1 || count > 100_000 || size < 1 || size > 16 * MIB || parallel < 1 || parallel > 256) {
                    throw new IllegalArgumentException("--small 1..100000, --small-size 1 byte..16MiB, "
                            + "--parallel 1..256");
                }
                bench.small(rounds, count, size, parallel, report);
            }
            default -> throw new IllegalArgumentException("--phase must be large or small");
        }
        bench.watchdog.close();
        System.exit(bench.failures == 0 ? 0 : 1);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Phase 1: one large file.

    /**
     * One measured large upload. {@code durableNanos} includes the client's fsyncs for @tus/server; the server's
     * CPU time is {@code userNanos + systemNanos}.
     */
    private record Large(long responseNanos, long durableNanos, long userNanos, long systemNanos) {
        long cpuNanos() {
            return userNanos + systemNanos;
        }
    }

    private void large(int rounds, long size, boolean onlyChunked, Report report) throws Exception {
        Mode chunked = new Mode("5 MiB PATCHes", 5 * MIB);
        List<Mode> modes = onlyChunked ? List.of(chunked)
                : List.of(new Mode("one PATCH", 0), new Mode("50 MiB PATCHes", 50 * MIB), chunked);
        Path source = dir.resolve("tus-source.bin");
        log("large: generating " + formatBytes(size) + " in " + source);
        String sha = generate(source, size);
        log("large: " + rounds + " round(s); in each, for each chunk size: dd, sluice, tus-server; load "
                + BenchSupport.loadAverage());
        for (Server s : List.of(sluice, tus)) {
            long w = Math.min(size, LARGE_WARMUP);
            Large warm = largeUpload(s, source, w, 50 * MIB, null);
            log("warm-up " + s.name() + ": " + formatBytes(w) + " in 50 MiB PATCHes, "
                    + fmt(mbPerSecond(w, warm.durableNanos())) + " MB/s (not counted)");
        }
        int m = modes.size();
        double[][] dd = new double[m][rounds];
        double[][] sl = new double[m][rounds];
        double[][] ts = new double[m][rounds];
        double[][] tsResp = new double[m][rounds];
        double[][] slCpu = new double[m][rounds];
        double[][] tsCpu = new double[m][rounds];
        String[][] loads = new String[m][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < m; k++) {
                Mode mode = modes.get(k);
                loads[k][r] = BenchSupport.loadAverage();
                dd[k][r] = ddRate(source, size);
                Large a = measured(sluice, source, size, mode, sha);
                Large b = measured(tus, source, size, mode, sha);
                sl[k][r] = a == null ? Double.NaN : mbPerSecond(size, a.durableNanos());
                slCpu[k][r] = a == null ? Double.NaN : a.cpuNanos() / 1e9 / (size / (double) GIB);
                ts[k][r] = b == null ? Double.NaN : mbPerSecond(size, b.durableNanos());
                tsResp[k][r] = b == null ? Double.NaN : mbPerSecond(size, b.responseNanos());
                tsCpu[k][r] = b == null ? Double.NaN : b.cpuNanos() / 1e9 / (size / (double) GIB);
                log(String.format(Locale.ROOT, "round %d, %s: dd %s MB/s, sluice %s MB/s (%s CPU s/GiB%s), "
                                + "tus-server %s MB/s to fsync, %s to its last answer (%s CPU s/GiB%s); load %s",
                        r + 1, mode.label(), fmt(dd[k][r]), fmt(sl[k][r]), fmt2(slCpu[k][r]), split(a, size),
                        fmt(ts[k][r]), fmt(tsResp[k][r]), fmt2(tsCpu[k][r]), split(b, size), loads[k][r]));
            }
        }

        report.line("");
        report.line("### tus, large: one " + formatBytes(size) + " file, Sluice vs @tus/server vs dd conv=fdatasync");
        report.line("");
        report.line("MB/s = 10^6 bytes/s. Sluice: creation POST to the last 204 (sent after fsync and commit). "
                + "tus-server: the same, plus the client's fsync of its file, .json and directory (in brackets: to "
                + "its last 204, not durable). CPU = server process utime+stime per GiB.");
        report.line("");
        report.line("| round | PATCH size | dd MB/s | sluice MB/s | tus-server MB/s | sluice/dd | sluice/tus | "
                + "sluice CPU s/GiB | tus CPU s/GiB | load avg |");
        report.line("|------:|------------|--------:|------------:|----------------:|----------:|-----------:|"
                + "-----------------:|--------------:|----------|");
        for (int k = 0; k < m; k++) {
            for (int r = 0; r < rounds; r++) {
                report.line("| " + (r + 1) + " | " + modes.get(k).label() + " | " + fmt(dd[k][r]) + " | "
                        + fmt(sl[k][r]) + " | " + fmt(ts[k][r]) + " (" + fmt(tsResp[k][r]) + ") | "
                        + fmt2(sl[k][r] / dd[k][r]) + " | " + fmt2(sl[k][r] / ts[k][r]) + " | " + fmt2(slCpu[k][r])
                        + " | " + fmt2(tsCpu[k][r]) + " | " + loads[k][r] + " |");
            }
        }
        report.line("");
        report.line("| medians | dd MB/s | sluice MB/s | tus-server MB/s | sluice/dd | sluice/tus | sluice CPU s/GiB "
                + "| tus CPU s/GiB | target sluice/dd >= 0.9 | target CPU below tus-server's |");
        report.line("|---------|--------:|------------:|----------------:|----------:|-----------:|-----------------:"
                + "|--------------:|------------------------|-------------------------------|");
        for (int k = 0; k < m; k++) {
            double mdd = med(dd[k]);
            double msl = med(sl[k]);
            double mts = med(ts[k]);
            double mslCpu = med(slCpu[k]);
            double mtsCpu = med(tsCpu[k]);
            report.line("| " + modes.get(k).label() + " | " + fmt(mdd) + " | " + fmt(msl) + " | " + fmt(mts)
                    + " (" + fmt(med(tsResp[k])) + ") | " + fmt2(msl / mdd) + " | " + fmt2(msl / mts) + " | "
                    + fmt2(mslCpu) + " | " + fmt2(mtsCpu) + " | " + (msl / mdd >= 0.9 ? "MET" : "MISSED")
                    + " (median of round ratios " + fmt2(medianRatio(sl[k], dd[k])) + ") | "
                    + (mslCpu < mtsCpu ? "MET" : "MISSED") + " |");
        }
        if (failures > 0) {
            report.line("");
            report.line(failures + " upload(s) FAILED (see the log above); their rounds are left out of the medians");
        }
    }

    /** " = user + system" of an upload's CPU per GiB, for the log. */
    private static String split(Large l, long size) {
        double gib = size / (double) GIB;
        return l == null ? "" : " = " + fmt2(l.userNanos() / 1e9 / gib) + " user + " + fmt2(l.systemNanos() / 1e9 / gib)
                + " sys";
    }

    /** A measured upload, deleted afterwards; null (and counted) when it failed. */
    private Large measured(Server s, Path source, long size, Mode mode, String sha) {
        try {
            return largeUpload(s, source, size, mode.chunk(size), sha);
        } catch (IOException | RuntimeException e) {
            failures++;
            log(s.name() + " " + mode.label() + " FAILED: " + e);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Creates an upload of {@code size} bytes and sends them in PATCHes of {@code chunk}; checks what was stored
     * ({@code sha} for Sluice's record, the file's size for @tus/server) and deletes it.
     */
    private Large largeUpload(Server s, Path source, long size, long chunk, String sha)
            throws IOException, InterruptedException {
        sync();
        try (FileChannel body = FileChannel.open(source, StandardOpenOption.READ);
             RawHttpClient http = new RawHttpClient(s.base(), watchdog)) {
            long[] cpu0 = BenchSupport.cpuSplitNanos(s.pid());
            long t0 = System.nanoTime();
            String path = create(http, s, size, "tus-bench.bin", null, 0);
            long offset = 0;
            RawHttpClient.Response last = null;
            while (offset < size) {
                long n = Math.min(chunk, size - offset);
                Map<String, String> h = tusHeaders();
                h.put("Upload-Offset", Long.toString(offset));
                h.put("Content-Type", OFFSET_OCTET_STREAM);
                last = http.send("PATCH", path, h, body, offset, n, bodyTimeout(n));
                offset += n;
                if (last.status() != 204 || !Long.toString(offset).equals(last.header("Upload-Offset"))) {
                    throw new IOException(s.name() + ": PATCH answered " + last.status() + " with Upload-Offset "
                            + last.header("Upload-Offset") + " (expected " + offset + "): " + last.body());
                }
            }
            long t1 = System.nanoTime();
            String id = path.substring(path.lastIndexOf('/') + 1);
            if (!s.isSluice()) {
                fsync(s.fileStore().resolve(id));
                fsync(s.fileStore().resolve(id + ".json"));
                fsync(s.fileStore());
            }
            long t2 = System.nanoTime();
            long[] cpu1 = BenchSupport.cpuSplitNanos(s.pid());
            long user = cpu0 == null || cpu1 == null ? -1 : cpu1[0] - cpu0[0];
            long system = cpu0 == null || cpu1 == null ? -1 : cpu1[1] - cpu0[1];
            if (s.isSluice()) {
                String recordId = last == null ? null : last.header("Sluice-Upload-Id");
                if (sha != null) {
                    RawHttpClient.Response rec = http.send("GET", "/api/v1/uploads/" + recordId, Map.of(), null, 0,
                            0, SHORT_TIMEOUT);
                    if (rec.status() != 200 || !sha.equals(BenchSupport.jsonString(rec.body(), "sha256"))) {
                        throw new IOException("sluice: the upload's record is not what was sent: " + rec.status()
                                + " " + rec.body());
                    }
                }
            } else if (Files.size(s.fileStore().resolve(id)) != size) {
                throw new IOException("tus-server: the stored file has " + Files.size(s.fileStore().resolve(id))
                        + " bytes, not " + size);
            }
            delete(http, s, path);
            return new Large(t1 - t0, t2 - t0, user, system);
        }
    }

    /** dd of the source file to a new file on the same disk, with fdatasync; MB/s; NaN (and counted) on failure. */
    private double ddRate(Path source, long size) throws InterruptedException {
        Path target = dir.resolve("tus-dd.bin");
        Path out = dir.resolve("tus-dd.log");
        try {
            Files.deleteIfExists(target);
            sync();
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder("dd", "if=" + source, "of=" + target, "bs=1M", "conv=fdatasync")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            child = p;
            if (!p.waitFor(DD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("dd did not finish within " + DD_TIMEOUT_MINUTES + " minutes");
            }
            long elapsed = System.nanoTime() - t0;
            if (p.exitValue() != 0) {
                throw new IOException("dd failed: " + Files.readString(out, StandardCharsets.UTF_8).strip());
            }
            if (Files.size(target) != size) {
                throw new IOException("dd wrote " + Files.size(target) + " bytes, not " + size);
            }
            return mbPerSecond(size, elapsed);
        } catch (IOException e) {
            failures++;
            log("dd FAILED: " + e.getMessage());
            return Double.NaN;
        } finally {
            child = null;
            try {
                Files.deleteIfExists(target);
                Files.deleteIfExists(out);
            } catch (IOException e) {
                log("could not remove " + target + ": " + e);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Phase 2: many small files.

    /** One round of small uploads against one server. */
    private record Small(long elapsedNanos, long syncNanos, int ok, long p50Nanos, long p99Nanos, long cpuNanos,
                         long peakRss, List<String> paths) {
    }

    private void small(int rounds, int count, long size, int parallel, Report report) throws Exception {
        Path source = dir.resolve("tus-small-source.bin");
        generate(source, SMALL_SOURCE_SIZE);
        log("small: " + rounds + " round(s) of " + count + " uploads of " + formatBytes(size) + ", " + parallel
                + " at a time, creation-with-upload; sluice, tus-server, then sluice multipart POST; load "
                + BenchSupport.loadAverage());
        Server multipart = new Server("sluice-multipart", sluice.base(), sluice.pid(), null, true);
        for (Server s : List.of(sluice, tus, multipart)) {
            Small warm = smallRound(s, source, Math.min(SMALL_WARMUP, count), size, parallel);
            deleteAll(s, warm.paths(), parallel);
            log("warm-up " + s.name() + ": " + warm.ok() + " uploads, "
                    + fmt(warm.ok() / (warm.elapsedNanos() / 1e9)) + " files/s (not counted)");
        }
        List<Small> sl = new ArrayList<>();
        List<Small> ts = new ArrayList<>();
        List<Small> mp = new ArrayList<>();
        String[] loads = new String[rounds];
        for (int r = 0; r < rounds; r++) {
            loads[r] = BenchSupport.loadAverage();
            for (Server s : List.of(sluice, tus, multipart)) {
                Small res = smallRound(s, source, count, size, parallel);
                (s.multipart() ? mp : s.isSluice() ? sl : ts).add(res);
                if (res.ok() < count) {
                    failures++;
                }
                log(String.format(Locale.ROOT, "round %d, %s: %d/%d in %.2f s = %s files/s%s, latency p50 %.1f ms "
                                + "p99 %.1f ms, CPU %.2f ms/file, peak VmRSS %s; load %s", r + 1, s.name(), res.ok(),
                        count, res.elapsedNanos() / 1e9, fmt(filesPerSecond(res, false)),
                        s.isSluice() ? "" : " (" + fmt(filesPerSecond(res, true)) + " with sync -f)",
                        res.p50Nanos() / 1e6, res.p99Nanos() / 1e6, res.cpuNanos() / 1e6 / count,
                        formatBytes(res.peakRss()), BenchSupport.loadAverage()));
                deleteAll(s, res.paths(), parallel);
            }
        }
        long slHwm = procStatusBytes(sluice.pid(), "VmHWM");
        long tsHwm = procStatusBytes(tus.pid(), "VmHWM");

        report.line("");
        report.line("### tus, small: " + count + " uploads of " + formatBytes(size) + ", creation-with-upload, "
                + parallel + " at a time");
        report.line("");
        report.line("Sluice fsyncs every upload (file, directory, database commit) before its 201; @tus/server "
                + "fsyncs nothing (in brackets: its files/s with one `sync -f` of the filesystem after the last "
                + "201). Peak RSS: VmRSS sampled every " + RSS_SAMPLE_MILLIS + " ms during the round.");
        report.line("");
        report.line("| round | sluice files/s | tus-server files/s | sluice/tus | sluice p50 / p99 ms "
                + "| tus p50 / p99 ms | sluice CPU ms/file | tus CPU ms/file | sluice peak RSS | tus peak RSS "
                + "| load avg |");
        report.line("|------:|---------------:|-------------------:|-----------:|--------------------|"
                + "------------------|-------------------:|----------------:|----------------:|-------------:"
                + "|----------|");
        for (int r = 0; r < rounds; r++) {
            Small a = sl.get(r);
            Small b = ts.get(r);
            report.line("| " + (r + 1) + " | " + fmt(filesPerSecond(a, false)) + okNote(a, count) + " | "
                    + fmt(filesPerSecond(b, false)) + " (" + fmt(filesPerSecond(b, true)) + ")" + okNote(b, count)
                    + " | " + fmt2(filesPerSecond(a, false) / filesPerSecond(b, false)) + " | "
                    + fmt(a.p50Nanos() / 1e6) + " / " + fmt(a.p99Nanos() / 1e6) + " | " + fmt(b.p50Nanos() / 1e6)
                    + " / " + fmt(b.p99Nanos() / 1e6) + " | " + fmt2(a.cpuNanos() / 1e6 / count) + " | "
                    + fmt2(b.cpuNanos() / 1e6 / count) + " | " + formatBytes(a.peakRss()) + " | "
                    + formatBytes(b.peakRss()) + " | " + loads[r] + " |");
        }
        double msl = medianOf(sl, x -> filesPerSecond(x, false));
        double mts = medianOf(ts, x -> filesPerSecond(x, false));
        double mtsSync = medianOf(ts, x -> filesPerSecond(x, true));
        double slRss = medianOf(sl, x -> x.peakRss());
        double tsRss = medianOf(ts, x -> x.peakRss());
        report.line("| **median** | **" + fmt(msl) + "** | **" + fmt(mts) + "** (" + fmt(mtsSync) + ") | **"
                + fmt2(msl / mts) + "** | | | " + fmt2(medianOf(sl, x -> x.cpuNanos() / 1e6 / count)) + " | "
                + fmt2(medianOf(ts, x -> x.cpuNanos() / 1e6 / count)) + " | " + formatBytes((long) slRss) + " | "
                + formatBytes((long) tsRss) + " | |");
        report.line("");
        report.line("VmHWM at the end of the phase (servers started fresh for it, warm-up included): sluice "
                + formatBytes(slHwm) + ", tus-server " + formatBytes(tsHwm) + ".");
        report.line("");
        report.line("target sluice files/s >= 1.5x tus-server's: " + (msl / mts >= 1.5 ? "MET" : "MISSED")
                + " (ratio of medians " + fmt2(msl / mts) + ", median of round ratios "
                + fmt2(median(IntStream.range(0, rounds)
                        .mapToDouble(r -> filesPerSecond(sl.get(r), false) / filesPerSecond(ts.get(r), false))
                        .toArray()))
                + "; against tus-server with sync -f: " + fmt2(msl / mtsSync) + ")");
        report.line("");
        report.line("Multipart: the same " + count + " files through Sluice's `POST /api/v1/uploads` "
                + "(`multipart/form-data`, one file per request), same server, right after each tus round.");
        report.line("");
        report.line("| round | sluice multipart files/s | sluice tus files/s | multipart/tus | multipart p50 / p99 ms "
                + "| multipart CPU ms/file | peak RSS | load avg |");
        report.line("|------:|------:|------:|------:|------|------:|------:|------|");
        for (int r = 0; r < rounds; r++) {
            Small m = mp.get(r);
            Small a = sl.get(r);
            report.line("| " + (r + 1) + " | " + fmt(filesPerSecond(m, false)) + okNote(m, count) + " | "
                    + fmt(filesPerSecond(a, false)) + " | "
                    + fmt2(filesPerSecond(m, false) / filesPerSecond(a, false)) + " | " + fmt(m.p50Nanos() / 1e6)
                    + " / " + fmt(m.p99Nanos() / 1e6) + " | " + fmt2(m.cpuNanos() / 1e6 / count) + " | "
                    + formatBytes(m.peakRss()) + " | " + loads[r] + " |");
        }
        double mmp = medianOf(mp, x -> filesPerSecond(x, false));
        report.line("");
        report.line("target multipart files/s no slower than tus: " + (mmp >= msl ? "MET" : "MISSED")
                + " (ratio of medians " + fmt2(mmp / msl) + ")");
        report.line("target sluice peak RSS below tus-server's: "
                + (slHwm > 0 && tsHwm > 0 && slHwm < tsHwm && slRss < tsRss ? "MET" : "MISSED")
                + " (VmHWM " + formatBytes(slHwm) + " vs " + formatBytes(tsHwm) + "; sampled median peaks "
                + formatBytes((long) slRss) + " vs " + formatBytes((long) tsRss) + ")");
    }

    private static double filesPerSecond(Small s, boolean withSync) {
        return s.ok() / ((s.elapsedNanos() + (withSync ? s.syncNanos() : 0)) / 1e9);
    }

    private static String okNote(Small s, int count) {
        return s.ok() == count ? "" : " (" + (count - s.ok()) + " FAILED)";
    }

    /**
     * {@code count} creation-with-upload POSTs, {@code parallel} connections at once; returns their paths. Checks
     * that {@link #SMALL_VERIFY} of them stored exactly what was sent.
     */
    private Small smallRound(Server s, Path source, int count, long size, int parallel) throws Exception {
        sync();
        long[] latencies = new long[count];
        Arrays.fill(latencies, Long.MAX_VALUE);
        String[] paths = new String[count];
        String[] recordIds = new String[count];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<String> firstFailure = new AtomicReference<>();
        AtomicLong peakRss = new AtomicLong();
        Thread sampler = Thread.ofPlatform().daemon().name("rss-sampler").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakRss.accumulateAndGet(procStatusBytes(s.pid(), "VmRSS"), Math::max);
                try {
                    Thread.sleep(RSS_SAMPLE_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long cpu0 = cpuNanos(s.pid());
        long t0 = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < parallel; w++) {
            workers.add(Thread.ofPlatform().name("small-" + w).start(() -> {
                try (FileChannel body = FileChannel.open(source, StandardOpenOption.READ);
                     RawHttpClient http = new RawHttpClient(s.base(), watchdog)) {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        long start = System.nanoTime();
                        try {
                            RawHttpClient.Response[] answer = new RawHttpClient.Response[1];
                            if (s.multipart()) {
                                recordIds[i] = postMultipart(http, s, size, "bench-" + i + ".bin", body,
                                        smallOffset(i, size));
                                paths[i] = "/api/v1/uploads/" + recordIds[i];
                            } else {
                                paths[i] = create(http, s, size, "bench-" + i + ".bin", body, smallOffset(i, size),
                                        answer);
                                recordIds[i] = answer[0].header("Sluice-Upload-Id");
                            }
                            latencies[i] = System.nanoTime() - start;
                        } catch (IOException | RuntimeException e) {
                            failed.incrementAndGet();
                            firstFailure.compareAndSet(null, e.toString());
                        }
                    }
                } catch (IOException e) {
                    failed.incrementAndGet();
                    firstFailure.compareAndSet(null, e.toString());
                }
            }));
        }
        for (Thread t : workers) {
            t.join();
        }
        long elapsed = System.nanoTime() - t0;
        long syncNanos = 0;
        if (!s.isSluice()) {
            long t1 = System.nanoTime();
            run("sync", "-f", s.fileStore().toString());
            syncNanos = System.nanoTime() - t1;
        }
        long cpu = cpuNanos(s.pid()) - cpu0;
        sampler.interrupt();
        sampler.join();
        if (firstFailure.get() != null) {
            log(s.name() + ": " + failed.get() + " small upload(s) FAILED, the first: " + firstFailure.get());
        }
        List<String> done = Arrays.stream(paths).filter(p -> p != null).toList();
        verifySmall(s, source, size, paths, recordIds);
        long[] sorted = Arrays.stream(latencies).filter(l -> l != Long.MAX_VALUE).sorted().toArray();
        return new Small(elapsed, syncNanos, done.size(), percentile(sorted, 50), percentile(sorted, 99), cpu,
                peakRss.get(), done);
    }

    /** Upload {@code i}'s body starts here in the small source: distinct, spread offsets. */
    private static long smallOffset(int i, long size) {
        return Math.floorMod(i * 7_919L * 4_096L + i * 104_729L, SMALL_SOURCE_SIZE - size);
    }

    /** Compares the stored bytes of a few uploads with what was sent (Sluice: its record's sha256). */
    private void verifySmall(Server s, Path source, long size, String[] paths, String[] recordIds) throws Exception {
        int checked = 0;
        try (FileChannel src = FileChannel.open(source, StandardOpenOption.READ);
             RawHttpClient http = new RawHttpClient(s.base(), watchdog)) {
            for (int i = 0; i < paths.length && checked < SMALL_VERIFY; i += Math.max(1, paths.length / SMALL_VERIFY)) {
                if (paths[i] == null) {
                    continue;
                }
                checked++;
                String expected = sha256(src, smallOffset(i, size), size);
                String actual;
                if (s.isSluice()) {
                    RawHttpClient.Response rec = http.send("GET", "/api/v1/uploads/" + recordIds[i], Map.of(), null,
                            0, 0, SHORT_TIMEOUT);
                    actual = BenchSupport.jsonString(rec.body(), "sha256");
                } else {
                    Path f = s.fileStore().resolve(paths[i].substring(paths[i].lastIndexOf('/') + 1));
                    try (FileChannel stored = FileChannel.open(f, StandardOpenOption.READ)) {
                        actual = stored.size() == size ? sha256(stored, 0, size) : "size " + stored.size();
                    }
                }
                if (!expected.equals(actual)) {
                    failures++;
                    log(s.name() + ": upload " + i + " (" + paths[i] + ") stored " + actual + ", sent " + expected);
                }
            }
        }
    }

    /** Deletes uploads with tus termination, {@code parallel} at a time (not measured). */
    private void deleteAll(Server s, List<String> paths, int parallel) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < parallel; w++) {
            workers.add(Thread.ofPlatform().name("delete-" + w).start(() -> {
                try (RawHttpClient http = new RawHttpClient(s.base(), watchdog)) {
                    for (int i = next.getAndIncrement(); i < paths.size(); i = next.getAndIncrement()) {
                        try {
                            delete(http, s, paths.get(i));
                        } catch (IOException e) {
                            failed.incrementAndGet();
                        }
                    }
                }
            }));
        }
        for (Thread t : workers) {
            t.join();
        }
        if (failed.get() > 0) {
            log(s.name() + ": " + failed.get() + " DELETE(s) failed (uploads left behind until the end)");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // tus requests, the same for both servers.

    private static Map<String, String> tusHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Tus-Resumable", TUS_VERSION);
        return h;
    }

    private static String create(RawHttpClient http, Server s, long size, String filename, FileChannel body,
                                 long offset) throws IOException {
        return create(http, s, size, filename, body, offset, new RawHttpClient.Response[1]);
    }

    /**
     * POST to the collection: an empty creation when {@code body} is null, creation-with-upload of the whole file
     * otherwise. Returns the upload's path (from {@code Location}); {@code answer[0]} receives the response.
     */
    private static String create(RawHttpClient http, Server s, long size, String filename, FileChannel body,
                                 long offset, RawHttpClient.Response[] answer) throws IOException {
        Map<String, String> h = tusHeaders();
        h.put("Upload-Length", Long.toString(size));
        h.put("Upload-Metadata", "filename " + Base64.getEncoder().encodeToString(
                filename.getBytes(StandardCharsets.UTF_8)));
        if (body != null) {
            h.put("Content-Type", OFFSET_OCTET_STREAM);
        }
        RawHttpClient.Response r = http.send("POST", "/files", h, body, offset, body == null ? 0 : size,
                body == null ? SHORT_TIMEOUT : bodyTimeout(size));
        answer[0] = r;
        String location = r.header("Location");
        if (r.status() != 201 || location == null) {
            throw new IOException(s.name() + ": POST answered " + r.status() + ": " + r.body());
        }
        if (body != null && !Long.toString(size).equals(r.header("Upload-Offset"))) {
            throw new IOException(s.name() + ": creation-with-upload answered Upload-Offset "
                    + r.header("Upload-Offset") + ", not " + size);
        }
        return s.base().resolve(location).getRawPath();
    }

    /**
     * One file through {@code POST /api/v1/uploads} ({@code multipart/form-data}, the part's headers and the closing
     * boundary around the file's bytes, which are sent with {@code sendfile} as for tus); returns the upload's id.
     */
    private static String postMultipart(RawHttpClient http, Server s, long size, String filename, FileChannel body,
                                        long offset) throws IOException {
        String boundary = "sluice-bench-" + Long.toHexString(offset) + "-" + size;
        byte[] prefix = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
                + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8);
        byte[] suffix = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "multipart/form-data; boundary=" + boundary);
        RawHttpClient.Response r = http.send("POST", "/api/v1/uploads", h, prefix, body, offset, size, suffix,
                bodyTimeout(size));
        String id = BenchSupport.jsonString(r.body(), "id");
        if (r.status() != 201 || id == null) {
            throw new IOException(s.name() + ": POST answered " + r.status() + ": " + r.body());
        }
        return id;
    }

    private static void delete(RawHttpClient http, Server s, String path) throws IOException {
        if (s.multipart()) {
            RawHttpClient.Response r = http.send("DELETE", path, Map.of(), null, 0, 0, SHORT_TIMEOUT);
            if (r.status() != 204) {
                throw new IOException(s.name() + ": DELETE " + path + " answered " + r.status() + ": " + r.body());
            }
            return;
        }
        RawHttpClient.Response r = http.send("DELETE", path, tusHeaders(), null, 0, 0, SHORT_TIMEOUT);
        if (r.status() != 204) {
            throw new IOException(s.name() + ": DELETE " + path + " answered " + r.status() + ": " + r.body());
        }
    }

    /** A minute plus 10 MB/s: generous, yet bounded. */
    private static Duration bodyTimeout(long bytes) {
        return SHORT_TIMEOUT.plusMillis(bytes / 10_000);
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Writes the rolling pattern of {@link BenchBytes} to {@code file} (fsync'd); returns its SHA-256. */
    private static String generate(Path file, long size) throws IOException {
        BenchBytes.Body pattern = BenchBytes.Body.pattern(size, 1);
        MessageDigest md = BenchBytes.sha256();
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = 0;
            while (pos < size) {
                ByteBuffer slice = pattern.slice(pos, BenchBytes.CHUNK_SIZE);
                md.update(slice.duplicate());
                pos += slice.remaining();
                while (slice.hasRemaining()) {
                    out.write(slice);
                }
            }
            out.force(true);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256(FileChannel ch, long offset, long length) throws IOException {
        MessageDigest md = BenchBytes.sha256();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
            int n = ch.read(buf, pos);
            if (n < 0) {
                break;
            }
            pos += n;
            md.update(buf.flip());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void fsync(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Flushes other dirty pages first so that each measurement starts from the same state. */
    private static void sync() throws IOException, InterruptedException {
        run("sync");
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).inheritIO().start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within 5 minutes");
        }
    }

    private static double med(double[] values) {
        return median(Arrays.stream(values).filter(v -> !Double.isNaN(v)).toArray());
    }

    private static double medianRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return med(r);
    }

    private static <T> double medianOf(List<T> items, ToDoubleFunction<T> f) {
        return median(items.stream().mapToDouble(f).filter(v -> !Double.isNaN(v)).toArray());
    }
}
