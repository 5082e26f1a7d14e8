package io.sluice.ops.supervisor;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One running child server. Its stdout is copied line by line to ours, and the "listening on http://host:port"
 * line tells where to probe; its stderr goes straight to ours.
 */
final class Child {

    private static final Pattern LISTENING = Pattern.compile("listening on http://(\\[[^]]+]|[^:/\\s]+):(\\d+)");

    private final Process process;
    private volatile String host;
    private volatile int port = -1;
    private final long startedNanos = System.nanoTime();

    private Child(Process process, PrintStream out) {
        this.process = process;
        Thread.ofPlatform().daemon().name("supervisor-child-" + process.pid()).start(() -> forward(out));
    }

    static Child start(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        return new Child(pb.start(), System.out);
    }

    private void forward(PrintStream out) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.println(line);
                if (port < 0) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        host = probeHost(m.group(1));
                        port = Integer.parseInt(m.group(2));
                    }
                }
            }
        } catch (IOException ignored) {
            // the child closed its stdout: it is exiting
        }
    }

    /** A wildcard bind address is reached through loopback. */
    static String probeHost(String logged) {
        return switch (logged) {
            case "0.0.0.0" -> "127.0.0.1";
            case "[::]", "::", "[::0]" -> "[::1]";
            default -> logged;
        };
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    int exitValue() {
        return process.exitValue();
    }

    /** -1 until the child has logged where it listens. */
    int port() {
        return port;
    }

    String host() {
        return host;
    }

    Duration uptime() {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    /**
     * SIGTERM (and SIGCONT, so a stopped child can act on it), then SIGKILL if it has not exited within
     * {@code timeout}. Returns true when it had to be killed; {@link #exitValue()} is then valid.
     */
    boolean stop(Duration timeout) throws InterruptedException {
        if (!process.isAlive()) {
            return false;
        }
        process.toHandle().destroy();
        resume();
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return false;
        }
        process.toHandle().destroyForcibly();
        process.waitFor();
        return true;
    }

    private void resume() {
        try {
            new ProcessBuilder("kill", "-CONT", Long.toString(process.pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                    .waitFor(2, TimeUnit.SECONDS);
        } catch (IOException e) {
            // no kill(1): a stopped child will simply be killed after the timeout
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
