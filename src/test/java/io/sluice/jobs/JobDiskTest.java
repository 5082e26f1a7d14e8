package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.SmallDisk;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A job attempt reserves its estimate on the data disk's ledger like an upload does: on a disk that cannot hold it
 * above {@code limits.diskReserve} the attempt fails with a retryable {@code insufficient_storage}, leaves nothing,
 * and the job runs once space returns. A real tmpfs; another program's file takes the space.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class JobDiskTest {

    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void anAttemptThatDoesNotFitFailsRetryablyAndTheJobRunsOnceSpaceReturns() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir, 64)) {
            Path other = disk.root().resolve("other-program.bin");
            Files.write(other, new byte[12 * MIB]);
            Path config = Files.writeString(dir.resolve("sluice.yaml"), """
                    pipelines:
                      archive:
                        processor: noop
                        default: true
                    """);
            try (TestServer server = TestServer.start(disk.root().resolve("data"), config,
                    "limits.diskReserve", "20MiB", "jobs.pollInterval", "50ms", "jobs.backoffBase", "200ms",
                    "jobs.backoffCap", "500ms", "jobs.maxAttempts", "100")) {
                // The upload fits above the reserve; its job's estimate (the upload's size again) then does not.
                HttpResponse<String> created = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/a.bin"))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[18 * MIB])).build());
                assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                String jobId = Json.parse(created.body()).at("/uploads/0/job/id").asText();

                JsonNode[] job = new JsonNode[1];
                Await.until(Duration.ofSeconds(30), "an attempt refused for disk space", () -> {
                    job[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
                    return "insufficient_storage".equals(job[0].at("/error/code").asText());
                });
                assertThat(job[0].path("state").asText()).as(job[0].toString()).isIn("queued", "running");
                assertThat(server.app().admission().disk().reserved()).as("a refused attempt holds no reservation")
                        .isLessThan(18L * MIB);

                Files.delete(other);
                Await.until(Duration.ofSeconds(30), "the job to succeed once space returns", () -> {
                    job[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
                    return job[0].path("state").asText().equals("succeeded");
                });
                assertThat(job[0].path("attempt").asInt()).isGreaterThanOrEqualTo(2);
                server.assertNothingLeftBehind();
            }
        }
    }
}
