package io.sluice.testing;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs the Node scripts of {@code src/test/node} (real JavaScript clients such as tus-js-client) as child
 * processes. The packages they import are installed by {@code scripts/test-deps} into
 * {@code src/test/node/node_modules}; a test that cannot have node or a package is skipped, loudly.
 */
public final class NodeScript {

    /** Surefire runs in the Maven base directory. */
    public static final Path DIR = Path.of("src", "test", "node").toAbsolutePath();
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(20);

    private NodeScript() {
    }

    /**
     * Skips the calling test (JUnit {@link Assumptions}) with a banner on stderr unless {@code node} runs and every
     * package is installed in {@code src/test/node/node_modules}. Call it from the test or a {@code @BeforeEach}: an
     * abort in {@code @BeforeAll} hides the tests from the run's counts instead of counting them as skipped.
     */
    public static void assumeAvailable(String... packages) {
        missing(packages).ifPresent(why -> {
            String message = "SKIPPED: " + why;
            System.err.println("=".repeat(80));
            System.err.println("WARNING: a test that drives a Node client is " + message);
            System.err.println("=".repeat(80));
            Assumptions.abort(message);
        });
    }

    /** Why node or one of the packages cannot be used, with how to fix it; empty when all are there. */
    public static Optional<String> missing(String... packages) {
        if (nodeVersion() == null) {
            return Optional.of("node is not on the PATH (or does not run). Install Node.js >= 18, then run "
                    + "scripts/test-deps.");
        }
        for (String p : packages) {
            if (!Files.isDirectory(DIR.resolve("node_modules").resolve(p))) {
                return Optional.of("the npm package '" + p + "' is not installed in " + DIR.resolve("node_modules")
                        + ". Run scripts/test-deps (it needs the npm registry once).");
            }
        }
        return Optional.empty();
    }

    /** The output of {@code node --version}, or null when node is missing or fails. */
    private static String nodeVersion() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getOutputStream().close();
            Drain out = Drain.start(p.getInputStream());
            if (!p.waitFor(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? out.text().strip() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Runs {@code node <script> <args...>} in {@link #DIR} and waits for it to end. Past {@code timeout} the process
     * (and anything it started) is killed and the test fails with what it printed so far.
     */
    public static Result run(Duration timeout, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("node", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(DIR.toFile()).start();
        p.getOutputStream().close();
        Drain out = Drain.start(p.getInputStream());
        Drain err = Drain.start(p.getErrorStream());
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("node " + script + " did not end within " + timeout + " and was killed\n"
                    + "--- stdout\n" + out.text() + "--- stderr\n" + err.text());
        }
        return new Result(p.exitValue(), out.text(), err.text());
    }

    /** What a script printed: {@code stdout} holds one JSON object per line (its events). */
    public record Result(int exitCode, String stdout, String stderr) {

        /** Every stdout line that is a JSON object, in order. */
        public List<JsonNode> events() {
            return stdout.lines().filter(l -> l.startsWith("{")).map(Json::parse).toList();
        }

        /** For assertion messages: the whole output. */
        public String describe() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /** Reads a child's stream to its end on a virtual thread, so that a full pipe never blocks the child. */
    private record Drain(ByteArrayOutputStream bytes, Thread thread) {
        static Drain start(InputStream in) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Thread t = Thread.ofVirtual().start(() -> {
                try (in) {
                    in.transferTo(bytes);
                } catch (IOException e) {
                    // the child was killed: what was read so far is all there is
                }
            });
            return new Drain(bytes, t);
        }

        String text() throws InterruptedException {
            thread.join(Duration.ofSeconds(10));
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
