package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's "The spreadsheet processor" section is a promise: its configuration starts a server, and the csv
 * it shows gives exactly the output and result it shows.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpreadsheetReadmeTest {

    @Test
    void theReadmeExampleGivesTheDocumentedOutputAndResult(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("### The `spreadsheet` processor\n");
        assertThat(section).isPositive();
        String text = readme.substring(section, readme.indexOf("\n### ", section + 1));
        String yaml = block(text, "```yaml\n");
        String output = block(text.substring(text.indexOf("this output")), "```\n");
        Matcher csv = Pattern.compile("A csv file (`[^`]+`(?: / `[^`]+`)*) gives").matcher(text.replace("\n", " "));
        assertThat(csv.find()).isTrue();
        String body = String.join("\n", csv.group(1).replace("`", "").split(" / ")) + "\n";
        Matcher result = Pattern.compile("and this `result`: `([^`]+)`").matcher(text.replace("\n", ""));
        assertThat(result.find()).isTrue();

        Path config = Files.writeString(dir.resolve("sluice.yaml"), yaml);
        try (TestServer server = TestServer.start(dir.resolve("data"), config, "jobs.pollInterval", "50ms")) {
            HttpResponse<String> created = server.send(HttpRequest.newBuilder(
                            server.uri("/api/v1/uploads/stock.csv"))
                    .PUT(HttpRequest.BodyPublishers.ofString(body)).build());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String jobId = Json.parse(created.body()).at("/uploads/0/job/id").asText();
            JsonNode[] job = new JsonNode[1];
            Await.until(Duration.ofSeconds(30), "job " + jobId, () -> {
                job[0] = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
                return !List.of("queued", "running").contains(job[0].path("state").asText());
            });
            assertThat(job[0].path("state").asText()).as(job[0].toString()).isEqualTo("succeeded");
            assertThat(job[0].path("result")).isEqualTo(Json.parse(result.group(1)));
            assertThat(server.get("/api/v1/jobs/" + jobId + "/output").body()).isEqualTo(output);

            HttpResponse<String> refused = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/other.csv"))
                    .PUT(HttpRequest.BodyPublishers.ofString("name,price\nA,1\n")).build());
            assertThat(refused.statusCode()).isEqualTo(422);
            assertThat(Json.errorCode(refused.body())).isEqualTo("missing_columns");
            server.assertNothingLeftBehind();
        }
    }

    /** The first fenced block opened by {@code fence} in {@code text}, without its fences. */
    private static String block(String text, String fence) {
        int start = text.indexOf(fence) + fence.length();
        return text.substring(start, text.indexOf("```", start));
    }
}
