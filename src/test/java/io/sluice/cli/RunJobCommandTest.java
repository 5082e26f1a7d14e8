package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sluice run-job} as the worker uses it, in a separate JVM: the JSON lines on stdout and the exit codes
 * (0 result, 1 failure, 2 bad spec, 3 out of memory).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RunJobCommandTest {

    @TempDir
    Path dir;

    record Run(int exit, List<JsonNode> lines, String stderr) {
        JsonNode last() {
            return lines.getLast();
        }
    }

    String spec(String processor, String options) throws IOException {
        Path file = Files.writeString(dir.resolve("in.txt"), "hello");
        return """
                {"processor": "%s", "options": %s,
                 "upload": {"id": "u1", "filename": "in.txt", "size": 5, "sha256": "x", "contentType": "text/plain",
                            "metadata": {}},
                 "file": "%s", "output": "%s", "workDir": "%s"}
                """.formatted(processor, options, file, dir.resolve("out.ndjson"), dir.resolve("work"));
    }

    Run run(String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx32m", "-XX:+ExitOnOutOfMemoryError", "-XX:+DisplayVMOutputToStderr",
                "-cp", System.getProperty("java.class.path"), "io.sluice.Main", "run-job"));
        cmd.addAll(List.of(args));
        Path err = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("run-job ended").isTrue();
        List<JsonNode> lines = out.lines().map(Json::parse).toList();
        return new Run(p.exitValue(), lines, Files.readString(err));
    }

    @Test
    void aResultIsTheLastLineAndExitZero() throws Exception {
        Run r = run(spec("test-sleep", "{\"lines\": 2}"));
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.lines()).allMatch(l -> List.of("progress", "result").contains(l.path("type").asText()));
        assertThat(r.lines().getFirst().path("type").asText()).isEqualTo("progress");
        assertThat(r.last().path("type").asText()).isEqualTo("result");
        assertThat(r.last().at("/summary/lines").asInt()).isEqualTo(2);
        assertThat(r.last().path("outputLines").asInt()).isEqualTo(2);
        assertThat(Files.readAllLines(dir.resolve("out.ndjson"))).containsExactly("{\"line\":0}", "{\"line\":1}");
    }

    @Test
    void theSpecMayComeFromAFile() throws Exception {
        Path spec = Files.writeString(dir.resolve("spec.json"), spec("noop", "{}"));
        Run r = run("", "--spec", spec.toString());
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.last().at("/summary/bytes").asInt()).isEqualTo(5);
    }

    @Test
    void aProcessorFailureIsAFailureLineAndExitOne() throws Exception {
        Run r = run(spec("test-sleep", "{\"failFirstIn\": \"" + dir.resolve("markers") + "\"}"));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.last().path("type").asText()).isEqualTo("failure");
        assertThat(r.last().path("code").asText()).isEqualTo("test_failure");
        assertThat(r.last().path("retryable").asBoolean()).isFalse();
    }

    @Test
    void aBadSpecIsExitTwo() throws Exception {
        Run unknown = run(spec("no-such-processor", "{}"));
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.last().path("code").asText()).isEqualTo("bad_spec");
        assertThat(unknown.last().path("message").asText()).contains("no-such-processor");
        Run garbage = run("not json");
        assertThat(garbage.exit()).isEqualTo(2);
        assertThat(garbage.last().path("code").asText()).isEqualTo("bad_spec");
        Run badOption = run(spec("noop", "{\"a\": 1}"));
        assertThat(badOption.exit()).isEqualTo(2);
    }

    @Test
    void runningOutOfMemoryIsExitThree() throws Exception {
        Run r = run(spec("test-oom", "{}"));
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.lines()).noneMatch(l -> List.of("result", "failure").contains(l.path("type").asText()));
        assertThat(r.stderr()).contains("OutOfMemoryError");
    }
}
