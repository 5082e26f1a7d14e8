package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.Json;
import io.sluice.config.Units;
import io.sluice.isolation.ChildProcess;
import io.sluice.isolation.ChildProtocol;
import io.sluice.isolation.RunSpec;
import io.sluice.isolation.TailBuffer;
import io.sluice.processors.ProcessorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs one attempt of an isolated pipeline in a child JVM: {@code java -Xmx<memory> -XX:+ExitOnOutOfMemoryError
 * -cp <this classpath> io.sluice.Main run-job --spec <file>} (see {@link ChildProtocol}). The child's progress
 * lines go to {@link JobContext#progress}; {@link JobContext#checkpoint} is called at least every
 * {@value #POLL_MILLIS} ms, and when it throws (cancel, lease lost, stop) or the handler's thread is interrupted the
 * child is killed. The last {@value #STDERR_TAIL} bytes of its stderr go to the log.
 *
 * <p>Outcomes, as {@link JobFailedException} codes:
 * <ul>
 *   <li>the child's failure line: its code, message and retryability;</li>
 *   <li>{@code out_of_memory}, not retryable: exit code 3, or "OutOfMemoryError" on stderr. The child's heap is
 *       fixed by the pipeline's {@code memory}, so the same file would run out again (unlike in-process, where
 *       other jobs may have been the cause); raise {@code memory} and retry the job by hand;</li>
 *   <li>{@code timeout}, not retryable: the job's time limit passed (the child is killed; the pool usually
 *       records this first);</li>
 *   <li>{@code processor_crashed}, retryable: any other end without a final line (a signal, a native crash, the
 *       kernel's OOM killer); the next attempt may be luckier, and {@code maxAttempts} bounds the cost.</li>
 * </ul>
 * Thread-safe; holds no per-job state.
 */
public final class IsolatedRunner {

    private static final Logger log = LoggerFactory.getLogger(IsolatedRunner.class);

    static final int POLL_MILLIS = 100;
    static final int STDERR_TAIL = 8 * 1024;
    private static final String EOF = "\u0000eof";

    private final String java;
    private final String classPath;

    /** @param java the java binary; @param classPath what the child gets as {@code -cp} */
    public IsolatedRunner(String java, String classPath) {
        this.java = java;
        this.classPath = classPath;
    }

    /** A runner for a child on this JVM's binary and class path (made absolute: the child may start elsewhere). */
    public static IsolatedRunner forThisJvm() {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isEmpty()) {
                entries.add(Path.of(e).toAbsolutePath().toString());
            }
        }
        return new IsolatedRunner(java, String.join(File.pathSeparator, entries));
    }

    /** What a child that succeeded reported. */
    public record Outcome(Map<String, Object> summary, long outputLines) {
    }

    /**
     * Runs {@code spec} in a child with a heap of {@code memory} bytes; the child writes {@code spec.output()}.
     *
     * @throws JobFailedException  for every failure of the child (see the class comment)
     * @throws CancelledException  from the context's checkpoint (the child is killed first)
     * @throws InterruptedException when the pool interrupts the handler (the child is killed first)
     */
    public Outcome run(JobContext context, RunSpec spec, long memory, Duration timeout,
                       ProcessorContext.Launcher launcher) throws IOException, InterruptedException {
        Job job = context.job();
        Path specFile = Path.of(spec.workDir()).resolve("run-job.json");
        Files.createDirectories(specFile.getParent());
        Json.mapper().writeValue(specFile.toFile(), spec);
        List<String> command = List.of(java, "-Xmx" + Math.max(1, memory / 1024) + "k",
                "-XX:+ExitOnOutOfMemoryError", "-XX:+UseSerialGC",
                // The VM's own messages ("Terminating due to java.lang.OutOfMemoryError", a crash summary) go to
                // stdout by default, which is the protocol's; the crash report would land in the server's cwd.
                "-XX:+DisplayVMOutputToStderr", "-XX:ErrorFile=" + Path.of(spec.workDir(), "hs_err_pid%p.log"),
                "-Djava.io.tmpdir=" + spec.workDir(),
                "-cp", classPath, "io.sluice.Main", "run-job", "--spec", specFile.toString());
        long startedAt = System.nanoTime();
        // Started through the launcher: the child JVM dies with the server and is recorded (ChildProcesses).
        ChildProcess started = launcher.start(new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(nullDevice())));
        try (started) {
            return run(context, job, started, spec, memory, timeout, startedAt);
        }
    }

    private Outcome run(JobContext context, Job job, ChildProcess started, RunSpec spec, long memory,
                        Duration timeout, long startedAt) throws IOException, InterruptedException {
        Process child = started.process();
        TailBuffer stderr = new TailBuffer(STDERR_TAIL);
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(256);
        Thread errPump = Thread.ofVirtual().name("sluice-job-stderr-" + job.id())
                .start(() -> stderr.drain(child.getErrorStream()));
        Thread outPump = Thread.ofVirtual().name("sluice-job-stdout-" + job.id()).start(() -> pump(child, lines));
        JsonNode last = null;
        try {
            while (true) {
                String line = lines.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                context.checkpoint();
                if (System.nanoTime() - startedAt >= timeout.toNanos()) {
                    started.kill();
                    throw new JobFailedException("timeout", "the processor ran longer than its time limit of "
                            + timeout, false);
                }
                if (line == null) {
                    continue;
                }
                if (line.equals(EOF)) {
                    break;
                }
                JsonNode msg = parse(line);
                if (msg == null) {
                    log.warn("job {}: ignoring a line the child should not have printed: {}", job.id(),
                            line.length() > 200 ? line.substring(0, 200) + "..." : line);
                } else if (ChildProtocol.PROGRESS.equals(msg.path("type").asText())) {
                    context.progress(msg.path("percent").asInt(), msg.path("stage").isNull() ? null
                                    : msg.path("stage").asText(null),
                            msg.path("etaSeconds").isNumber() ? msg.path("etaSeconds").asLong() : null);
                } else {
                    last = msg;
                }
            }
            // Stdout is closed: the child is ending. A child that closes stdout and lingers is killed.
            if (!child.waitFor(5, TimeUnit.SECONDS)) {
                started.kill();
            }
            int exit = child.waitFor();
            errPump.join(Duration.ofSeconds(2));
            return outcome(job, exit, last, stderr, memory);
        } finally {
            if (child.isAlive()) {
                started.kill();
            }
            outPump.interrupt();
        }
    }

    private Outcome outcome(Job job, int exit, JsonNode last, TailBuffer stderr, long memory) {
        String type = last == null ? "" : last.path("type").asText();
        if (exit == ChildProtocol.EXIT_OK && ChildProtocol.RESULT.equals(type)) {
            if (stderr.written() > 0) {
                log.debug("job {} attempt {}: child stderr:\n{}", job.id(), job.attempt(), stderr.text());
            }
            Map<String, Object> summary = new LinkedHashMap<>();
            last.path("summary").properties().forEach(e -> summary.put(e.getKey(),
                    Json.mapper().convertValue(e.getValue(), Object.class)));
            return new Outcome(summary, last.path("outputLines").asLong());
        }
        if (stderr.written() > 0) {
            log.warn("job {} attempt {}: child exited with {}; its stderr (last {} bytes):\n{}", job.id(),
                    job.attempt(), exit, STDERR_TAIL, stderr.text());
        }
        if (ChildProtocol.FAILURE.equals(type)) {
            throw new JobFailedException(last.path("code").asText("processor_error"),
                    last.path("message").asText(""), last.path("retryable").asBoolean(false));
        }
        if (exit == ChildProtocol.EXIT_OUT_OF_MEMORY || stderr.text().contains("OutOfMemoryError")) {
            throw new JobFailedException("out_of_memory", "the processor ran out of memory in its child JVM (-Xmx "
                    + Units.formatSize(memory) + "); raise the pipeline's memory to process this "
                    + "file", false);
        }
        String tail = stderr.lastLines(3);
        throw new JobFailedException("processor_crashed", "the processor's child JVM ended with exit code " + exit
                + " and no result" + (tail.isEmpty() ? "" : ": " + tail), true);
    }

    private static void pump(Process child, BlockingQueue<String> lines) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                lines.put(line);
            }
        } catch (IOException | InterruptedException ignored) {
            // Killed child or abandoned run: the handler decides from the exit code.
        } finally {
            // The handler drains the queue until it sees the end; once it stopped reading it interrupts this thread.
            try {
                lines.put(EOF);
            } catch (InterruptedException ignored) {
                // Nobody is reading any more.
            }
        }
    }

    private static JsonNode parse(String line) {
        try {
            JsonNode n = Json.mapper().readTree(line);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static File nullDevice() {
        return new File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }
}
