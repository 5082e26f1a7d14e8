package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Ctrl-C as a user presses it: {@code sluice upload} of three files runs as its own process, gets SIGINT after the
 * first file finished and while the second is on its way, and the same command is run again. The first run had
 * already printed the finished file's id; the rerun does not send it again (the server holds exactly one upload of
 * it), resumes the second where the server has it and uploads the third. Then {@code uploads download} to stdout,
 * also as a process, gives back the first file's bytes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UploadInterruptTest {

    static final Pattern RESUMING = Pattern.compile("big\\.bin: resuming at (\\d+) bytes");
    /** A progress line of big.bin past its first percent and still going. */
    static final Pattern BIG_UNDER_WAY = Pattern.compile("big\\.bin\\s+\\[[#.]+\\]\\s+([1-9]|[1-9][0-9])%.*uploading");
    static final int BIG = 12 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void aRerunAfterCtrlCSkipsTheFinishedFileAndResumesTheOthers() throws Exception {
        // A child inherits an ignored SIGINT (a run started in the background by a non-interactive shell has it
        // ignored): then no Ctrl-C can reach the command, and this test could only fail.
        assumeFalse(sigintIgnored(), "SIGINT is ignored in this test run (inherited from how it was started): "
                + "Ctrl-C cannot be sent to the command; run the suite from a shell that leaves SIGINT alone");
        // Text, so that it can be compared with what a download to stdout prints.
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 64 * 1024; i++) {
            text.append("line ").append(i).append('\n');
        }
        Path small = Files.writeString(dir.resolve("small.txt"), text);
        // Parallel 1 and 4 KiB chunks: thousands of PATCHes for big.bin, so the run is caught part-way through it.
        Path big = Cli.randomFile(dir, "big.bin", BIG, 61);
        Path last = Cli.randomFile(dir, "last.bin", 100_000, 62);
        Path state = dir.resolve("state.json");
        try (TestServer server = TestServer.start(dir.resolve("data"))) {
            String[] args = {"upload", "--server", "127.0.0.1:" + server.port(), "--parallel", "1",
                    "--chunk-size", "4KiB", "--state-file", state.toString(), small.toString(), big.toString(),
                    last.toString()};
            String smallLine = small + "  id=";

            String firstOutput;
            long offsetAtInterrupt;
            try (ServerProcess first = ServerProcess.start(List.of(), Map.of(), args)) {
                // Judged by the command's own progress line, not by polling HEAD on big.bin: a HEAD asks the upload's
                // current writer to let go (as tusd does), so polling cut the command's PATCHes again and again, and
                // on a loaded machine the whole file could finish before the interrupt came.
                Await.until(Duration.ofSeconds(30), "small.txt finished and big.bin under way", () ->
                        !first.process().isAlive() || first.output().contains(smallLine)
                                && BIG_UNDER_WAY.matcher(first.output()).find());
                sigint(first.process().pid());
                assertThat(first.waitFor(Duration.ofSeconds(20))).as("128 + SIGINT\n" + first.output())
                        .isEqualTo(130);
                firstOutput = first.output();
                offsetAtInterrupt = offset(server, state);
            }
            assertThat(offsetAtInterrupt).as("big.bin was interrupted part-way:\n" + firstOutput)
                    .isBetween(1L, BIG - 1L);
            assertThat(firstOutput).contains("interrupted; run the same command again to resume")
                    .doesNotContain(last + "  id=");
            Matcher firstId = Pattern.compile(Pattern.quote(smallLine) + "(\\S+)  sha256=" + Cli.sha256(small))
                    .matcher(firstOutput);
            assertThat(firstId.find()).as(firstOutput).isTrue();
            String smallId = firstId.group(1);

            try (ServerProcess again = ServerProcess.start(List.of(), Map.of(), args)) {
                int exit = again.waitFor(Duration.ofSeconds(40));
                String out = again.output();
                assertThat(exit).as(out).isZero();
                assertThat(out).contains(smallLine + smallId + "  sha256=" + Cli.sha256(small)
                        + "  (already uploaded)");
                Matcher resuming = RESUMING.matcher(out);
                assertThat(resuming.find()).as(out).isTrue();
                assertThat(Long.parseLong(resuming.group(1))).isGreaterThanOrEqualTo(offsetAtInterrupt);
                assertThat(out).contains(big + "  id=").contains("sha256=" + Cli.sha256(big))
                        .contains(last + "  id=").contains("sha256=" + Cli.sha256(last));
            }

            JsonNode page = Json.parse(server.get("/api/v1/uploads?limit=500").body());
            List<String> shas = new ArrayList<>();
            page.path("uploads").forEach(u -> shas.add(u.path("sha256").asText()));
            assertThat(shas).as("exactly one upload per file")
                    .containsExactlyInAnyOrder(Cli.sha256(small), Cli.sha256(big), Cli.sha256(last));

            try (ServerProcess download = ServerProcess.start(List.of(), Map.of(), "uploads", "download", smallId,
                    "--server", "http://127.0.0.1:" + server.port())) {
                assertThat(download.waitFor(Duration.ofSeconds(20))).as(download.output()).isZero();
                assertThat(download.output()).isEqualTo(Files.readString(small, StandardCharsets.UTF_8));
            }
            server.assertNothingLeftBehind();
        }
    }

    /** Whether this JVM ignores SIGINT (bit 2 of SigIgn in /proc/self/status), which its children inherit. */
    private static boolean sigintIgnored() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring("SigIgn:".length()).trim(), 16) & 0x2L) != 0;
            }
        }
        return false;
    }

    /** What Ctrl-C sends; {@code Process.destroy} would send SIGTERM. */
    private static void sigint(long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    /** The server's offset of the unfinished upload the state file names, -1 while there is none. */
    private static long offset(TestServer server, Path state) throws Exception {
        if (!Files.exists(state)) {
            return -1;
        }
        JsonNode all;
        try {
            all = Json.parse(Files.readString(state));
        } catch (RuntimeException | java.io.IOException partial) {
            return -1;
        }
        for (JsonNode e : all) {
            if (e.hasNonNull("url")) {
                HttpResponse<String> r = server.send(HttpRequest.newBuilder(URI.create(e.path("url").asText()))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Tus-Resumable", "1.0.0")
                        .build());
                return r.statusCode() == 200 ? Long.parseLong(r.headers().firstValue("Upload-Offset").orElse("-1"))
                        : -1;
            }
        }
        return -1;
    }
}
