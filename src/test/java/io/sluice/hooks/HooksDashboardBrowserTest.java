package io.sluice.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.testing.NodeScript;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in Chromium against a server with upload hooks: the System panel lists them (host, calls by
 * outcome) and a tus upload whose preFinish is refused shows the application's message on its row, answered to
 * its final PATCH.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class HooksDashboardBrowserTest {

    @Test
    void theSystemPanelListsTheHooksAndARefusedUploadShowsTheApplicationsMessage(@TempDir Path dir)
            throws Exception {
        NodeScript.assumeAvailable("playwright-core");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/chromium")),
                "SKIPPED: /usr/bin/chromium is missing (scripts/test-deps installs it)");
        Path file = dir.resolve("scan-me.bin");
        byte[] bytes = new byte[200_000];
        new Random(17).nextBytes(bytes);
        Files.write(file, bytes);
        try (HookApp app = new HookApp();
             TestServer server = TestServer.start(dir.resolve("data"), "hooks.preCreate", app.url("/create"),
                     "hooks.preFinish", app.url("/finish"), "webhooks.secret", "hook-secret-0123456789")) {
            app.preFinish = j -> HookApp.Reply.refuse(422, "malware found by the scanner");
            ObjectNode options = JsonNodeFactory.instance.objectNode()
                    .put("url", server.uri("").toString())
                    .put("file", file.toString());
            NodeScript.Result run = NodeScript.run(Duration.ofSeconds(60), "dashboard-hooks.mjs", options.toString());
            String out = run.describe();
            assertThat(run.exitCode()).as(out).isZero();
            assertThat(of(run.events(), "hooks").path("text").asText()).as(out)
                    .contains("preCreate → 127.0.0.1:" + app.port()).contains("preFinish → 127.0.0.1:" + app.port())
                    .doesNotContain("token").doesNotContain("undefined");
            JsonNode refused = of(run.events(), "refused");
            assertThat(refused.path("status").asText()).as(out)
                    .endsWith("hook_refused: malware found by the scanner");
            List<String> methods = new ArrayList<>();
            refused.path("requests").forEach(m -> methods.add(m.asText()));
            assertThat(methods).as("the refusal answered the final PATCH, not retried\n%s", out)
                    .containsExactly("POST", "PATCH");
            assertThat(of(run.events(), "counted").path("text").asText()).contains("1 refused");
            assertThat(of(run.events(), "done").path("problems")).as(out).isEmpty();
            assertThat(server.get("/api/v1/uploads").body()).doesNotContain("scan-me");
            server.assertNothingLeftBehind();
        }
    }

    private static JsonNode of(List<JsonNode> events, String name) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " event in " + events));
    }
}
