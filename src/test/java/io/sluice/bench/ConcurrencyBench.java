package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;
import static io.sluice.bench.BenchSupport.percentile;

/**
 * Many concurrent uploads against a small heap: {@code N} virtual threads each PUT one generated file (rolling
 * pattern, distinct per upload) with {@code Expect: 100-continue}, so a refused request costs no body bytes; on 503
 * or 429 they wait {@code Retry-After} plus a little jitter and try again, until every upload succeeded or the time
 * cap passed. Meanwhile one prober times {@code GET /health} on the main port every 50 ms and another samples
 * {@code /health/detailed} on the admin port every 200 ms for heap use.
 *
 * <p>Not a test: run by {@code bench/run concurrency} against a server it started with {@code -Xmx128m} and a GC
 * log. Arguments: {@code --url URL --admin-url URL [--uploads 1000] [--size 10MiB] [--max-minutes 15]
 * [--verify 20] [--expect-continue true] [--gc-log FILE] [--server-log FILE]... [--summary FILE]}; the first
 * server log is also read for the server's own {@code /health} timings (its access log).
 */
public final class ConcurrencyBench {

    private static final long PROBE_INTERVAL_MILLIS = 50;
    private static final long SAMPLE_INTERVAL_MILLIS = 200;
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    /**
     * One attempt (connect, wait for 100-continue, send the body, wait for fsync) may take this long at most. Generous
     * for 10 MiB; it bounds the attempts that java.net.http loses track of (see docs/benchmarks.md).
     */
    private static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(60);
    private static final long MAX_JITTER_MILLIS = 500;
    /** Network errors are retried too, but only this many times per upload (a refusal is not an error). */
    private static final int MAX_ERRORS_PER_UPLOAD = 5;
    /** Uploads whose downloaded content is hashed again (out of the sample whose reported SHA-256 is checked). */
    private static final int DOWNLOAD_CHECKS = 5;

    private final URI base;
    private final URI admin;
    private final HttpClient uploads;
    private final boolean expectContinue;

    private ConcurrencyBench(URI base, URI admin, boolean expectContinue) {
        this.base = base;
        this.admin = admin;
        this.expectContinue = expectContinue;
        this.uploads = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(30))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    /** The outcome of one upload after all its attempts. */
    private record Outcome(int n, String id, long size, String sha256, int attempts, long lastAttemptNanos,
                           String failure) {
        boolean ok() {
            return id != null;
        }
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        ConcurrencyBench bench = new ConcurrencyBench(URI.create(args.require("url")),
                URI.create(args.require("admin-url")), Boolean.parseBoolean(args.get("expect-continue", "true")));
        int count = args.integer("uploads", 1000);
        long size = args.size("size", 10L << 20);
        int maxMinutes = args.integer("max-minutes", 15);
        int verify = args.integer("verify", 20);
        if (count < 1 || count > 100_000 || size < 1 || maxMinutes < 1 || maxMinutes > 120) {
            throw new IllegalArgumentException("--uploads 1..100000, --size >= 1 byte, --max-minutes 1..120");
        }
        String gcLog = args.get("gc-log", null);
        List<String> serverLogs = args.all("server-log");
        Report report = new Report(args.get("summary", null));
        bench.externalProbe = args.get("external-probe", null);
        int exit = bench.run(count, size, Duration.ofMinutes(maxMinutes), verify, gcLog, serverLogs, report);
        System.exit(exit);
    }

    private final LongAdder refused503 = new LongAdder();
    private final LongAdder refused429 = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final Map<String, AtomicInteger> errorKinds = new ConcurrentHashMap<>();
    private final Map<String, String> firstErrors = new ConcurrentHashMap<>();
    private final AtomicInteger inProgress = new AtomicInteger();
    /** Output of a {@link HealthProbe} process started beside this one, or null. */
    private String externalProbe;
    private int externalProbeFailures;
    private long windowStartMillis;

