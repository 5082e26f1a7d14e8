package io.sluice.examples;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.AdminKeys;
import io.sluice.testing.Json;
import io.sluice.testing.NodeScript;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 17's example, {@code examples/user-uploads}: the application ({@code app.mjs}, run as it is under node)
 * signs upload tokens and answers the pre-create hook; its page uploads with tus-js-client straight to Sluice, which
 * runs the example's own {@code sluice.yaml} with only the ports and the data directory replaced. In Chromium: a
 * user gets a token, a PDF and a text file are stored, owned by {@code sub:<user>} with the token's and the hook's
 * metadata merged in; {@code setup.exe} is refused with the hook's message and nothing is stored; a tus POST
 * without the token is {@code 401}. Without Chromium, the same over HTTP with the app's own tokens and the Python
 * signer. Skipped loudly without node, its packages or {@code /usr/bin/chromium}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UserUploadsExampleTest {

    static final Path EXAMPLE = Path.of("examples", "user-uploads").toAbsolutePath();
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final String APP = "127.0.0.1:3000";
    /** The secrets the example's files share (sluice.yaml, app.mjs and sign_token.py defaults). */
    static final String JWT_SECRET = "example-only-jwt-secret-change-me-0123456789";
    static final String HOOK_SECRET = "example-only-hook-secret-change-me";

    @TempDir
    static Path dir;
    static TestServer server;
    static String admin;
    static int appPort;
    static Process app;
    static final ByteArrayOutputStream appOutput = new ByteArrayOutputStream();

    @BeforeAll
    static void start() throws Exception {
        if (NodeScript.missing("tus-js-client").isPresent()) {
            return; // each test skips, loudly, in checkNode()
        }
        try (ServerSocket probe = new ServerSocket(0)) {
            appPort = probe.getLocalPort();
        }
        String yaml = Files.readString(EXAMPLE.resolve("sluice.yaml"));
        assertThat(yaml).as("the example names the app's origin and its hook")
                .contains("http://" + APP + "/hooks/pre-create", "corsOrigins: [http://" + APP + "]")
                .contains(JWT_SECRET, HOOK_SECRET);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, yaml.replace(APP, "127.0.0.1:" + appPort));
        server = TestServer.start(dir.resolve("data"), config);
        admin = AdminKeys.create(server, "example-test");

        ProcessBuilder pb = new ProcessBuilder("node", EXAMPLE.resolve("app.mjs").toString()).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("PORT", String.valueOf(appPort));
        env.put("SLUICE_URL", "http://127.0.0.1:" + server.port());
        env.put("JWT_SECRET", JWT_SECRET);
        env.put("HOOK_SECRET", HOOK_SECRET);
        env.put("TUS_JS", NodeScript.DIR.resolve("node_modules/tus-js-client/dist/tus.min.js").toString());
        app = pb.start();
        app.getOutputStream().close();
        Thread.ofVirtual().start(() -> {
            try (InputStream in = app.getInputStream()) {
                in.transferTo(appOutput);
            } catch (IOException e) {
                // the app was stopped
            }
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!appOutput().contains("user-uploads app on")) {
            assertThat(app.isAlive()).as("app.mjs exited: " + appOutput()).isTrue();
            assertThat(System.nanoTime()).as("app.mjs did not start: " + appOutput()).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (app != null) {
            app.destroy();
            if (!app.waitFor(10, TimeUnit.SECONDS)) {
                app.destroyForcibly();
            }
        }
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void checkNode() {
        NodeScript.assumeAvailable("tus-js-client");
    }

    static String appOutput() {
        synchronized (appOutput) {
            return appOutput.toString(StandardCharsets.UTF_8);
        }
    }

    /** The page in Chromium: token, two files stored, the .exe refused with the hook's message, no token no upload. */
    @Test
    void inChromiumATokenHolderUploadsAndTheHookRefusesAnExe() throws Exception {
        NodeScript.assumeAvailable("playwright-core", "tus-js-client");
        if (!Files.isExecutable(CHROMIUM)) {
            String message = "SKIPPED: " + CHROMIUM + " is missing. Run scripts/test-deps as root (it installs "
                    + "Debian's chromium package), or apt-get install chromium.";
            System.err.println("=".repeat(80));
            System.err.println("WARNING: the user-uploads browser test is " + message);
            System.err.println("=".repeat(80));
            Assumptions.abort(message);
        }
        byte[] pdf = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".getBytes(StandardCharsets.US_ASCII);
        byte[] txt = "notes for the quarterly report\n".getBytes(StandardCharsets.UTF_8);
        Path files = Files.createDirectories(dir.resolve("browser-files"));
        Path pdfFile = Files.write(files.resolve("report.pdf"), pdf);
        Path txtFile = Files.write(files.resolve("notes.txt"), txt);
        Path exeFile = Files.write(files.resolve("setup.exe"), "MZ not really a program".getBytes(StandardCharsets.US_ASCII));
        long blobsBefore = server.blobFiles();

        NodeScript.Result run = NodeScript.run(Duration.ofSeconds(70), "examples/user-uploads-browser.mjs",
                "http://127.0.0.1:" + appPort, "alice", pdfFile.toString(), txtFile.toString(), exeFile.toString());
        assertThat(run.exitCode()).as(run.describe() + "\n--- app.mjs\n" + appOutput()).isZero();
        List<JsonNode> events = run.events();
        assertThat(event(events, "token", run).path("status").asText()).isEqualTo("ready");
        List<JsonNode> filesShown = events.stream().filter(e -> e.path("event").asText().equals("file")).toList();
        assertThat(filesShown).hasSize(3);
        assertThat(filesShown.get(0).path("state").asText()).as(run.describe()).isEqualTo("done");
        assertThat(filesShown.get(1).path("state").asText()).as(run.describe()).isEqualTo("done");
        assertThat(filesShown.get(2).path("state").asText()).as(run.describe()).isEqualTo("refused");
        assertThat(filesShown.get(2).path("text").asText())
                .isEqualTo("setup.exe: setup.exe: executables are not accepted here");
        JsonNode tokenless = event(events, "tokenless", run);
        assertThat(tokenless.path("status").asInt()).as(run.describe()).isEqualTo(401);
        assertThat(tokenless.path("code").asText()).isEqualTo("unauthorized");
        assertThat(event(events, "done", run).path("problems")).as("console errors, page errors").isEmpty();

        // What the application sees over the API: alice's two uploads, intact, with the token's and the hook's
        // metadata; nothing of setup.exe.
        JsonNode listed = Json.parse(api("/api/v1/uploads?owner=sub:alice").body()).path("uploads");
        assertThat(listed).as(listed.toString()).hasSize(2);
        List<String> names = new ArrayList<>();
        for (JsonNode u : listed) {
            names.add(u.path("filename").asText());
            assertThat(u.path("owner").asText()).isEqualTo("sub:alice");
            assertThat(u.path("metadata").path("uploadedBy").asText()).as(u.toString()).isEqualTo("alice");
            assertThat(u.path("metadata").path("checkedBy").asText()).as(u.toString())
                    .isEqualTo("user-uploads example");
            byte[] expected = u.path("filename").asText().equals("report.pdf") ? pdf : txt;
            assertThat(u.path("size").asLong()).isEqualTo(expected.length);
            HttpResponse<byte[]> content = server.client().send(HttpRequest.newBuilder(
                    server.uri("/api/v1/uploads/" + u.path("id").asText() + "/content"))
                    .header("Authorization", "Bearer " + admin).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(content.body()).isEqualTo(expected);
        }
        assertThat(names).containsExactlyInAnyOrder("report.pdf", "notes.txt");
        JsonNode all = Json.parse(api("/api/v1/uploads").body()).path("uploads");
        assertThat(all.findValuesAsText("filename")).doesNotContain("setup.exe");
        assertThat(server.blobFiles()).as("only the two stored files' bytes").isEqualTo(blobsBefore + 2);
        assertThat(appOutput()).contains("pre-create \"setup.exe\" by alice: refuse")
                .contains("pre-create \"report.pdf\" by alice: allow");
        server.assertNothingLeftBehind();
    }

    /**
     * The two signers of the example (the app's {@code /token} in Node, {@code sign_token.py} in Python) make tokens
     * Sluice accepts, and the pre-create hook also guards a plain {@code PUT}: a {@code .exe} is {@code 403
     * hook_refused} with the app's message and nothing is stored.
     */
    @Test
    void bothSignersTokensAreAcceptedAndTheHookGuardsEveryPath() throws Exception {
        HttpResponse<String> minted = server.client().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + appPort + "/token"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"bob\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(minted.statusCode()).as(minted.body()).isEqualTo(200);
        String nodeToken = Json.parse(minted.body()).path("token").asText();

        HttpResponse<String> put = upload(nodeToken, "plan.txt", "the plan");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        JsonNode stored = Json.parse(put.body()).at("/uploads/0");
        assertThat(stored.path("metadata").path("uploadedBy").asText()).as(put.body()).isEqualTo("bob");

        HttpResponse<String> exe = upload(nodeToken, "tool.exe", "MZ");
        assertThat(exe.statusCode()).as(exe.body()).isEqualTo(403);
        assertThat(Json.errorCode(exe.body())).isEqualTo("hook_refused");
        assertThat(Json.parse(exe.body()).path("error").path("message").asText())
                .isEqualTo("tool.exe: executables are not accepted here");
        server.assertNothingLeftBehind();

        String pyToken = python(EXAMPLE.resolve("sign_token.py").toString(), "carol");
        if (pyToken != null) {
            HttpResponse<String> r = upload(pyToken, "carol.txt", "from python");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            assertThat(Json.parse(api("/api/v1/uploads?owner=sub:carol").body()).path("uploads")).hasSize(1);
        }

        // A bearer that is no token of this application: 401 with the reason, nothing stored.
        HttpResponse<String> forged = upload(nodeToken.substring(0, nodeToken.lastIndexOf('.') + 1) + "AAAA",
                "plan.txt", "x");
        assertThat(forged.statusCode()).as(forged.body()).isEqualTo(401);
        assertThat(Json.errorCode(forged.body())).isEqualTo("invalid_token");
        server.assertNothingLeftBehind();
    }

    static HttpResponse<String> upload(String token, String name, String content) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/" + name))
                .header("Authorization", "Bearer " + token)
                .PUT(HttpRequest.BodyPublishers.ofString(content)).build());
    }

    static HttpResponse<String> api(String path) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + admin)
                .build());
    }

    /** The token {@code sign_token.py} prints, or null (with a loud warning) when python3 is missing. */
    static String python(String script, String user) throws Exception {
        Process p;
        try {
            ProcessBuilder pb = new ProcessBuilder("python3", script, user);
            pb.environment().put("JWT_SECRET", JWT_SECRET);
            p = pb.start();
        } catch (IOException e) {
            System.err.println("WARNING: python3 is missing: sign_token.py of examples/user-uploads is NOT tested");
            return null;
        }
        p.getOutputStream().close();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("sign_token.py ends").isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.exitValue()).as(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        return out;
    }

    static JsonNode event(List<JsonNode> events, String name, NodeScript.Result run) {
        return events.stream().filter(e -> e.path("event").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + name + "' event\n" + run.describe()));
    }
}
