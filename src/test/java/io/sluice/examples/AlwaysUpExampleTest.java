package io.sluice.examples;

import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * examples/always-up: the example's {@code sluice.yaml} served under {@code sluice supervise} (a separate process,
 * as in production). The child is killed with SIGKILL and later hung with SIGSTOP while a resumable upload is in
 * flight each time; the supervisor restarts it (reason {@code exit}, then {@code health}) with growing backoff,
 * and the upload resumes from its durable offset at the same URL and completes with the right sha256. Also: the
 * example's systemd unit (which runs {@code supervise}) passes {@code systemd-analyze verify}.
 */
class AlwaysUpExampleTest {

    private static final Path EXAMPLE = Path.of("examples/always-up");
    /** Small JVMs: two cores are shared with other work. */
    private static final List<String> JVM = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int SIZE = 12 * 1024 * 1024;

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void killedAndHungChildrenAreRestartedWithBackoffAndTheUploadInFlightCompletes() throws Exception {
        byte[] file = new byte[SIZE];
        new Random(7).nextBytes(file);
        String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(file));
        // A fixed port, as in the example (8080 may be taken here): the upload URL stays valid across restarts.
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        // The README's command; only the health timing is faster (and --min-uptime longer, so the second restart
        // shows the doubled backoff) to keep the test short.
        try (ServerProcess sup = ServerProcess.start(JVM, Map.of(), "supervise", "--memory-limit", "700MB",
                "--health-interval", "1s", "--health-failures", "2", "--stop-timeout", "10s", "--min-uptime", "5m",
                "--", "serve", "--config", EXAMPLE.resolve("sluice.yaml").toString(), "--port",
                Integer.toString(port), "--data", dir.toString(), "--set", "limits.diskReserve=0")) {
            sup.awaitListening(WAIT);
            String base = "http://127.0.0.1:" + port;
            ProcessHandle first = sup.onlyChildJvm(WAIT);

            // Create the upload and send its first 4 MiB.
            HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(base + "/files/"))
                    .header("Tus-Resumable", "1.0.0").header("Upload-Length", Integer.toString(SIZE))
                    .header("Upload-Metadata", "filename ZHJpdmUuYmlu").POST(HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
            assertThat(patch(base + path, file, 0, 4 << 20).statusCode()).isEqualTo(204);

            // Crash: SIGKILL the child while a PATCH is streaming the next bytes.
            try (Socket inFlight = startPatch(port, path, file, 4 << 20)) {
                first.destroyForcibly();
                assertThat(first.onExit().get(WAIT.toSeconds(), TimeUnit.SECONDS).isAlive()).isFalse();
            }
            ProcessHandle second = sup.awaitNewChildJvm(first, WAIT);
            Await.until(WAIT, "the restarted child to listen", () -> sup.listenings() == 2 && health(base) == 200);
            assertThat(sup.output()).contains("restarting child pid " + first.pid() + ": reason=exit",
                    "exited with code 137 (signal 9)", "backoff 1000 ms");

            // Resume from the durable offset (at least what was acknowledged), then send some more.
            long offset = offset(base + path);
            long afterKill = offset;
            assertThat(offset).isBetween(4L << 20, (long) SIZE);
            assertThat(patch(base + path, file, (int) offset, 8 << 20).statusCode()).isEqualTo(204);

            // Hang: SIGSTOP the child mid-PATCH; the health checks time out and it is restarted.
            try (Socket inFlight = startPatch(port, path, file, 8 << 20)) {
                signal("STOP", second.pid());
                ProcessHandle third = sup.awaitNewChildJvm(second, WAIT);
                Await.until(WAIT, "the third child to listen", () -> sup.listenings() == 3 && health(base) == 200);
                assertThat(second.isAlive()).isFalse();
                assertThat(third.isAlive()).isTrue();
            }
            assertThat(sup.output()).contains("restarting child pid " + second.pid() + ": reason=health",
                    "2 consecutive failed health checks", "backoff 2000 ms");

            // The upload completes after the restart: same URL, the rest of the bytes, the whole file's sha256.
            offset = offset(base + path);
            long afterHang = offset;
            assertThat(offset).isBetween(8L << 20, (long) SIZE);
            HttpResponse<String> last = patch(base + path, file, (int) offset, SIZE);
            assertThat(last.statusCode()).isEqualTo(204);
            String id = last.headers().firstValue("Sluice-Upload-Id").orElseThrow();
            HttpResponse<String> record = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads/" + id))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(record.statusCode()).isEqualTo(200);
            assertThat(Json.parse(record.body()).path("sha256").asText()).isEqualTo(sha256);
            HttpResponse<byte[]> content = http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(content.statusCode()).isEqualTo(200);
            assertThat(Arrays.equals(content.body(), file)).as("downloaded bytes").isTrue();

            // SIGTERM to the supervisor: the child drains, both exit 0.
            sup.sigterm();
            assertThat(sup.waitFor(WAIT)).as(sup.output()).isZero();
            System.err.println("always-up: offset after SIGKILL " + afterKill + ", after SIGSTOP " + afterHang
                    + "; restarts " + restartLines(sup));
        }
    }

    @Test
    void theSystemdUnitRunsSuperviseAndVerifies() throws Exception {
        Path unit = EXAMPLE.resolve("sluice-supervise.service");
        String text = Files.readString(unit);
        String execStart = text.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertThat(text).contains("KillMode=mixed", "Restart=on-failure", "Type=exec");
        // What follows the jar is a command line the real CLI parses: supervise options, then serve's.
        String[] args = execStart.substring(execStart.indexOf("sluice.jar ") + "sluice.jar ".length()).split(" ");
        assertThat(args[0]).isEqualTo("supervise");
        io.sluice.cli.Main.commandLine().parseArgs(args);
        assertThat(String.join(" ", args)).contains("-- serve --config /etc/sluice/sluice.yaml");

        Path analyze = Path.of("/usr/bin/systemd-analyze");
        if (!Files.isExecutable(analyze)) {
            System.err.println("SKIPPED: systemd-analyze is not installed; the unit was not verified");
            Assumptions.abort("systemd-analyze is not installed");
        }
        Path checked = unit;
        if (!Files.isExecutable(Path.of("/usr/bin/java"))) {
            // verify insists that ExecStart's binary exists; point it at the JVM running this test instead.
            checked = dir.resolve("sluice.service");
            Files.writeString(checked, text.replace("/usr/bin/java", ProcessHandle.current().info().command()
                    .orElseThrow()));
        }
        Process p = new ProcessBuilder(analyze.toString(), "verify", checked.toString()).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // verify exits 0 even for unknown keys and bad values; it only warns, so any output is a failure.
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).isEmpty();
    }

    /** A whole PATCH of {@code file[from, to)}. */
    private HttpResponse<String> patch(String url, byte[] file, int from, int to) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", Integer.toString(from))
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(file, from, to - from)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A PATCH that announces the rest of the file, sends 1 MiB of it and stays open: a request in flight. */
    private static Socket startPatch(int port, String path, byte[] file, int from) throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        out.write(("PATCH " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nTus-Resumable: 1.0.0\r\n"
                + "Upload-Offset: " + from + "\r\nContent-Type: application/offset+octet-stream\r\n"
                + "Content-Length: " + (file.length - from) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(file, from, 1 << 20);
        out.flush();
        return s;
    }

    private long offset(String url) throws Exception {
        HttpResponse<Void> head = http.send(HttpRequest.newBuilder(URI.create(url)).header("Tus-Resumable", "1.0.0")
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        assertThat(head.statusCode()).isEqualTo(200);
        return Long.parseLong(head.headers().firstValue("Upload-Offset").orElseThrow());
    }

    private static List<String> restartLines(ServerProcess sup) {
        return sup.output().lines().filter(l -> l.contains("restarting child")).toList();
    }

    private int health(String base) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(base + "/health")).timeout(Duration.ofSeconds(2))
                    .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
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
