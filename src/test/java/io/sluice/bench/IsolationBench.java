package io.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What process isolation costs per job: the same {@code noop} pipeline run in the worker's JVM and in a child JVM
 * ({@code isolate: true}), one job at a time, {@code --jobs} of each after {@code --warmup} unmeasured ones. A
 * job's time is its {@code finishedAt - startedAt} as the jobs API reports it (millisecond precision), so upload
 * and polling are not counted; the median of each and their difference are printed.
 *
 * <p>Not a test (its name ends in Bench). Run with the test class path:
 * {@code mvn -o -q dependency:build-classpath -Dmdep.outputFile=cp.txt && mvn -o -q test-compile &&
 * java -cp target/classes:target/test-classes:$(cat cp.txt) io.sluice.bench.IsolationBench [--jobs 20]
 * [--warmup 3]}.
 */
public final class IsolationBench {

    private IsolationBench() {
    }

    public static void main(String[] args) throws Exception {
        int jobs = 20;
        int warmup = 3;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--jobs" -> jobs = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("sluice-isolation-bench");
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 10ms
                pipelines:
                  here: {processor: noop}
                  child: {processor: noop, isolate: true}
                """);
        try (TestServer server = TestServer.start(dir.resolve("data"), config)) {
            List<Long> here = run(server, "here", warmup, jobs);
            List<Long> child = run(server, "child", warmup, jobs);
            long h = median(here);
            long c = median(child);
            System.out.printf("noop in-process: median %d ms (min %d, max %d) over %d jobs%n", h,
                    Collections.min(here), Collections.max(here), jobs);
            System.out.printf("noop isolated:   median %d ms (min %d, max %d) over %d jobs%n", c,
                    Collections.min(child), Collections.max(child), jobs);
            System.out.printf("isolation overhead per job: %d ms (median difference)%n", c - h);
        }
    }

    private static List<Long> run(TestServer server, String pipeline, int warmup, int jobs) throws Exception {
        List<Long> millis = new ArrayList<>();
        for (int i = 0; i < warmup + jobs; i++) {
            var r = server.put("/api/v1/uploads/b" + i + ".bin?pipeline=" + pipeline,
                    ("job " + i).getBytes(StandardCharsets.UTF_8));
            if (r.statusCode() != 201) {
                throw new IllegalStateException("upload refused: " + r.body());
            }
            String id = Json.parse(r.body()).path("uploads").get(0).at("/job/id").asText();
            JsonNode job;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                job = Json.parse(server.get("/api/v1/jobs/" + id).body());
                String state = job.path("state").asText();
                if (state.equals("succeeded")) {
                    break;
                }
                if (state.equals("failed") || state.equals("cancelled") || System.nanoTime() > deadline) {
                    throw new IllegalStateException("job did not succeed: " + job);
                }
                Thread.sleep(5);
            }
            if (i >= warmup) {
                millis.add(Duration.between(Instant.parse(job.path("startedAt").asText()),
                        Instant.parse(job.path("finishedAt").asText())).toMillis());
            }
        }
        return millis;
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
