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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sluice upload} as its own process, stopped part-way like Ctrl-C (SIGTERM) and killed outright, then run
 * again with the same arguments: each run takes up the upload where the server has it and the last one completes
 * it with the right sha256.
 */
@Timeout(value = 110, unit = TimeUnit.SECONDS)
class ClientResumeTest {

    static final Duration WAIT = Duration.ofSeconds(30);
    static final Pattern RESUMING = Pattern.compile("resuming at (\\d+) bytes");

    @TempDir
    Path dir;

    @Test
    void anInterruptedUploadResumesWhereTheServerHasIt() throws Exception {
        // Small chunks make thousands of PATCHes, so that the test catches the run part-way.
        Path file = Cli.randomFile(dir, "big.bin", 48 * 1024 * 1024, 11);
        Path state = dir.resolve("state.json");
        try (TestServer server = TestServer.start(dir.resolve("data"))) {
            String[] args = {"upload", "--server", "http://127.0.0.1:" + server.port(), "--chunk-size", "16KiB",
                    "--state-file", state.toString(), file.toString()};

            long first = interrupt(server, state, args, 0, false);
            long second = interrupt(server, state, args, first, true);

            try (ServerProcess last = ServerProcess.start(List.of(), Map.of(), args)) {
                int exit = last.waitFor(Duration.ofSeconds(90));
                String out = last.output();
                assertThat(exit).as(out).isZero();
                Matcher m = RESUMING.matcher(out);
                assertThat(m.find()).as(out).isTrue();
                assertThat(Long.parseLong(m.group(1))).isGreaterThanOrEqualTo(second);
                String sha = Cli.sha256(file);
                Matcher id = Pattern.compile("id=(\\S+)  sha256=" + sha).matcher(out);
                assertThat(id.find()).as(out).isTrue();
                JsonNode upload = Json.parse(server.get("/api/v1/uploads/" + id.group(1)).body());
                assertThat(upload.path("sha256").asText()).isEqualTo(sha);
                assertThat(upload.path("size").asLong()).isEqualTo(Files.size(file));
            }
            JsonNode remembered = Json.parse(Files.readString(state));
            assertThat(remembered.size()).as("state after the upload").isEqualTo(1);
            assertThat(remembered.elements().next().path("sha256").asText()).isEqualTo(Cli.sha256(file));
            server.assertNothingLeftBehind();
        }
    }

    /**
     * Starts the upload, waits until the server has more than {@code after} bytes of it, stops the process
     * (SIGTERM, or SIGKILL when {@code kill}) and returns the server's offset then.
     */
    private static long interrupt(TestServer server, Path state, String[] args, long after, boolean kill)
            throws Exception {
        try (ServerProcess p = ServerProcess.start(List.of(), Map.of(), args)) {
            long[] offset = {-1};
            Await.until(WAIT, "the upload got past " + after, () -> {
                offset[0] = offset(server, state);
                return offset[0] > after || !p.process().isAlive();
            });
            if (kill) {
                p.process().destroyForcibly();
            } else {
                p.sigterm();
            }
            p.waitFor(Duration.ofSeconds(30));
            long now = offset(server, state);
            assertThat(now).as("the run was stopped before the end:\n" + p.output())
                    .isGreaterThan(after).isLessThan(48L * 1024 * 1024);
            if (!kill) {
                assertThat(p.output()).contains("interrupted; run the same command again to resume");
            }
            if (after > 0) {
                assertThat(p.output()).contains("resuming at ");
            }
            return now;
        }
    }

    /** The server's offset of the upload the state file names, -1 before there is one. */
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
        if (all == null || all.size() == 0 || !all.elements().next().hasNonNull("url")) {
            return -1;
        }
        URI url = URI.create(all.elements().next().path("url").asText());
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(url)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Tus-Resumable", "1.0.0").build());
        return r.statusCode() == 200 ? Long.parseLong(r.headers().firstValue("Upload-Offset").orElse("-1")) : -1;
    }
}
