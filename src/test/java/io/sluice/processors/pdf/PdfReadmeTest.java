package io.sluice.processors.pdf;

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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's "The pdf processor" section is a promise: its configuration starts a server (in a child JVM, as the
 * processor runs by default), and the two-page PDF it describes gives exactly the output it shows and a result with
 * the members it lists.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PdfReadmeTest {

    @Test
    void theReadmeExampleGivesTheDocumentedOutput(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("### The `pdf` processor\n");
        assertThat(section).isPositive();
        String text = readme.substring(section, readme.indexOf("\n### ", section + 1));
        int yamlStart = text.indexOf("```yaml\n") + "```yaml\n".length();
        String yaml = text.substring(yamlStart, text.indexOf("```", yamlStart));
        int outStart = text.indexOf("```\n", text.indexOf("gives this output")) + "```\n".length();
        String output = text.substring(outStart, text.indexOf("```", outStart));

        Path pdf = PdfFixtures.write(dir.resolve("policy.pdf"),
                List.of(List.of("Policy 42: flood cover."), List.of("Excess: 250 EUR.")), doc -> {
                    doc.getDocumentInformation().setTitle("Policy 42");
                });
        Path config = Files.writeString(dir.resolve("sluice.yaml"), yaml);
        try (TestServer server = TestServer.start(dir.resolve("data"), config, "jobs.pollInterval", "50ms")) {
            HttpResponse<String> created = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/policy.pdf"))
                    .PUT(HttpRequest.BodyPublishers.ofFile(pdf)).build());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String jobId = Json.parse(created.body()).at("/uploads/0/job/id").asText();
            JsonNode[] job = {Await.jobEnded(server, jobId, Duration.ofSeconds(60))};
            assertThat(job[0].path("state").asText()).as(job[0].toString()).isEqualTo("succeeded");
            assertThat(server.get("/api/v1/jobs/" + jobId + "/output").body()).isEqualTo(output);
            JsonNode result = job[0].path("result");
            for (String member : List.of("pages", "title", "chunks", "characters", "encrypted", "pagesWithoutText",
                    "outputLines")) {
                assertThat(result.has(member)).as(member + " in " + result).isTrue();
                assertThat(text).contains("`" + member + "`");
            }
            assertThat(result.path("pages").asInt()).isEqualTo(2);
        }
    }
}
