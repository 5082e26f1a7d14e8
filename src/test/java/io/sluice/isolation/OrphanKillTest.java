package io.sluice.isolation;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A server killed with SIGKILL in the middle of a job leaves nothing running: the {@code command} program (and the
 * process it started) and an isolated pipeline's child JVM die with it, and the job's retry after the restart never
 * runs beside an earlier copy. Without {@code setpriv} (a PATH without it) the program survives the kill, and the
 * restarted server kills it, by its recorded pid and start time, before anything else runs.
 *
 * <p>Processes are watched through {@code /proc/<pid>/stat} (state and start time), so a zombie or a reused pid never
 * counts as alive.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OrphanKillTest {

    private static final Duration WAIT = Duration.ofSeconds(40);
    /** How soon the program must be gone after its server was killed. */
    private static final Duration GONE_WITHIN = Duration.ofSeconds(5);

    /**
     * The program: records its pid and start time, notes an earlier copy still alive as an overlap, and on its first
     * run starts a grandchild and waits for ever; a later run ends after a second with a JSON result.
     */
    private static final String PROGRAM = """
            d="$1"
            set -- $(cat /proc/$$/stat)
            mine=${22}
            if [ -f "$d/current" ]; then
              read opid ostart < "$d/current"
              if [ -r /proc/$opid/stat ]; then
                set -- $(cat /proc/$opid/stat)
                if [ "${22}" = "$ostart" ] && [ "$3" != Z ]; then echo "overlap $opid" >> "$d/markers"; fi
              fi
            fi
            echo "$$ $mine" > "$d/current"
            echo "start $$" >> "$d/markers"
            if [ "$(grep -c '^start' "$d/markers")" -ge 2 ]; then
              sleep 1
              echo "end $$" >> "$d/markers"
              echo '{"copy": 2}'
              exit 0
            fi
            sleep 300 &
            echo "grandchild $!" >> "$d/markers"
            wait
            """;

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void aCommandProgramDiesWithItsServerAndTheRetryNeverRunsBesideIt() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "needs Linux /proc");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux) for the leash");
        runCommandCrash(Map.of(), true);
    }

    @Test
    void withoutSetprivTheRestartedServerKillsTheLeftoverBeforeTheRetry() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "needs Linux /proc");
        // The same system, minus setpriv: the programs the test needs, and setsid, on the PATH the server sees.
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (String program : List.of("sh", "cat", "grep", "sleep", "setsid", "prlimit")) {
            Path p = Path.of("/usr/bin", program);
            if (Files.isExecutable(p)) {
                Files.createSymbolicLink(bin.resolve(program), p);
            }
        }
        runCommandCrash(Map.of("PATH", bin.toString()), false);
    }

    private void runCommandCrash(Map<String, String> env, boolean leashed) throws Exception {
        Path marks = Files.createDirectories(dir.resolve("marks"));
        Path script = Files.writeString(dir.resolve("program.sh"), PROGRAM);
        Path config = dir.resolve("sluice.yaml");
        // A 2 s lease lets the restarted server take the job back quickly.
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 2s
                  backoffBase: 100ms
                  backoffCap: 200ms
                pipelines:
                  prog:
                    processor: command
                    options: {command: [/bin/sh, "%s", "%s"]}
                    maxAttempts: 3
                """.formatted(script, marks));
        Path data = dir.resolve("data");

        String jobId;
        Proc program;
        Proc grandchild;
        try (ServerProcess first = serve(data, config, env)) {
            jobId = upload(first, "prog");
            Await.until(WAIT, "the program and its grandchild started", () -> markers(marks).stream()
                    .anyMatch(l -> l.startsWith("grandchild ")));
            program = Proc.of(Long.parseLong(Files.readString(marks.resolve("current")).split(" ")[0]));
            grandchild = Proc.of(Long.parseLong(markers(marks).stream().filter(l -> l.startsWith("grandchild "))
                    .findFirst().orElseThrow().substring("grandchild ".length())));
            assertThat(program.alive()).isTrue();
            assertThat(grandchild.alive()).isTrue();
            // Recorded just after it was started (its pid is known only then): the program may be quicker.
            Await.until(WAIT, "the program is recorded", () -> ledger(data).stream()
                    .filter(f -> !f.getFileName().toString().endsWith(".tmp")).count() == 1);

            first.process().destroyForcibly();
            assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        if (leashed) {
            Await.until(GONE_WITHIN, "the program and its grandchild gone with their server",
                    () -> !program.alive() && !grandchild.alive());
        } else {
            // Nothing ties them to the server: they outlive it, until it comes back.
            Thread.sleep(1000);
            assertThat(program.alive()).as("without setpriv the program outlives its server").isTrue();
        }

        try (ServerProcess second = serve(data, config, env)) {
            // Killed at start-up at the latest, before the job's lease (2 s) could even run out.
            assertThat(program.alive()).as("program").isFalse();
            assertThat(grandchild.alive()).as("grandchild").isFalse();
            Await.until(WAIT, "the job succeeded after the restart",
                    () -> job(second, jobId).path("state").asText().equals("succeeded"));
            JsonNode done = job(second, jobId);
            assertThat(done.path("attempt").asInt()).isEqualTo(2);
            assertThat(done.at("/result/copy").asInt()).isEqualTo(2);
            List<String> lines = markers(marks);
            assertThat(lines).filteredOn(l -> l.startsWith("start ")).hasSize(2);
            assertThat(lines).as("the retry found no earlier copy alive").noneMatch(l -> l.startsWith("overlap"));
            Await.until(Duration.ofSeconds(5), "no process record left", () -> ledger(data).isEmpty());
            if (!leashed) {
                assertThat(second.output()).contains("killed what attempt 1 of job " + jobId + " left running");
            }
            second.sigterm();
            assertThat(second.waitFor(Duration.ofSeconds(30))).isZero();
        }
    }

    @Test
    void anIsolatedPipelinesChildJvmDiesWithItsServer() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "needs Linux /proc");
        Path config = dir.resolve("sluice.yaml");
        // 40 rows 100 ms apart in a child JVM: long enough to be killed in the middle.
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 2s
                  backoffBase: 100ms
                  backoffCap: 200ms
                pipelines:
                  slow:
                    processor: test-sleep
                    isolate: true
                    memory: 64MiB
                    options: {lines: 40, delayMillis: 100}
                """);
        Path data = dir.resolve("data");

        String jobId;
        Proc child;
        try (ServerProcess first = serve(data, config, Map.of())) {
            jobId = upload(first, "slow");
            Await.until(WAIT, "job running with progress", () -> {
                JsonNode j = job(first, jobId);
                return j.path("state").asText().equals("running") && j.path("progress").asInt() > 0;
            });
            List<ProcessHandle> jvms = runJobs(jobId);
            assertThat(jvms).as("one child JVM").hasSize(1);
            child = Proc.of(jvms.getFirst().pid());

            first.process().destroyForcibly();
            assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        Await.until(GONE_WITHIN, "the child JVM gone with its server", () -> !child.alive());

        try (ServerProcess second = serve(data, config, Map.of())) {
            List<Long> seen = new ArrayList<>();
            Await.until(WAIT, "the job succeeded after the restart", () -> {
                List<ProcessHandle> jvms = runJobs(jobId);
                assertThat(jvms).as("child JVMs at once").hasSizeLessThanOrEqualTo(1);
                jvms.forEach(h -> seen.add(h.pid()));
                return job(second, jobId).path("state").asText().equals("succeeded");
            });
            assertThat(seen).doesNotContain(child.pid());
            JsonNode done = job(second, jobId);
            assertThat(done.path("attempt").asInt()).isEqualTo(2);
            assertThat(done.at("/result/outputLines").asInt()).isEqualTo(40);
            Await.until(Duration.ofSeconds(5), "no process record left", () -> ledger(data).isEmpty());
            second.sigterm();
            assertThat(second.waitFor(Duration.ofSeconds(30))).isZero();
        }
    }

    /** A process by pid and start time (field 22 of /proc/<pid>/stat), read when first seen. */
    record Proc(long pid, String start) {
        static Proc of(long pid) {
            String[] f = stat(pid);
            return new Proc(pid, f == null ? "gone" : f[19]);
        }

        /** Alive: the same pid with the same start time, and not a zombie. */
        boolean alive() {
            String[] f = stat(pid);
            return f != null && f[19].equals(start) && !f[0].equals("Z") && !f[0].equals("X");
        }

        /** Fields from 3 on (state first), or null when there is no such process. */
        private static String[] stat(long pid) {
            try {
                String line = Files.readString(Path.of("/proc/" + pid + "/stat"));
                return line.substring(line.lastIndexOf(')') + 2).split(" ");
            } catch (IOException e) {
                return null;
            }
        }
    }

    /** Live {@code run-job} JVMs of job {@code jobId} (its spec file is in the attempt's work directory). */
    private static List<ProcessHandle> runJobs(String jobId) throws IOException {
        List<ProcessHandle> found = new ArrayList<>();
        for (ProcessHandle h : ProcessHandle.allProcesses().toList()) {
            String cmdline;
            try {
                // Read whole: Info.commandLine() cuts a long one (the class path) before "run-job".
                cmdline = Files.readString(Path.of("/proc/" + h.pid() + "/cmdline"));
            } catch (IOException e) {
                continue;
            }
            if (h.info().command().map(c -> c.endsWith("java")).orElse(false) && cmdline.contains("run-job")
                    && cmdline.contains(jobId) && Proc.of(h.pid()).alive()) {
                found.add(h);
            }
        }
        return found;
    }

    private static ServerProcess serve(Path data, Path config, Map<String, String> env) throws Exception {
        ServerProcess p = ServerProcess.start(List.of("-Xmx128m"), env, "serve", "--port", "0", "--data",
                data.toString(), "--set", "limits.diskReserve=0", "--config", config.toString());
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    private String upload(ServerProcess p, String pipeline) throws Exception {
        HttpResponse<String> put = send(p, HttpRequest.newBuilder(uri(p, "/api/v1/uploads/k.bin?pipeline=" + pipeline))
                .PUT(HttpRequest.BodyPublishers.ofString("crash me")));
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        return Json.parse(put.body()).at("/uploads/0/job/id").asText();
    }

    private static List<String> markers(Path marks) throws IOException {
        Path f = marks.resolve("markers");
        return Files.exists(f) ? Files.readAllLines(f) : List.of();
    }

    private static List<Path> ledger(Path data) throws IOException {
        Path d = data.resolve("children");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    private JsonNode job(ServerProcess p, String id) throws Exception {
        HttpResponse<String> r = send(p, HttpRequest.newBuilder(uri(p, "/api/v1/jobs/" + id)).GET());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    private HttpResponse<String> send(ServerProcess p, HttpRequest.Builder b) throws Exception {
        return http.send(b.timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static URI uri(ServerProcess p, String path) {
        return URI.create("http://127.0.0.1:" + p.port() + path);
    }
}
