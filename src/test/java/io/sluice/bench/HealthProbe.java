package io.sluice.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /health} every 50 ms from its own process, as a liveness probe would: the load client's JVM is busy
 * with a thousand uploads, and a prober inside it measures its own queueing as much as the server's. Writes one
 * line per probe, {@code <epoch ms> <latency µs> <status>}, until {@code --stop-file} exists or
 * {@code --max-seconds} pass.
 *
 * <pre>java -cp target/bench-classes io.sluice.bench.HealthProbe --url URL --out FILE --stop-file F --max-seconds N</pre>
 */
public final class HealthProbe {

    private static final long INTERVAL_MILLIS = 50;
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private HealthProbe() {
    }

    public static void main(String[] argv) throws Exception {
        BenchSupport.Args args = new BenchSupport.Args(argv);
        URI uri = URI.create(args.require("url"));
        Path out = Path.of(args.require("out"));
        Path stopFile = Path.of(args.require("stop-file"));
        long maxNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(args.get("max-seconds", "1800")));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
        long start = System.nanoTime();
        long next = start;
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out))) {
            while (!Files.exists(stopFile) && System.nanoTime() - start < maxNanos) {
                long t0 = System.nanoTime();
                int status;
                try {
                    status = client.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode();
                } catch (IOException e) {
                    status = -1;
                }
                w.println(System.currentTimeMillis() + " " + (System.nanoTime() - t0) / 1000 + " " + status);
                w.flush();
                next += TimeUnit.MILLISECONDS.toNanos(INTERVAL_MILLIS);
                long sleep = next - System.nanoTime();
                if (sleep > 0) {
                    TimeUnit.NANOSECONDS.sleep(sleep);
                } else {
                    next = System.nanoTime(); // late: do not burst to catch up
                }
            }
        }
    }
}
