package io.sluice.site;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.testing.Json;
import io.sluice.testing.NodeScript;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
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
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard's Files view and the upload list's honesty, in Chromium through playwright-core
 * ({@code src/test/node/dashboard-files.mjs}).
 *
 * <p>{@link #filesViewListsSearchesFiltersPagesAndDeletes}: 1,000 tiny uploads (direct PUTs: text, PNG and PDF) and
 * one unfinished tus upload; the view pages by keyset cursor, searches, filters by type, sorts by name, copies an
 * id, deletes after a confirmation (Keep first, then Delete), lists the unfinished upload apart with its offset and
 * expiry and removes it; the top of the Files panel is saved as {@code target/dashboard-files.png} (and as
 * {@code docs/dashboard-files.png} with {@code -Dsluice.updateDocs=true}, so a test run leaves the tree clean).
 *
 * <p>{@link #refusalsAreFinalLimitsAreClientSideAlertsAreQuiet}: every alert rule listed and none coloured; a file over
 * the limit refused in the page with the server's own message and no request; a type only the server can detect
 * refused with its reason, Remove and no Resume; Clear finished; then failing uploads make the failure-rate rule fire
 * and only it is coloured.
 */
@Timeout(value = 110, unit = TimeUnit.SECONDS)
class DashboardFilesBrowserTest {

    static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(90);
    static final Path SCREENSHOT = Path.of("target", "dashboard-files.png").toAbsolutePath();
    /** The committed image; refreshed from {@link #SCREENSHOT} with {@code -Dsluice.updateDocs=true}. */
    static final Path DOCS_SCREENSHOT = Path.of("docs", "dashboard-files.png").toAbsolutePath();
    static final byte[] PNG = Base64.getDecoder().decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    @BeforeEach
    void needsNodeAndChromium() {
        NodeScript.assumeAvailable(DashboardBrowserTest.PACKAGE);
        Assumptions.assumeTrue(Files.isExecutable(DashboardBrowserTest.CHROMIUM),
                "SKIPPED: /usr/bin/chromium is missing; run scripts/test-deps as root");
    }

    @Test
    void filesViewListsSearchesFiltersPagesAndDeletes(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("sluice.yaml"), """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  noop:
                    processor: noop
                """);
        try (TestServer server = TestServer.start(dir.resolve("data"), config)) {
            List<String> created = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                String name;
                byte[] body;
                switch (i % 4) {
                    case 0 -> { name = String.format("scan-%04d.png", i); body = PNG; }
                    case 1 -> { name = String.format("invoice-%04d.pdf", i); body = ("%PDF-1.4\n% invoice " + i + "\n%%EOF\n").getBytes(); }
                    default -> { name = String.format("notes-%04d.txt", i); body = ("note " + i + "\n").repeat(1 + i % 50)
                            .getBytes(StandardCharsets.UTF_8); }
                }
                HttpResponse<String> r = server.put("/api/v1/uploads/" + name + (i % 20 == 2 ? "?pipeline=noop" : ""),
                        body);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
                created.add(Json.parse(r.body()).at("/uploads/0/id").asText());
            }
            String partialUrl = unfinishedTusUpload(server, "half-done.bin", 1000, 300);

            Files.createDirectories(SCREENSHOT.getParent());
            Files.deleteIfExists(SCREENSHOT);
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString())
                    .put("mode", "files")
                    .put("search", "notes-0042")
                    .put("deleteName", "invoice-0777.pdf")
                    .put("partialName", "half-done.bin")
                    .put("screenshot", SCREENSHOT.toString());
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "dashboard-files.mjs", options.toString());
            System.out.println(run.describe());
            assertThat(run.exitCode()).as(run.describe()).isZero();
            List<JsonNode> events = run.events();
            assertThat(event(events, "done", run).path("problems")).isEmpty();

            JsonNode pages = event(events, "pages", run);
            List<String> newest = created.reversed();
            assertThat(texts(pages.path("first"))).containsExactlyElementsOf(newest.subList(0, 50));
            assertThat(texts(pages.path("second"))).containsExactlyElementsOf(newest.subList(50, 100));
            assertThat(pages.path("label").asText()).isEqualTo("page 2");
            assertThat(texts(event(events, "search", run).path("names"))).containsExactly("notes-0042.txt");
            assertThat(texts(event(events, "filter", run).path("types"))).hasSize(50).containsOnly("image/png");
            List<String> sorted = texts(event(events, "sorted", run).path("names"));
            assertThat(sorted).isSortedAccordingTo(String::compareTo).hasSize(50).startsWith("invoice-0001.pdf");
            JsonNode copied = event(events, "copied", run);
            assertThat(copied.path("copied").asText()).isEqualTo(newest.getFirst());

            JsonNode download = event(events, "download", run);
            JsonNode newestUpload = Json.parse(server.get("/api/v1/uploads/" + newest.getFirst()).body());
            assertThat(download.path("name").asText()).isEqualTo(newestUpload.path("filename").asText());
            assertThat(download.path("bytes").asLong()).isEqualTo(newestUpload.path("size").asLong());
            assertThat(download.path("url").asText())
                    .isEqualTo(server.uri("/api/v1/uploads/" + newest.getFirst() + "/content").toString());

            JsonNode deleted = event(events, "deleted", run);
            assertThat(deleted.path("question").asText()).contains("invoice-0777.pdf");
            assertThat(deleted.path("keptRows").asInt()).as("Keep keeps it").isEqualTo(1);
            assertThat(deleted.path("id").asText()).isEqualTo(created.get(777));
            assertThat(server.get("/api/v1/uploads/" + created.get(777)).statusCode()).isEqualTo(404);
            assertThat(server.get("/api/v1/uploads/" + created.get(776)).statusCode()).isEqualTo(200);

            JsonNode partial = event(events, "partial", run);
            assertThat(partial.path("offset").asText()).isEqualTo("300 B of 1000 B (30 %)");
            assertThat(partial.path("expires").asText()).isNotBlank().isNotEqualTo("—");
            event(events, "partialRemoved", run);
            assertThat(Json.parse(server.get("/api/v1/resumable").body()).path("uploads")).isEmpty();
            assertThat(server.get(partialUrl).statusCode()).isIn(404, 410);
            assertThat(SCREENSHOT).isNotEmptyFile();
            assertThat(Files.size(SCREENSHOT)).as("a docs image, not a megabyte").isLessThan(400 * 1024);
            if (Boolean.getBoolean("sluice.updateDocs")) {
                Files.copy(SCREENSHOT, DOCS_SCREENSHOT, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            server.assertNothingLeftBehind();
        }
    }

    @Test
    void refusalsAreFinalLimitsAreClientSideAlertsAreQuiet(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("sluice.yaml"), """
                limits:
                  maxFileSize: 64KiB
                  allowedTypes: [text/plain]
                alerts:
                  interval: 200ms
                  for: 0s
                  uploadFailureRate: 0.5
                  uploadFailureMinCount: 3
                """);
        Path big = Files.write(dir.resolve("big.txt"), "y".repeat(70_000).getBytes());
        Path badType = Files.write(dir.resolve("picture"), PNG);
        Path ok = Files.write(dir.resolve("ok.txt"), "fine\n".getBytes());
        try (TestServer server = TestServer.start(dir.resolve("data"), config)) {
            // The words the page must use: the server's own answer to the same file.
            HttpResponse<String> serverSays = server.put("/api/v1/uploads/big.txt", Files.readAllBytes(big));
            assertThat(serverSays.statusCode()).isEqualTo(413);
            String serverMessage = Json.parse(serverSays.body()).at("/error/message").asText();
            // Cleared from the failure window's point of view: one failure of min 3 does not fire.
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString())
                    .put("mode", "refusals")
                    .put("bigFile", big.toString())
                    .put("badTypeFile", badType.toString())
                    .put("okFile", ok.toString());
            NodeScript.Result run = NodeScript.run(SCRIPT_TIMEOUT, "dashboard-files.mjs", options.toString());
            System.out.println(run.describe());
            assertThat(run.exitCode()).as(run.describe()).isZero();
            List<JsonNode> events = run.events();
            assertThat(event(events, "done", run).path("problems")).isEmpty();

            JsonNode neutral = event(events, "neutral", run).path("rules");
            assertThat(neutral.size()).isGreaterThanOrEqualTo(3);
            String neutralColor = null;
            for (JsonNode rule : neutral) {
                assertThat(rule.path("firing").asBoolean()).as(rule.toString()).isFalse();
                assertThat(rule.path("text").asText()).as("threshold shown").contains("alerts ");
                assertThat(rule.path("background").asText()).isEqualTo("rgba(0, 0, 0, 0)");
                neutralColor = rule.path("color").asText();
            }
            JsonNode failuresRule = find(neutral, "upload_failures");
            assertThat(failuresRule.path("text").asText()).contains("above 50 %");

            JsonNode tooLarge = event(events, "tooLarge", run);
            assertThat(tooLarge.path("status").asText()).isEqualTo("refused: file_too_large: " + serverMessage);
            assertThat(tooLarge.path("tusPosts").asInt()).as("refused before any request").isZero();
            assertThat(tooLarge.path("resumeVisible").asBoolean()).isFalse();
            assertThat(tooLarge.path("removeVisible").asBoolean()).isTrue();
            assertThat(tooLarge.path("limits").asText()).contains("64 KiB").contains("text/plain");

            JsonNode typeRefused = event(events, "typeRefused", run);
            assertThat(typeRefused.path("status").asText()).contains("type_not_allowed")
                    .contains("files of type image/png are not accepted");
            assertThat(typeRefused.path("tusPosts").asInt()).as("this one reached the server").isEqualTo(1);
            assertThat(typeRefused.path("resumeVisible").asBoolean()).isFalse();
            assertThat(typeRefused.path("removeVisible").asBoolean()).isTrue();
            assertThat(event(events, "cleared", run).path("rows").asInt()).isZero();

            JsonNode firing = event(events, "firing", run).path("rules");
            JsonNode fired = find(firing, "upload_failures");
            assertThat(fired.path("state").asText()).isEqualTo("FIRING");
            assertThat(fired.path("firing").asBoolean()).isTrue();
            assertThat(fired.path("text").asText()).containsPattern("firing since .+: \\d+(\\.\\d)? %");
            assertThat(fired.path("color").asText()).isNotEqualTo(neutralColor);
            for (JsonNode rule : firing) {
                if (!rule.path("state").asText().equals("FIRING")) {
                    assertThat(rule.path("firing").asBoolean()).as(rule.toString()).isFalse();
                }
            }
            server.assertNothingLeftBehind();
        }
    }

    /** Creates a tus upload of {@code length} bytes and sends the first {@code sent}; returns its path. */
    private static String unfinishedTusUpload(TestServer server, String name, int length, int sent) throws Exception {
        HttpResponse<String> created = server.send(HttpRequest.newBuilder(server.uri("/files/"))
                .POST(HttpRequest.BodyPublishers.noBody()).header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", String.valueOf(length))
                .header("Upload-Metadata", "filename " + Base64.getEncoder().encodeToString(name.getBytes()))
                .build());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        HttpResponse<String> patched = server.send(HttpRequest.newBuilder(server.uri(path))
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(new byte[sent]))
                .header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
                .header("Content-Type", "application/offset+octet-stream").build());
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);
        return path;
    }

    private static JsonNode find(JsonNode rules, String name) {
        for (JsonNode r : rules) {
            if (name.equals(r.path("rule").asText())) {
                return r;
            }
        }
        throw new AssertionError("no rule " + name + " in " + rules);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static JsonNode event(List<JsonNode> events, String name, NodeScript.Result run) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + name + "' event\n" + run.describe()));
    }
}
