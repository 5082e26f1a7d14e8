package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.client.UploadState;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command-line client in this JVM against a real server: upload (parallel, chunked, sha256 checked, --wait),
 * retry on 503 with Retry-After, jobs list/show/cancel/retry, status, and usage errors (exit 2).
 */
@Timeout(value = 100, unit = TimeUnit.SECONDS)
class ClientCommandsTest {

    static final Duration WAIT = Duration.ofSeconds(30);
    static final Pattern JOB = Pattern.compile("job=(\\S+)");

    @TempDir
    static Path dir;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 3s
                pipelines:
                  noop:
                    processor: noop
                  failing:
                    processor: test-sleep
                    options: {lines: 2, failFirstIn: "%s"}
                    maxAttempts: 1
                  slow:
                    processor: test-sleep
                    options: {lines: 400, delayMillis: 50}
                """.formatted(dir.resolve("markers").toString().replace("\\", "/")));
        server = TestServer.start(dir.resolve("data"), config);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void nothingHeld() throws Exception {
        server.assertNothingLeftBehind();
    }

    private static String url(TestServer s) {
        return "http://127.0.0.1:" + s.port();
    }

    private static Path stateFile(String name) {
        return dir.resolve("state-" + name + ".json");
    }

    @Test
    void uploadsThreeFilesTwoAtATimeInChunksAndChecksTheirSha256() throws Exception {
        Path files = Files.createDirectories(dir.resolve("three"));
        Path a = Cli.randomFile(files, "a.bin", 3 * 1024 * 1024 + 17, 1);
        Path b = Cli.randomFile(files, "b.bin", 2 * 1024 * 1024 + 512 * 1024, 2);
        Path c = Cli.randomFile(files, "c.bin", 100_000, 3);
        Path state = stateFile("three");

        Cli.Run r = Cli.run("upload", "--server", url(server), "--parallel", "2", "--chunk-size", "1MiB",
                "--state-file", state.toString(), a.toString(), b.toString(), c.toString());

        assertThat(r.exit()).as(r.toString()).isZero();
        for (Path f : new Path[]{a, b, c}) {
            String sha = Cli.sha256(f);
            Matcher m = Pattern.compile(Pattern.quote(f.toString()) + "  id=(\\S+)  sha256=" + sha).matcher(r.out());
            assertThat(m.find()).as(f + " in\n" + r).isTrue();
            JsonNode upload = Json.parse(server.get("/api/v1/uploads/" + m.group(1)).body());
            assertThat(upload.path("sha256").asText()).isEqualTo(sha);
            assertThat(upload.path("size").asLong()).isEqualTo(Files.size(f));
            assertThat(upload.path("filename").asText()).isEqualTo(f.getFileName().toString());
        }
        // Not a terminal: plain progress lines, ending with the total at 100%.
        assertThat(r.out()).contains("total").contains("100%").doesNotContain("\033[");
        // Finished uploads are remembered as such (with their id), so that a rerun skips them.
        JsonNode remembered = Json.parse(Files.readString(state));
        assertThat(remembered.size()).isEqualTo(3);
        remembered.forEach(e -> assertThat(e.path("uploadId").asText()).isNotEmpty());
    }

    @Test
    void waitFollowsASucceedingJobAndExitsZero() throws Exception {
        Path f = Cli.randomFile(dir, "ok.bin", 10_000, 4);
        Cli.Run r = Cli.run("upload", "--server", url(server), "--pipeline", "noop", "--wait",
                "--state-file", stateFile("wait-ok").toString(), f.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        Matcher m = JOB.matcher(r.out());
        assertThat(m.find()).as(r.toString()).isTrue();
        assertThat(r.out()).contains("ok.bin: job " + m.group(1) + " succeeded");
    }

    @Test
    void waitExitsOneWhenTheJobFails() throws Exception {
        Path f = Cli.randomFile(dir, "bad.bin", 10_000, 5);
        Cli.Run r = Cli.run("upload", "--server", url(server), "--pipeline", "failing", "--wait",
                "--state-file", stateFile("wait-fail").toString(), f.toString());
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("bad.bin: job ").contains("failed: test_failure");
    }

    @Test
    void anUnknownPipelineFailsTheUploadWithExitOne() throws Exception {
        Path f = Cli.randomFile(dir, "nop.bin", 1000, 6);
        Cli.Run r = Cli.run("upload", "--server", url(server), "--pipeline", "no-such-pipeline",
                "--state-file", stateFile("unknown").toString(), f.toString());
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.out()).contains("nop.bin  FAILED: 400");
    }

    @Test
    void jobsListShowCancelRetry() throws Exception {
        Path f = Cli.randomFile(dir, "slow.bin", 5000, 7);
        Cli.Run up = Cli.run("upload", "--server", url(server), "--pipeline", "slow",
                "--state-file", stateFile("jobs").toString(), f.toString());
        assertThat(up.exit()).as(up.toString()).isZero();
        Matcher m = JOB.matcher(up.out());
        assertThat(m.find()).isTrue();
        String id = m.group(1);

        Cli.Run list = Cli.run("jobs", "list", "--server", url(server), "--pipeline", "slow");
        assertThat(list.exit()).as(list.toString()).isZero();
        assertThat(list.out()).startsWith("ID").contains("STATE").contains(id).contains("slow");

        Cli.Run show = Cli.run("jobs", "show", id, "--server", url(server));
        assertThat(show.exit()).as(show.toString()).isZero();
        assertThat(show.out()).contains("id:").contains(id).contains("pipeline:").contains("state:");
        Cli.Run json = Cli.run("jobs", "show", "--json", id, "--server", url(server));
        assertThat(Json.parse(json.out()).path("id").asText()).isEqualTo(id);

        Cli.Run cancel = Cli.run("jobs", "cancel", id, "--server", url(server));
        assertThat(cancel.exit()).as(cancel.toString()).isZero();
        assertThat(cancel.out()).contains("job " + id + ": cancel requested");
        Await.until(WAIT, "job cancelled", () -> Json.parse(server.get("/api/v1/jobs/" + id).body())
                .path("state").asText().equals("cancelled"));
        Cli.Run again = Cli.run("jobs", "cancel", id, "--server", url(server));
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("409 job_finished");

        Cli.Run cancelled = Cli.run("jobs", "list", "--server", url(server), "--state", "cancelled");
        assertThat(cancelled.out()).contains(id);

        Cli.Run retry = Cli.run("jobs", "retry", id, "--server", url(server));
        assertThat(retry.exit()).as(retry.toString()).isZero();
        assertThat(retry.out()).contains("job " + id + ": retrying, now queued");
        // Stop it again so that nothing keeps running behind the other tests.
        Cli.Run stop = Cli.run("jobs", "cancel", id, "--server", url(server));
        assertThat(stop.exit()).as(stop.toString()).isZero();
        Await.until(WAIT, "job cancelled again", () -> Json.parse(server.get("/api/v1/jobs/" + id).body())
                .path("state").asText().equals("cancelled"));

        Cli.Run missing = Cli.run("jobs", "show", "nosuchjob", "--server", url(server));
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("404 not_found");
    }

    @Test
    void anUploadTheServerNoLongerHasStartsOver() throws Exception {
        Path f = Cli.randomFile(dir, "gone.bin", 200_000, 10);
        Path state = stateFile("gone");
        new UploadState(state).put(UploadState.key(URI.create(url(server)), f), f,
                URI.create(url(server) + "/files/01M84A0XEBDG9KWYQP57BPHWTJ"));
        Cli.Run r = Cli.run("upload", "--server", url(server), "--state-file", state.toString(), f.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("gone.bin: the earlier upload is gone from the server; starting over")
                .contains("sha256=" + Cli.sha256(f));
        assertThat(Json.parse(Files.readString(state)).elements().next().path("sha256").asText())
                .isEqualTo(Cli.sha256(f));
    }

    @Test
    void statusSaysTheStateAndExitsZeroWhenReady() throws Exception {
        Cli.Run r = Cli.run("status", "--server", url(server));
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("state:       ACCEPTING, ready").contains("uptime:").contains("memory:")
                .contains("connections:").contains("uploads:").contains("disk:").contains("shedding:");
        Cli.Run json = Cli.run("status", "--json", "--server", url(server));
        assertThat(Json.parse(json.out()).path("state").asText()).isEqualTo("ACCEPTING");
    }

    @Test
    void anUnreachableServerIsExitOne() {
        Cli.Run r = Cli.run("status", "--server", "http://127.0.0.1:1");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("cannot reach http://127.0.0.1:1");
    }

    @Test
    void usageMistakesAreExitTwo() throws Exception {
        assertThat(Cli.run("upload", "--server", url(server), dir.resolve("missing.bin").toString()).exit())
                .isEqualTo(2);
        Path f = Cli.randomFile(dir, "u.bin", 10, 8);
        assertThat(Cli.run("upload", "--server", url(server), "--chunk-size", "lots", f.toString()).exit())
                .isEqualTo(2);
        assertThat(Cli.run("upload", "--server", url(server), "--parallel", "0", f.toString()).exit())
                .isEqualTo(2);
        assertThat(Cli.run("upload", "--no-such-option", f.toString()).exit()).isEqualTo(2);
        assertThat(Cli.run("upload").exit()).isEqualTo(2);
        assertThat(Cli.run("jobs", "show").exit()).isEqualTo(2);
    }

    @Test
    void a503WithRetryAfterIsWaitedOut(@TempDir Path own) throws Exception {
        try (TestServer busy = TestServer.start(own.resolve("data"), "admission.maxConcurrentUploads", "1",
                "admission.retryAfter", "1s")) {
            byte[] body = new byte[64 * 1024];
            Path f = Cli.randomFile(own, "late.bin", 300_000, 9);
            RawResponse held;
            Cli.Live live = new Cli.Live();
            CompletableFuture<Cli.Run> run;
            // Held from another address: another client, so the refusal is the global 503, not the per-client 429.
            try (HeldUpload slot = HeldUpload.start(busy.port(), "127.0.0.2", "holder.bin", body, 1024)) {
                Await.until(WAIT, "the slot is held", () -> busy.app().admission().activeUploads() == 1);
                run = CompletableFuture.supplyAsync(() -> live.run("upload", "--server", url(busy),
                        "--state-file", own.resolve("state.json").toString(), f.toString()));
                Await.until(WAIT, "the client waits for a 503", () -> live.out().contains("retrying in"));
                held = slot.finish();
            }
            assertThat(held.status()).isEqualTo(201);
            Cli.Run r = run.get(60, TimeUnit.SECONDS);
            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.out()).contains("server answered 503").contains("late.bin  id=")
                    .contains("sha256=" + Cli.sha256(f));
            busy.assertNothingLeftBehind();
        }
    }
}
