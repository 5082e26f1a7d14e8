package io.sluice.ops.systemd;

import io.sluice.testing.Await;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve} under a stand-in for systemd: READY=1 once it listens, WATCHDOG=1 only while its database and
 * storage checks pass, STOPPING=1 on SIGTERM. The data directory is moved away to make the storage check fail.
 */
class SystemdNotifyTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void readyThenWatchdogOnlyWhileChecksPassThenStopping() throws Throwable {
        Path socket = dir.resolve("notify.sock");
        Path data = dir.resolve("data");
        Path moved = dir.resolve("moved");
        try (UnixDatagramReceiver systemd = new UnixDatagramReceiver(socket, Duration.ofMillis(300));
             ServerProcess server = ServerProcess.start(List.of("-Xmx96m"),
                     Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "400000"),
                     "serve", "--port", "0", "--data", data.toString(), "--set", "limits.diskReserve=0")) {
            String ready = next(systemd, server, m -> m.startsWith("READY=1"));
            server.awaitListening(WAIT);
            assertThat(ready).contains("MAINPID=" + server.process().pid());
            next(systemd, server, "WATCHDOG=1"::equals);
            next(systemd, server, "WATCHDOG=1"::equals);

            // Storage gone: pings stop.
            Files.move(data, moved);
            Await.until(WAIT, "the server to withhold the watchdog ping",
                    () -> server.output().contains("withholding WATCHDOG=1"));
            drain(systemd);
            for (int i = 0; i < 3; i++) { // 0.9 s, more than two ping intervals
                assertThat(systemd.receive()).isNull();
            }

            // Storage back: pings resume.
            Files.move(moved, data);
            next(systemd, server, "WATCHDOG=1"::equals);

            server.sigterm();
            next(systemd, server, m -> m.startsWith("STOPPING=1"));
            assertThat(server.waitFor(WAIT)).isZero();
            assertThat(server.output()).contains("READY=1 sent to " + socket, "watchdog ping every 200 ms",
                    "watchdog pings resume");
        }
    }

    @Test
    void withoutNotifySocketNothingIsSent() throws Exception {
        try (ServerProcess server = ServerProcess.serve(dir.resolve("data"), List.of("-Xmx96m"))) {
            server.sigterm();
            assertThat(server.waitFor(WAIT)).isZero();
            assertThat(server.output()).doesNotContain("systemd:");
        }
    }

    private interface Match {
        boolean test(String message);
    }

    /** The next datagram that matches, skipping others; fails after {@link #WAIT}. */
    private static String next(UnixDatagramReceiver systemd, ServerProcess server, Match match) throws Throwable {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String m = systemd.receive();
            if (m != null && match.test(m)) {
                return m;
            }
        }
        throw new AssertionError("no matching notification within " + WAIT + ":\n" + server.output());
    }

    private static void drain(UnixDatagramReceiver systemd) throws Throwable {
        while (systemd.receive() != null) {
            // discard pings sent before the checks failed
        }
    }
}
