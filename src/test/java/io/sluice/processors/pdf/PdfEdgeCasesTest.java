package io.sluice.processors.pdf;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PDF edge cases through the real server, the pipeline isolated in its child JVM as by default: a PDF whose page
 * tree loops on itself fails at once ({@code pdf_unreadable}, one attempt of three, the stage it failed in kept);
 * a one-line PDF, shorter than the chunk overlap, succeeds with its text in one chunk.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PdfEdgeCasesTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    static Path dir;
    @RegisterExtension
    // Three attempts with a short backoff: a retry, if there were one, would show within the wait.
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
                    jobs:
                      pollInterval: 50ms
                      backoffBase: 100ms
                      backoffCap: 200ms
                    pipelines:
                      docs:
                        processor: pdf
                        maxAttempts: 3
                    """);

    @Test
    void aPageTreeThatLoopsOnItselfFailsAtOnceAsUnreadable() throws Exception {
        Path pdf = PdfFixtures.loopingPageTree(dir.resolve("loop.pdf"));

        JsonNode job = runJob("loop.pdf", Files.readAllBytes(pdf));

        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("failed");
        assertThat(job.at("/error/code").asText()).isEqualTo("pdf_unreadable");
        assertThat(job.at("/error/message").asText()).contains("no readable page").contains("99999999");
        assertThat(job.path("attempt").asInt()).as("not retried").isEqualTo(1);
        assertThat(job.path("maxAttempts").asInt()).isEqualTo(3);
        assertThat(job.path("stage").asText()).as("where it failed").isEqualTo("opening");
        assertThat(job.has("result")).isFalse();
        assertThat(server.get("/api/v1/jobs/" + job.path("id").asText() + "/output").statusCode()).isEqualTo(404);
        assertNoJobFilesLeft();
        server.assertNothingLeftBehind();
    }

    @Test
    void aOneLinePdfSucceedsWithItsTextInOneChunk() throws Exception {
        String line = "Policy 7: one line, far shorter than the 200-character overlap.";
        Path pdf = PdfFixtures.write(dir.resolve("one.pdf"), List.of(List.of(line)), doc -> { });

        JsonNode job = runJob("one.pdf", Files.readAllBytes(pdf));

        assertThat(job.path("state").asText()).as(job.toString()).isEqualTo("succeeded");
        assertThat(job.path("attempt").asInt()).isEqualTo(1);
        assertThat(job.at("/result/pages").asInt()).isEqualTo(1);
        assertThat(job.at("/result/chunks").asInt()).isEqualTo(1);
        assertThat(job.path("stage").asText()).isEqualTo("page 1 of 1");
        HttpResponse<String> output = server.get("/api/v1/jobs/" + job.path("id").asText() + "/output");
        assertThat(output.statusCode()).isEqualTo(200);
        assertThat(output.body().lines().toList()).singleElement().satisfies(l -> {
            JsonNode chunk = Json.parse(l);
            assertThat(chunk.path("text").asText()).isEqualTo(line);
            assertThat(chunk.path("chunk").asInt()).isZero();
            assertThat(chunk.path("pageStart").asInt()).isEqualTo(1);
            assertThat(chunk.path("pageEnd").asInt()).isEqualTo(1);
        });
        assertNoJobFilesLeft();
        server.assertNothingLeftBehind();
    }

    /** Uploads {@code bytes} into the {@code docs} pipeline and returns its job once it has ended. */
    private static JsonNode runJob(String name, byte[] bytes) throws Exception {
        HttpResponse<String> put = server.put("/api/v1/uploads/" + name + "?pipeline=docs", bytes);
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        String jobId = Json.parse(put.body()).at("/uploads/0/job/id").asText();
        JsonNode[] last = new JsonNode[1];
        Await.until(WAIT, "job " + jobId + " to end", () -> {
            last[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
            String state = last[0].path("state").asText();
            return state.equals("succeeded") || state.equals("failed");
        });
        return last[0];
    }

    /** No attempt's temporary output or scratch directory is left once its job has ended. */
    private static void assertNoJobFilesLeft() throws Exception {
        Path data = server.dataDir();
        Await.until(Duration.ofSeconds(5), "job temporaries removed", () -> count(data.resolve("outputs/tmp")) == 0
                && count(data.resolve("work")) == 0);
    }

    private static long count(Path d) throws Exception {
        if (!Files.isDirectory(d)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }
}