    private int run(int count, long size, Duration cap, int verify, String gcLog, List<String> serverLogs,
                    Report report) throws Exception {
        log("concurrency: " + count + " uploads of " + formatBytes(size) + " at once, time cap " + cap.toMinutes()
                + " min, load " + BenchSupport.loadAverage());
        AtomicBoolean stop = new AtomicBoolean();
        HealthProber prober = new HealthProber(base.resolve("/health"), stop);
        MemorySampler sampler = new MemorySampler(admin.resolve("/health/detailed"), stop);
        Thread proberThread = Thread.ofPlatform().name("bench-health-prober").daemon().start(prober);
        Thread samplerThread = Thread.ofPlatform().name("bench-memory-sampler").daemon().start(sampler);
        Thread.sleep(1000); // a second of idle warm-up for both probers (their first requests are cold)

        long deadline = System.nanoTime() + cap.toNanos();
        Outcome[] outcomes = new Outcome[count];
        CountDownLatch go = new CountDownLatch(1);
        Thread progress = Thread.ofPlatform().daemon().start(() -> progress(outcomes, sampler, stop));
        long t0;
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                int n = i;
                exec.submit(() -> {
                    try {
                        go.await();
                        outcomes[n] = uploadWithRetries(n, BenchBytes.Body.pattern(size, n), deadline);
                    } catch (InterruptedException | RuntimeException e) {
                        outcomes[n] = new Outcome(n, null, -1, null, 0, 0, "client error: " + e);
                    }
                    return null;
                });
            }
            t0 = System.nanoTime();
            windowStartMillis = System.currentTimeMillis();
            prober.recording = true;
            go.countDown();
        } // waits for every upload
        long lastSuccess = 0;
        for (Outcome o : outcomes) {
            if (o.ok()) {
                lastSuccess = Math.max(lastSuccess, o.lastAttemptNanos);
            }
        }
        long wall = System.nanoTime() - t0;
        long windowEndMillis = System.currentTimeMillis();
        Thread.sleep(1000); // the server's state after the burst, for the probers
        stop.set(true);
        proberThread.join(PROBE_TIMEOUT.toMillis() * 2);
        samplerThread.join(PROBE_TIMEOUT.toMillis() * 2);
        progress.interrupt();

        List<Outcome> ok = new ArrayList<>();
        Map<String, Integer> failures = new TreeMap<>();
        for (Outcome o : outcomes) {
            if (o.ok()) {
                ok.add(o);
            } else {
                failures.merge(o.failure, 1, Integer::sum);
            }
        }
        long bytes = ok.stream().mapToLong(Outcome::size).sum();
        long wrongSize = ok.stream().filter(o -> o.size != size).count();
        long uploadsWall = lastSuccess > 0 ? lastSuccess - t0 : wall;

        log("verifying SHA-256 of a sample ...");
        Verification v = verify(ok, size, verify);
        log("deleting " + ok.size() + " upload(s) ...");
        int deleteFailures = deleteAll(ok);
        boolean aliveAfter = prober.probeOnce() == 200;

        GcPeaks gc = gcLog == null ? null : GcPeaks.parse(Path.of(gcLog));
        List<String> oomHits = new ArrayList<>();
        for (String l : serverLogs) {
            oomHits.addAll(grep(Path.of(l), "OutOfMemoryError"));
        }

        long[] lat = prober.latenciesMicros();
        long[] serverSide = serverLogs.isEmpty() ? new long[0] : healthTimesFromAccessLog(Path.of(serverLogs.getFirst()));
        report.line("");
        report.line("### concurrency: " + count + " concurrent uploads of " + formatBytes(size)
                + " (server -Xmx128m, retries on 503/429)");
        report.line("");
        report.line("| metric | value | target |");
        report.line("|--------|-------|--------|");
        report.line("| uploads succeeded | " + ok.size() + " / " + count + " | all |");
        report.line("| answers 503 (retried) | " + refused503.sum() + " | |");
        report.line("| answers 429 (retried) | " + refused429.sum() + " | |");
        report.line("| other failures (network errors, unexpected statuses) | " + errors.sum()
                + (errorKinds.isEmpty() ? "" : " " + errorKinds) + " | 0 |");
        if (!failures.isEmpty()) {
            report.line("| uploads given up | " + failures + " | none |");
        }
        report.line("| wrong stored size | " + wrongSize + " | 0 |");
        report.line("| wall time (start to last 201) | " + fmt(uploadsWall / 1e9) + " s | |");
        report.line("| aggregate throughput | " + fmt(BenchSupport.mbPerSecond(bytes, uploadsWall)) + " MB/s | |");
        report.line("| peak concurrent uploads admitted (sampled) | " + sampler.peakActive + " | |");
        report.line("| peak heapUsed (/health/detailed, every 200 ms) | " + formatBytes(sampler.peakHeapUsed)
                + " of " + formatBytes(sampler.heapMax) + " (" + sampler.samples + " samples) | |");
        report.line("| peak heapUsedAfterGc (/health/detailed) | " + formatBytes(sampler.peakHeapAfterGc) + " | |");
        if (gc != null) {
            report.line("| peak heap after GC (gc.log) | " + formatBytes(gc.peakAfter) + " of "
                    + formatBytes(gc.committedAtPeak) + " committed (" + gc.collections + " collections, peak before "
                    + formatBytes(gc.peakBefore) + ") | |");
        }
        report.line("| peak direct memory (/health/detailed) | " + formatBytes(sampler.peakDirect) + " | |");
        report.line("| peak RSS (/health/detailed) | " + formatBytes(sampler.peakRss) + " | |");
        report.line("| /health from the load client's JVM p50 / p99 / max | " + ms(percentile(lat, 50)) + " / " + ms(percentile(lat, 99)) + " / "
                + ms(lat.length == 0 ? -1 : lat[lat.length - 1]) + " ms (" + lat.length + " probes, "
                + prober.failures.get() + " not 200) | |");
        if (externalProbe != null) {
            long[] ext = externalProbeLatencies(Path.of(externalProbe), windowStartMillis, windowEndMillis);
            report.line("| /health from a separate prober process p50 / p99 / max | " + ms(percentile(ext, 50)) + " / "
                    + ms(percentile(ext, 99)) + " / " + ms(ext.length == 0 ? -1 : ext[ext.length - 1]) + " ms ("
                    + ext.length + " probes during the uploads, " + externalProbeFailures + " not 200) | p99 < 50 ms |");
        }
        if (serverSide.length > 0) {
            report.line("| /health inside the server (access log) p50 / p99 / max | " + serverSide[serverSide.length / 2]
                    + " / " + percentile(serverSide, 99) + " / " + serverSide[serverSide.length - 1] + " ms ("
                    + serverSide.length + " requests, whole run) | |");
        }
        report.line("| SHA-256 verified | " + v.matched + " / " + v.checked + " reported match, " + v.downloadsMatched
                + " / " + v.downloads + " downloads re-hashed match | all |");
        report.line("| OutOfMemoryError in server log | " + (oomHits.isEmpty() ? "no" : "YES: " + oomHits.getFirst())
                + " | no |");
        report.line("| server alive afterwards | " + (aliveAfter ? "yes" : "NO") + " | yes |");
        report.line("| uploads deleted afterwards | " + (ok.size() - deleteFailures) + " / " + ok.size() + " | all |");
        report.line("| load average at end (1/5/15 min) | " + BenchSupport.loadAverage() + " | |");

        // The target is judged on the separate prober process when there is one (a probe is not part of the load).
        long[] judged = externalProbe != null
                ? externalProbeLatencies(Path.of(externalProbe), windowStartMillis, windowEndMillis) : lat;
        boolean met = ok.size() == count && percentile(judged, 99) < 50_000 && oomHits.isEmpty()
                && v.matched == v.checked && v.downloadsMatched == v.downloads && wrongSize == 0;
        for (Map.Entry<String, String> e : new TreeMap<>(firstErrors).entrySet()) {
            String detail = e.getValue().length() > 300 ? e.getValue().substring(0, 300) + "..." : e.getValue();
            report.line("");
            report.line("first " + e.getKey() + ": " + detail.replace('\n', ' '));
        }
        report.line("");
        report.line("targets (all uploads, /health p99 < 50 ms, no OutOfMemoryError, hashes match): "
                + (met ? "MET" : "MISSED"));
        return ok.size() == count ? 0 : 1;
    }

    private Outcome uploadWithRetries(int n, BenchBytes.Body body, long deadline) {
        HttpRequest request = HttpRequest.newBuilder(base.resolve("/api/v1/uploads/bench-" + n + ".bin"))
                .timeout(ATTEMPT_TIMEOUT)
                .expectContinue(expectContinue)
                .header("Content-Type", "application/octet-stream")
                .PUT(body.publisher())
                .build();
        int attempts = 0;
        int myErrors = 0;
        String lastFailure = "time cap reached";
        while (System.nanoTime() < deadline) {
            attempts++;
            long wait;
            try {
                inProgress.incrementAndGet();
                HttpResponse<String> resp;
                try {
                    resp = uploads.send(request, HttpResponse.BodyHandlers.ofString());
                } finally {
                    inProgress.decrementAndGet();
                }
                int status = resp.statusCode();
                if (status == 201) {
                    String json = resp.body();
                    return new Outcome(n, BenchSupport.jsonString(json, "id"), BenchSupport.jsonLong(json, "size"),
                            BenchSupport.jsonString(json, "sha256"), attempts, System.nanoTime(), null);
                }
                if (status == 503 || status == 429) {
                    (status == 503 ? refused503 : refused429).increment();
                    wait = retryAfterMillis(resp) + ThreadLocalRandom.current().nextLong(MAX_JITTER_MILLIS + 1);
                } else {
                    lastFailure = "HTTP " + status;
                    error(lastFailure, "upload " + n + ", attempt " + attempts + ": " + resp.body());
                    myErrors++;
                    wait = 1000;
                }
            } catch (IOException e) {
                lastFailure = e.getClass().getSimpleName();
                error(lastFailure, "upload " + n + ", attempt " + attempts + ": " + e.getMessage());
                myErrors++;
                wait = 1000;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Outcome(n, null, -1, null, attempts, 0, "interrupted");
            }
            if (myErrors >= MAX_ERRORS_PER_UPLOAD) {
                return new Outcome(n, null, -1, null, attempts, 0, lastFailure + " (" + myErrors + " errors)");
            }
            long sleep = Math.min(wait, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            if (sleep > 0) {
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Outcome(n, null, -1, null, attempts, 0, "interrupted");
                }
            }
        }
        return new Outcome(n, null, -1, null, attempts, 0, lastFailure);
    }

    private void error(String kind, String detail) {
        errors.increment();
        errorKinds.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
        if (firstErrors.putIfAbsent(kind, detail) == null) {
            log("first " + kind + " (" + detail + ")");
        }
    }

    private static long retryAfterMillis(HttpResponse<?> resp) {
        String v = resp.headers().firstValue("Retry-After").orElse(null);
        if (v != null) {
            try {
                return Math.max(0, Long.parseLong(v.strip())) * 1000;
            } catch (NumberFormatException ignored) {
                // an HTTP date: not something Sluice sends; fall back below
            }
        }
        return 1000;
    }

    private void progress(Outcome[] outcomes, MemorySampler sampler, AtomicBoolean stop) {
        long start = System.nanoTime();
        while (!stop.get()) {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                return;
            }
            int done = 0;
            for (Outcome o : outcomes) {
                if (o != null) {
                    done++;
                }
            }
            log(String.format("%4.0f s: %d done, %d sending or waiting for an answer, 503=%d 429=%d errors=%d, "
                            + "heapUsed %s, load %s", (System.nanoTime() - start) / 1e9, done, inProgress.get(),
                    refused503.sum(), refused429.sum(), errors.sum(), formatBytes(sampler.lastHeapUsed),
                    BenchSupport.loadAverage()));
        }
    }

    private record Verification(int checked, int matched, int downloads, int downloadsMatched) {
    }

    /** Checks the SHA-256 the server reported for a spread-out sample, and re-hashes a few downloads. */
    private Verification verify(List<Outcome> ok, long size, int sample) throws InterruptedException {
        if (ok.isEmpty() || sample <= 0) {
            return new Verification(0, 0, 0, 0);
        }
        int step = Math.max(1, ok.size() / sample);
        int checked = 0;
        int matched = 0;
        int downloads = 0;
        int downloadsMatched = 0;
        for (int i = 0; i < ok.size() && checked < sample; i += step) {
            Outcome o = ok.get(i);
            String expected = BenchBytes.Body.pattern(size, o.n).sha256Hex();
            checked++;
            if (expected.equals(o.sha256)) {
                matched++;
            } else {
                log("upload " + o.n + " (" + o.id + "): server reported sha256 " + o.sha256 + ", sent " + expected);
            }
            if (downloads < DOWNLOAD_CHECKS) {
                downloads++;
                try {
                    HttpResponse<InputStream> resp = uploads.send(
                            HttpRequest.newBuilder(base.resolve("/api/v1/uploads/" + o.id + "/content"))
                                    .timeout(ATTEMPT_TIMEOUT).build(),
                            HttpResponse.BodyHandlers.ofInputStream());
                    MessageDigest md = BenchBytes.sha256();
                    try (InputStream in = resp.body()) {
                        byte[] buf = new byte[64 * 1024];
                        int r;
                        while ((r = in.read(buf)) >= 0) {
                            md.update(buf, 0, r);
                        }
                    }
                    String got = HexFormat.of().formatHex(md.digest());
                    if (resp.statusCode() == 200 && got.equals(expected)) {
                        downloadsMatched++;
                    } else {
                        log("upload " + o.n + " (" + o.id + "): download " + resp.statusCode() + " sha256 " + got
                                + ", sent " + expected);
                    }
                } catch (IOException e) {
                    log("upload " + o.n + " (" + o.id + "): download failed: " + e);
                }
            }
        }
        return new Verification(checked, matched, downloads, downloadsMatched);
    }

    /** Deletes every successful upload, 16 at a time; returns how many could not be deleted. */
    private int deleteAll(List<Outcome> ok) throws InterruptedException {
        AtomicInteger failed = new AtomicInteger();
        Semaphore permits = new Semaphore(16);
        try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Outcome o : ok) {
                permits.acquire();
                exec.submit(() -> {
                    try {
                        HttpResponse<String> r = uploads.send(
                                HttpRequest.newBuilder(base.resolve("/api/v1/uploads/" + o.id))
                                        .timeout(Duration.ofMinutes(1)).DELETE().build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 204 && r.statusCode() != 200) {
                            failed.incrementAndGet();
                        }
                    } catch (IOException | InterruptedException e) {
                        failed.incrementAndGet();
                    } finally {
                        permits.release();
                    }
                    return null;
                });
            }
        }
        return failed.get();
    }

    private static List<String> grep(Path file, String needle) {
        List<String> hits = new ArrayList<>();
        if (!Files.isRegularFile(file)) {
            return hits;
        }
        try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
            lines.filter(l -> l.contains(needle)).limit(5).forEach(l -> hits.add(file.getFileName() + ": " + l));
        } catch (IOException | java.io.UncheckedIOException e) {
            hits.add(file + ": unreadable (" + e + ")");
        }
        return hits;
    }

    private static final Pattern HEALTH_ACCESS = Pattern.compile(" GET /health 200 .* (\\d+)ms client=");

    /**
     * Milliseconds the server itself reports for each {@code GET /health} in its access log: from the moment the
     * handler chain saw the request to the response's completion. The difference with the prober's latency is
     * connection handling, dispatch to a thread, and the client side.
     */
    private static long[] healthTimesFromAccessLog(Path log) {
        if (!Files.isRegularFile(log)) {
            return new long[0];
        }
        try (var lines = Files.lines(log, StandardCharsets.UTF_8)) {
            return lines.map(HEALTH_ACCESS::matcher).filter(Matcher::find).mapToLong(m -> Long.parseLong(m.group(1)))
                    .sorted().toArray();
        } catch (IOException | java.io.UncheckedIOException e) {
            return new long[0];
        }
    }

    /** Latencies (µs, sorted) that the {@link HealthProbe} process recorded between the two instants. */
    private long[] externalProbeLatencies(Path file, long fromMillis, long toMillis) throws IOException {
        List<Long> out = new ArrayList<>();
        externalProbeFailures = 0;
        for (String line : Files.readAllLines(file)) {
            String[] f = line.trim().split(" ");
            if (f.length == 3 && Long.parseLong(f[0]) >= fromMillis && Long.parseLong(f[0]) <= toMillis) {
                out.add(Long.parseLong(f[1]));
                if (!f[2].equals("200")) {
                    externalProbeFailures++;
                }
            }
        }
        return out.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    private static String ms(long micros) {
        return micros < 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f", micros / 1000.0);
    }

    /** GETs /health at a fixed rate on its own client (its own connection) and records each latency. */
    private static final class HealthProber implements Runnable {
        private final URI uri;
        private final AtomicBoolean stop;
        private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(PROBE_TIMEOUT).build();
        private final List<Long> latencies = new ArrayList<>();
        final AtomicInteger failures = new AtomicInteger();
        /** Off during the warm-up second before the uploads start. */
        volatile boolean recording;

        HealthProber(URI uri, AtomicBoolean stop) {
            this.uri = uri;
            this.stop = stop;
        }

        @Override
        public void run() {
            long next = System.nanoTime();
            while (!stop.get()) {
                long t0 = System.nanoTime();
                int status = probeOnce();
                long micros = (System.nanoTime() - t0) / 1000;
                if (recording) {
                    synchronized (latencies) {
                        latencies.add(micros);
                    }
                    if (status != 200) {
                        failures.incrementAndGet();
                    }
                }
                next += TimeUnit.MILLISECONDS.toNanos(PROBE_INTERVAL_MILLIS);
                long sleep = next - System.nanoTime();
                if (sleep > 0) {
                    try {
                        TimeUnit.NANOSECONDS.sleep(sleep);
                    } catch (InterruptedException e) {
                        return;
                    }
                } else {
                    next = System.nanoTime(); // late: do not burst to catch up
                }
            }
        }

        int probeOnce() {
            try {
                return client.send(HttpRequest.newBuilder(uri).timeout(PROBE_TIMEOUT).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException e) {
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        long[] latenciesMicros() {
            synchronized (latencies) {
                return latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            }
        }
    }

    /** Samples /health/detailed on the admin port and keeps the peaks. */
    private static final class MemorySampler implements Runnable {
        private final URI uri;
        private final AtomicBoolean stop;
        private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(PROBE_TIMEOUT).build();
        volatile long peakHeapUsed = -1;
        volatile long lastHeapUsed = -1;
        volatile long peakHeapAfterGc = -1;
        volatile long peakDirect = -1;
        volatile long peakRss = -1;
        volatile long heapMax = -1;
        volatile long peakActive = -1;
        volatile int samples;

        MemorySampler(URI uri, AtomicBoolean stop) {
            this.uri = uri;
            this.stop = stop;
        }

        @Override
        public void run() {
            while (!stop.get()) {
                try {
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(PROBE_TIMEOUT).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        String j = r.body();
                        lastHeapUsed = BenchSupport.jsonLong(j, "heapUsed");
                        peakHeapUsed = Math.max(peakHeapUsed, lastHeapUsed);
                        peakHeapAfterGc = Math.max(peakHeapAfterGc, BenchSupport.jsonLong(j, "heapUsedAfterGc"));
                        peakDirect = Math.max(peakDirect, BenchSupport.jsonLong(j, "directUsed"));
                        peakRss = Math.max(peakRss, BenchSupport.jsonLong(j, "rss"));
                        peakActive = Math.max(peakActive, BenchSupport.jsonLong(j, "active"));
                        heapMax = BenchSupport.jsonLong(j, "heapMax");
                        samples++;
                    }
                } catch (IOException e) {
                    // a missed sample; the next one comes in 200 ms
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    Thread.sleep(SAMPLE_INTERVAL_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** Peak heap after GC from a unified-logging GC log ({@code -Xlog:gc*:file=...}). */
    record GcPeaks(long peakAfter, long peakBefore, long committedAtPeak, int collections) {
        /** e.g. {@code [2.345s][info][gc] GC(7) Pause Young (Normal) (G1 Evacuation Pause) 60M->12M(128M) 3.1ms} */
        private static final Pattern LINE = Pattern.compile(
                "\\[gc\\s*\\]\\s+GC\\(\\d+\\)\\s.*?(\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\)");

        static GcPeaks parse(Path log) throws IOException {
            long after = -1;
            long before = -1;
            long committed = -1;
            int n = 0;
            if (!Files.isRegularFile(log)) {
                return new GcPeaks(-1, -1, -1, 0);
            }
            for (String line : Files.readAllLines(log)) {
                Matcher m = LINE.matcher(line);
                if (!m.find()) {
                    continue;
                }
                n++;
                long b = bytes(m.group(1), m.group(2));
                long a = bytes(m.group(3), m.group(4));
                before = Math.max(before, b);
                if (a > after) {
                    after = a;
                    committed = bytes(m.group(5), m.group(6));
                }
            }
            return new GcPeaks(after, before, committed, n);
        }

        private static long bytes(String n, String unit) {
            long v = Long.parseLong(n);
            return switch (unit) {
                case "K" -> v << 10;
                case "M" -> v << 20;
                default -> v << 30;
            };
        }
    }
}
