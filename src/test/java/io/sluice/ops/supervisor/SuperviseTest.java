package io.sluice.ops.supervisor;

import io.sluice.testing.Await;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sluice supervise} as its own process, supervising a real {@code serve} child: killed, hung (SIGSTOP), over
 * its memory limit, stopped cleanly, and the supervisor itself stopped with SIGTERM.
 */
class SuperviseTest {

    private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");
    /** Small child JVMs: two cores are shared with other work. */
    private static final List<String> JVM = List.of("-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final Duration WAIT = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private ServerProcess supervise(String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("supervise", "--health-interval", "1s", "--health-failures", "2",
                "--min-uptime", "2s", "--stop-timeout", "10s"));
        args.addAll(List.of(options));
        args.addAll(List.of("--", "serve", "--port", "0", "--data", dir.toString(),
                "--set", "limits.diskReserve=0"));
        return ServerProcess.start(JVM, Map.of(), args.toArray(String[]::new));
    }

    @Test
    void restartsAKilledAndAHungChildThenStopsGracefullyOnSigterm() throws Exception {
        try (ServerProcess sup = supervise()) {
            sup.awaitListening(WAIT);
            ProcessHandle first = sup.onlyChildJvm(WAIT);
            assertThat(health(lastPort(sup))).isEqualTo(200);

            // Crash: SIGKILL the child.
            first.destroyForcibly();
            ProcessHandle second = sup.awaitNewChildJvm(first, WAIT);
            Await.until(WAIT, "the restarted child to answer /health", () -> sup.listenings() == 2
                    && health(lastPort(sup)) == 200);
            assertThat(sup.output()).contains("restarting child pid " + first.pid() + ": reason=exit",
                    "exited with code 137 (signal 9)", "backoff 1000 ms");

            // Hang: SIGSTOP the child; its health checks time out and it is restarted.
            Await.until(WAIT, "the backoff to reset after the minimum healthy uptime",
                    () -> sup.output().contains("child pid " + second.pid() + " healthy for"));
            signal("STOP", second.pid());
            ProcessHandle third = sup.awaitNewChildJvm(second, WAIT);
            Await.until(WAIT, "the third child to answer /health", () -> sup.listenings() == 3
                    && health(lastPort(sup)) == 200);
            assertThat(sup.output()).contains("restarting child pid " + second.pid() + ": reason=health",
                    "2 consecutive failed health checks");
            // The backoff was reset by the healthy second child, so it starts again at one second.
            assertThat(sup.output().split("backoff 1000 ms", -1)).hasSize(3);
            assertThat(second.isAlive()).isFalse();

            // SIGTERM to the supervisor: the child drains and exits 0, then the supervisor exits 0.
            sup.sigterm();
            assertThat(sup.waitFor(WAIT)).isEqualTo(0);
            assertThat(third.isAlive()).isFalse();
            assertThat(sup.output()).contains("stopping child pid " + third.pid(),
                    "child pid " + third.pid() + " stopped with code 0", "Stopped");
        }
    }

    @Test
    void restartsForMemoryWithGrowingBackoffThenGivesUp() throws Exception {
        try (ServerProcess sup = supervise("--memory-limit", "50MB", "--max-restarts", "2")) {
            int code = sup.waitFor(Duration.ofSeconds(60));
            String out = sup.output();
            assertThat(code).as(out).isEqualTo(Supervisor.EXIT_GAVE_UP);
            assertThat(out).contains("reason=memory", "above the limit of 47 MiB", "restart 1 of 2", "backoff 1000 ms",
                    "restart 2 of 2", "backoff 2000 ms", "giving up");
            assertThat(out.indexOf("backoff 1000 ms")).isLessThan(out.indexOf("backoff 2000 ms"));
            assertThat(sup.process().toHandle().descendants().count()).isZero();
        }
    }

    @Test
    void aChildThatStopsCleanlyIsNotRestarted() throws Exception {
        try (ServerProcess sup = supervise()) {
            sup.awaitListening(WAIT);
            ProcessHandle child = sup.onlyChildJvm(WAIT);
            child.destroy(); // SIGTERM to the child itself: it drains and exits 0
            assertThat(sup.waitFor(WAIT)).isEqualTo(0);
            assertThat(sup.output()).contains("child pid " + child.pid() + " exited with code 0 (a clean stop)")
                    .doesNotContain("restarting child");
        }
    }

    @Test
    void aChildWhoseSupervisorIsKilledStopsItself() throws Exception {
        try (ServerProcess sup = supervise()) {
            sup.awaitListening(WAIT);
            ProcessHandle child = sup.onlyChildJvm(WAIT);
            sup.process().destroyForcibly();
            assertThat(child.onExit().get(WAIT.toSeconds(), TimeUnit.SECONDS).isAlive()).isFalse();
            // Its console went with the supervisor; its log file shows it drained.
            String log = Files.readString(dir.resolve("logs/sluice.log"));
            assertThat(log).contains("supervisor pid " + sup.process().pid() + " is gone; shutting down", "Stopped");
        }
    }

    @Test
    void badOptionsAreConfigurationErrors() throws Exception {
        try (ServerProcess sup = ServerProcess.start(JVM, Map.of(), "supervise", "--memory-limit", "lots", "--",
                "serve")) {
            assertThat(sup.waitFor(WAIT)).isEqualTo(2);
            assertThat(sup.output()).contains("--memory-limit", "not a size");
        }
        try (ServerProcess sup = ServerProcess.start(JVM, Map.of(), "supervise")) {
            assertThat(sup.waitFor(WAIT)).isEqualTo(2);
            assertThat(sup.output()).contains("COMMAND");
        }
    }

    private static int lastPort(ServerProcess sup) {
        Matcher m = LISTENING.matcher(sup.output());
        int port = -1;
        while (m.find()) {
            port = Integer.parseInt(m.group(1));
        }
        return port;
    }

    private int health(int port) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }
}
