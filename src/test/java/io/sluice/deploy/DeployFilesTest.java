package io.sluice.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sluice.config.ServerConfig;
import io.sluice.config.Units;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The files in {@code deploy/}: the systemd unit passes {@code systemd-analyze verify} and says what the issue asks;
 * the Kubernetes manifests parse, their probes name paths the server really answers, the grace periods outlast
 * the server's drain; the Dockerfile is only read (no image can be built here).
 */
class DeployFilesTest {

    private static final Path DEPLOY = Path.of("deploy");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path dir;

    @Test
    void systemdUnitVerifiesAndIsANotifyServiceWithWatchdogAndGracefulStop() throws Exception {
        Path unit = DEPLOY.resolve("sluice.service");
        Map<String, String> service = section(Files.readAllLines(unit), "[Service]");
        assertThat(service).containsEntry("Type", "notify").containsEntry("Restart", "on-failure")
                .containsEntry("KillSignal", "SIGTERM").containsEntry("User", "sluice")
                .containsKeys("WatchdogSec", "MemoryMax", "NoNewPrivileges", "ProtectSystem")
                .doesNotContainKey("MemoryDenyWriteExecute"); // would break the JIT
        assertThat(Units.parseDuration(service.get("TimeoutStopSec")))
                .isGreaterThan(ServerConfig.DEFAULT_SHUTDOWN_GRACE);
        assertThat(service.get("ExecStart")).contains(" serve ");

        Path analyze = Path.of("/usr/bin/systemd-analyze");
        if (!Files.isExecutable(analyze)) {
            System.err.println("SKIPPED: systemd-analyze is not installed; the unit was not verified");
            Assumptions.abort("systemd-analyze is not installed");
        }
        Path checked = unit;
        if (!Files.isExecutable(Path.of("/usr/bin/java"))) {
            // verify insists that ExecStart's binary exists; point it at the JVM running this test instead.
            checked = dir.resolve("sluice.service");
            Files.writeString(checked, Files.readString(unit).replace("/usr/bin/java",
                    ProcessHandle.current().info().command().orElseThrow()));
        }
        Process p = new ProcessBuilder(analyze.toString(), "verify", checked.toString()).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // verify exits 0 even for unknown keys and bad values; it only warns, so any output is a failure.
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).isEmpty();
    }

    @Test
    void kubernetesProbesNameThePathsTheServerAnswers() throws Exception {
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        try (var files = Files.list(DEPLOY.resolve("kubernetes"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                JsonNode doc = YAML.readTree(f.toFile());
                assertThat(doc.path("apiVersion").asText()).as(f.toString()).isNotEmpty();
                assertThat(doc.path("kind").asText()).as(f.toString()).isNotEmpty();
                if (!doc.path("kind").asText().equals("Kustomization")) {
                    byName.put(doc.path("kind").asText() + "/" + doc.path("metadata").path("name").asText(), doc);
                }
            }
        }
        assertThat(byName).containsOnlyKeys("Deployment/sluice-api", "Deployment/sluice-worker", "Service/sluice",
                "PersistentVolumeClaim/sluice-data");

        JsonNode api = byName.get("Deployment/sluice-api").path("spec").path("template");
        JsonNode container = api.path("spec").path("containers").get(0);
        assertThat(container.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/health");
        assertThat(container.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/health/ready");
        assertThat(container.path("startupProbe").path("httpGet").path("path").asText()).isEqualTo("/health");
        assertThat(container.path("resources").path("limits").path("memory").asText()).isNotEmpty();
        assertThat(api.path("spec").path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(ServerConfig.DEFAULT_SHUTDOWN_GRACE.toSeconds());
        // The probes' named port is the container port the server is told to listen on.
        String port = container.path("ports").get(0).path("containerPort").asText();
        assertThat(container.path("ports").get(0).path("name").asText()).isEqualTo("http");
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        assertThat(args).startsWith("serve").containsSequence("--port", port).containsSequence("--host", "0.0.0.0");

        JsonNode service = byName.get("Service/sluice").path("spec");
        JsonNode labels = api.path("metadata").path("labels");
        service.path("selector").properties().forEach(e ->
                assertThat(labels.path(e.getKey()).asText()).as("selector " + e.getKey()).isEqualTo(e.getValue().asText()));
        assertThat(service.path("ports").get(0).path("targetPort").asText()).isEqualTo("http");

        JsonNode worker = byName.get("Deployment/sluice-worker").path("spec").path("template").path("spec");
        assertThat(worker.path("containers").get(0).path("args").get(0).asText()).isEqualTo("worker");
        // The worker's flags are ones the real command line takes, and its probes ask its own port.
        List<String> workerArgs = new ArrayList<>();
        worker.path("containers").get(0).path("args").forEach(a -> workerArgs.add(a.asText()));
        io.sluice.cli.Main.commandLine().parseArgs(workerArgs.toArray(String[]::new));
        JsonNode workerContainer = worker.path("containers").get(0);
        assertThat(workerArgs).containsSequence("--port", workerContainer.path("ports").get(0).path("containerPort")
                .asText()).containsSequence("--host", "0.0.0.0");
        assertThat(workerContainer.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/health");
        assertThat(workerContainer.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/health/ready");
        String claim = byName.get("PersistentVolumeClaim/sluice-data").path("metadata").path("name").asText();
        assertThat(api.path("spec").path("volumes").findValuesAsText("claimName")).containsExactly(claim);

        // The paths answer as the probes expect on a real server.
        try (TestServer server = TestServer.start(dir.resolve("data"))) {
            assertThat(server.get("/health").statusCode()).isEqualTo(200);
            assertThat(server.get("/health/ready").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void dockerfileBuildsOnAJdkAndRunsOnAJreAsTheSamePortAndUser() throws Exception {
        // Read only: images cannot be pulled on this machine, so nothing here builds the image.
        String docker = Files.readString(DEPLOY.resolve("Dockerfile"));
        assertThat(docker).containsPattern("(?m)^FROM maven:\\S*temurin-25\\S* AS build$")
                .containsPattern("(?m)^FROM eclipse-temurin:25-jre$")
                .contains("EXPOSE 8080", "USER 10001:10001", "\"serve\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"");
        JsonNode api = YAML.readTree(DEPLOY.resolve("kubernetes/api-deployment.yaml").toFile());
        assertThat(api.path("spec").path("template").path("spec").path("securityContext").path("runAsUser").asInt())
                .isEqualTo(10001);
    }

    /** KEY=VALUE lines of one section of a unit file (the last value wins, as systemd reads most keys). */
    private static Map<String, String> section(List<String> lines, String name) {
        Map<String, String> out = new LinkedHashMap<>();
        boolean in = false;
        for (String line : lines) {
            String l = line.strip();
            if (l.startsWith("[")) {
                in = l.equals(name);
            } else if (in && !l.isEmpty() && !l.startsWith("#")) {
                int eq = l.indexOf('=');
                out.put(l.substring(0, eq), l.substring(eq + 1));
            }
        }
        return out;
    }
}
