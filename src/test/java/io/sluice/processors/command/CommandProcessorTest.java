package io.sluice.processors.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The {@code command} processor on a real server, with small {@code sh} scripts: JSON stdout becomes the result and
 * {@code {output}} rows the output; a non-zero exit, non-JSON stdout and a script past its time limit fail the job
 * with their codes. Skipped (loudly) where there is no {@code sh}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CommandProcessorTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    static TestServer server;
    static boolean haveSh;

    @BeforeAll
    static void start() throws Exception {
        haveSh = CommandProcessor.onPath("sh").isPresent();
        if (!haveSh) {
            System.err.println("CommandProcessorTest: SKIPPED - no 'sh' on the PATH, the scripts cannot run");
        }
        assumeTrue(haveSh, "needs sh");
        Path ok = script("ok.sh", """
                n=$(wc -c < "$1")
                printf '{"row":1}\\n{"row":2}\\n' > "$2"
                echo "note on stderr" >&2
                printf '{"bytes": %d, "mode": "%s", "name": "%s"}\\n' "$n" "$MODE" "$SLUICE_FILENAME"
                """);
        Path fail = script("fail.sh", """
                echo "first line" >&2
                echo "cannot parse $SLUICE_FILENAME" >&2
                exit 4
                """);
        Path chatty = script("chatty.sh", "echo 'this is not json'\n");
        Path slow = script("slow.sh", "sleep 60\necho '{}'\n");
        Path hungry = script("hungry.sh", """
                # Fills a shell variable until the address-space limit stops it.
                s=x; while :; do s="$s$s"; done
                """);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  ok:
                    processor: command
                    options: {command: [sh, "%s", "{file}", "{output}"], env: {MODE: strict}}
                  fail:
                    processor: command
                    options: {command: [sh, "%s"]}
                    maxAttempts: 1
                  chatty:
                    processor: command
                    options: {command: [sh, "%s"]}
                    maxAttempts: 1
                  slow:
                    processor: command
                    options: {command: [sh, "%s"], timeout: 1s}
                    maxAttempts: 1
                  missing:
                    processor: command
                    options: {command: [no-such-program-here, "{file}"], memory: 64MiB}
                    maxAttempts: 1
                  hungry:
                    processor: command
                    options: {command: [sh, "%s"], memory: 64MiB, timeout: 20s}
                    maxAttempts: 1
                """.formatted(ok, fail, chatty, slow, hungry));
        server = TestServer.start(dir.resolve("data"), config);
    }

    static Path script(String name, String body) throws Exception {
        return Files.writeString(dir.resolve(name), body);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void nothingHeld() throws Exception {
        if (server != null) {
            server.assertNothingLeftBehind();
        }
    }

    @Test
    void jsonStdoutIsTheResultAndOutputRowsAreTheOutput() throws Exception {
        String id = jobOf(server.put("/api/v1/uploads/report.csv?pipeline=ok", bytes("a,b\n1,2\n")));
        JsonNode done = awaitState(id, "succeeded");
        assertThat(done.at("/result/bytes").asInt()).isEqualTo(8);
        assertThat(done.at("/result/mode").asText()).isEqualTo("strict");
        assertThat(done.at("/result/name").asText()).isEqualTo("report.csv");
        assertThat(done.at("/result/outputLines").asInt()).isEqualTo(2);
        assertThat(server.get("/api/v1/jobs/" + id + "/output").body().lines().toList())
                .containsExactly("{\"row\":1}", "{\"row\":2}");
    }

    @Test
    void aNonZeroExitFailsWithTheLastLinesOfStderr() throws Exception {
        JsonNode failed = awaitState(jobOf(server.put("/api/v1/uploads/x.bin?pipeline=fail", bytes("x"))),
                "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("command_failed");
        assertThat(failed.at("/error/message").asText()).contains("exited with code 4")
                .contains("cannot parse x.bin");
    }

    @Test
    void stdoutThatIsNotJsonFailsTheJob() throws Exception {
        JsonNode failed = awaitState(jobOf(server.put("/api/v1/uploads/y.bin?pipeline=chatty", bytes("y"))),
                "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("bad_command_output");
        assertThat(failed.at("/error/message").asText()).contains("this is not json");
    }

    @Test
    void aCommandPastItsTimeLimitIsKilled() throws Exception {
        JsonNode failed = awaitState(jobOf(server.put("/api/v1/uploads/z.bin?pipeline=slow", bytes("z"))),
                "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("timeout");
        Await.until(WAIT, "the script's sleep killed too", () -> ProcessHandle.current().descendants()
                .noneMatch(p -> p.info().commandLine().orElse("").contains("slow.sh")));
    }

    @Test
    void aMissingProgramIsCommandNotFoundEvenBehindAPrefix() throws Exception {
        // Behind prlimit and the leash a missing program would only be their exit code 127.
        JsonNode failed = awaitState(jobOf(server.put("/api/v1/uploads/n.bin?pipeline=missing", bytes("n"))),
                "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("command_not_found");
        assertThat(failed.at("/error/message").asText()).contains("no-such-program-here");
        assertThat(failed.path("attempt").asInt()).isEqualTo(1);
    }

    @Test
    void aCommandOverItsMemoryLimitFailsWithoutHarm() throws Exception {
        JsonNode failed = awaitState(jobOf(server.put("/api/v1/uploads/m.bin?pipeline=hungry", bytes("m"))),
                "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("command_failed");
    }

    @Test
    void badOptionsAreRefusedByName() {
        CommandProcessor p = new CommandProcessor();
        assertThatThrownBy(() -> p.configure(Map.of())).hasMessageStartingWith("options.command:");
        assertThatThrownBy(() -> p.configure(Map.of("command", "sh x.sh"))).hasMessageStartingWith("options.command:");
        assertThatThrownBy(() -> p.configure(Map.of("command", List.of("sh"), "timeout", "soon")))
                .hasMessageStartingWith("options.timeout:");
        assertThatThrownBy(() -> p.configure(Map.of("command", List.of("sh"), "memory", "lots")))
                .hasMessageStartingWith("options.memory:");
        assertThatThrownBy(() -> p.configure(Map.of("command", List.of("sh"), "env", Map.of("1X", "v"))))
                .hasMessageStartingWith("options.env.1X:");
        assertThatThrownBy(() -> p.configure(Map.of("command", List.of("sh"), "shell", true)))
                .hasMessageStartingWith("options.shell:");
    }

    // ------------------------------------------------------------------------------------------ helpers

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String jobOf(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(201);
        return Json.parse(r.body()).path("uploads").get(0).at("/job/id").asText();
    }

    static JsonNode awaitState(String id, String state) throws Exception {
        return Await.jobState(server, id, state, WAIT);
    }
}
