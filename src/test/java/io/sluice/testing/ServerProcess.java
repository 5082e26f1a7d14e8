package io.sluice.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sluice as its own process ({@code java io.sluice.Main ...} on the test classpath), for what only a process can
 * show: exit codes, signals, a small heap.
 */
public final class ServerProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");

    private final Process process;
    private final StringBuffer output = new StringBuffer();
    private volatile int port = -1;

    private ServerProcess(Process process) {
        this.process = process;
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.append(line).append('\n');
                    Matcher m = LISTENING.matcher(line);
                    if (port < 0 && m.find()) {
                        port = Integer.parseInt(m.group(1));
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
        });
    }

    /** Starts {@code sluice <args>} with extra JVM options and environment; stdout and stderr are merged. */
    public static ServerProcess start(List<String> jvmOptions, Map<String, String> env, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(jvmOptions);
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.sluice.Main");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("SLUICE_"));
        pb.environment().putAll(env);
        return new ServerProcess(pb.start());
    }

    /** Starts {@code serve} on a random port with {@code dataDir} and waits until it listens. */
    public static ServerProcess serve(Path dataDir, List<String> jvmOptions, String... extraArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("serve", "--port", "0", "--data", dataDir.toString(),
                "--set", "limits.diskReserve=0"));
        args.addAll(List.of(extraArgs));
        ServerProcess p = start(jvmOptions, Map.of(), args.toArray(String[]::new));
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    public void awaitListening(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (port < 0) {
            if (!process.isAlive()) {
                throw new AssertionError("server exited with " + process.exitValue() + ":\n" + output);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("server did not start listening in " + timeout + ":\n" + output);
            }
            Thread.sleep(50);
        }
    }

    public int port() {
        return port;
    }

    public Process process() {
        return process;
    }

    public String output() {
        return output.toString();
    }

    /**
     * Sends SIGTERM. Through the process handle, not {@code Process.destroy()}: that also closes our end of the
     * output pipe, so everything the server logs while shutting down would be lost.
     */
    public void sigterm() {
        process.toHandle().destroy();
    }

    // For a supervisor process ({@code sluice supervise}): its server children.

    /** This process's live java children (a supervisor also runs short-lived {@code kill -CONT} processes). */
    public java.util.stream.Stream<ProcessHandle> childJvms() {
        return process.toHandle().children().filter(ProcessHandle::isAlive)
                .filter(h -> h.info().command().map(c -> c.endsWith("java")).orElse(false));
    }

    /** Waits until exactly one child JVM runs and returns it. */
    public ProcessHandle onlyChildJvm(Duration wait) throws Exception {
        List<ProcessHandle> children = new ArrayList<>();
        Await.until(wait, "one child process", () -> {
            children.clear();
            childJvms().forEach(children::add);
            return children.size() == 1;
        });
        return children.getFirst();
    }

    /** Waits for a child JVM other than {@code old} (its replacement after a restart). */
    public ProcessHandle awaitNewChildJvm(ProcessHandle old, Duration wait) throws Exception {
        ProcessHandle[] found = new ProcessHandle[1];
        Await.until(wait, "a new child replacing pid " + old.pid(), () -> {
            java.util.Optional<ProcessHandle> c = childJvms().filter(h -> h.pid() != old.pid()).findFirst();
            c.ifPresent(h -> found[0] = h);
            return c.isPresent();
        });
        return found[0];
    }

    /** How many times a server (this one, or a supervised child) has logged that it listens. */
    public int listenings() {
        Matcher m = LISTENING.matcher(output);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("process did not exit within " + timeout + ":\n" + output);
        }
        // let the reader thread drain the last lines
        Thread.sleep(100);
        return process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
