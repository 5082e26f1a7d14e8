package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The roles as separate processes on one data directory (SQLite in WAL mode takes two processes): an API node
 * ({@code serve --no-workers}) enqueues and never runs jobs, a {@code worker} runs them and answers only health;
 * a SIGTERMed worker hands its running job back and another worker completes it once; webhook deliveries are sent
 * once although both processes send.
 */
@Timeout(value = 110, unit = TimeUnit.SECONDS)
class RolesTest {

    static final Duration WAIT = Duration.ofSeconds(40);
    static final int LINES = 40;
    static final List<String> JVM = List.of("-Xmx128m");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Path config(String extra) throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 2s
                pipelines:
                  quick:
                    processor: test-sleep
                    options: {lines: 3}
                  long:
                    processor: test-sleep
                    options: {lines: %d, delayMillis: 100}
                """.formatted(LINES) + extra);
        return config;
    }

    private ServerProcess api(Path config, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--no-workers", "--config", config.toString()));
        args.addAll(List.of(extra));
        return ServerProcess.serve(dir.resolve("data"), JVM, args.toArray(String[]::new));
    }

    private ServerProcess worker(Path config, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("worker", "--port", "0", "--data", dir.resolve("data").toString(),
                "--config", config.toString(), "--set", "limits.diskReserve=0"));
        args.addAll(List.of(extra));
        ServerProcess p = ServerProcess.start(JVM, Map.of(), args.toArray(String[]::new));
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    @Test
    void theApiNodeEnqueuesAndTheWorkerRunsTheJob() throws Exception {
        Path config = config("");
        try (ServerProcess api = api(config)) {
            String jobId = upload(api, "quick");
            // No worker yet: the API node never runs it.
            Thread.sleep(1000);
            assertThat(job(api, jobId).path("state").asText()).isEqualTo("queued");
            try (ServerProcess worker = worker(config)) {
                Await.until(WAIT, "job run by the worker",
                        () -> job(api, jobId).path("state").asText().equals("succeeded"));
                assertThat(worker.output()).contains("(worker) listening on").contains("job workers started");
                assertThat(api.output()).contains("(api) listening on").doesNotContain("job workers started");
                // The worker answers probes, and nothing of the upload API.
                assertThat(send(worker, "GET", "/health").statusCode()).isEqualTo(200);
                assertThat(send(worker, "GET", "/health/ready").statusCode()).isEqualTo(200);
                HttpResponse<String> put = send(worker, "PUT", "/api/v1/uploads/x.txt");
                assertThat(put.statusCode()).isEqualTo(404);
                assertThat(send(worker, "GET", "/api/v1/jobs/" + jobId).statusCode()).isEqualTo(404);
                stop(worker);
            }
            stop(api);
        }
    }

    @Test
    void aSigtermedWorkerReturnsItsJobAndAnotherCompletesItOnce() throws Exception {
        Path config = config("");
        try (ServerProcess api = api(config)) {
            String jobId = upload(api, "long");
            try (ServerProcess first = worker(config, "--set", "server.shutdownGrace=200ms")) {
                Await.until(WAIT, "job running with progress", () -> {
                    JsonNode j = job(api, jobId);
                    return j.path("state").asText().equals("running") && j.path("progress").asInt() > 0;
                });
                first.sigterm();
                assertThat(first.waitFor(Duration.ofSeconds(30))).as(first.output()).isZero();
                assertThat(first.output()).contains("job " + jobId + " returned to the queue");
            }
            JsonNode returned = job(api, jobId);
            assertThat(returned.path("state").asText()).isEqualTo("queued");
            assertThat(returned.path("attempt").asInt()).isEqualTo(1);

            try (ServerProcess second = worker(config)) {
                Await.until(WAIT, "job completed by the second worker",
                        () -> job(api, jobId).path("state").asText().equals("succeeded"));
                JsonNode done = job(api, jobId);
                // The second claim is attempt 2; the returned one did not use up the budget (maxAttempts grew by one).
                assertThat(done.path("attempt").asInt()).isEqualTo(2);
                assertThat(done.path("maxAttempts").asInt()).isEqualTo(returned.path("maxAttempts").asInt());
                assertThat(done.at("/result/outputLines").asInt()).isEqualTo(LINES);
                HttpResponse<String> output = send(api, "GET", "/api/v1/jobs/" + jobId + "/output");
                assertThat(output.body().lines()).hasSize(LINES);
                stop(second);
            }
            stop(api);
        }
    }

    @Test
    void webhookDeliveriesAreSentOnceByTwoSendingProcesses() throws Exception {
        List<String> deliveryIds = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        receiver.createContext("/", ex -> {
            try (InputStream in = ex.getRequestBody()) {
                in.readAllBytes();
            }
            deliveryIds.add(ex.getRequestHeaders().getFirst("Sluice-Delivery"));
            try {
                // A slow receiver: the window in which a second sender would see the delivery still pending.
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        receiver.start();
        try {
            String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
            Path config = config("webhooks:\n  urls: [\"" + url + "\"]\n");
            try (ServerProcess api = api(config); ServerProcess worker = worker(config)) {
                List<String> jobs = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    jobs.add(upload(api, "quick"));
                }
                Await.until(WAIT, "jobs succeeded", () -> {
                    for (String j : jobs) {
                        if (!job(api, j).path("state").asText().equals("succeeded")) {
                            return false;
                        }
                    }
                    return true;
                });
                Await.until(WAIT, "every delivery delivered", () -> {
                    JsonNode all = Json.parse(send(api, "GET", "/api/v1/webhooks/deliveries?limit=500").body())
                            .path("deliveries");
                    if (all.isEmpty()) {
                        return false;
                    }
                    for (JsonNode d : all) {
                        if (!d.path("state").asText().equals("delivered")) {
                            return false;
                        }
                    }
                    return true;
                });
                JsonNode all = Json.parse(send(api, "GET", "/api/v1/webhooks/deliveries?limit=500").body())
                        .path("deliveries");
                Thread.sleep(1000); // a duplicate would arrive within a poll interval
                assertThat(deliveryIds).as("each delivery sent once").doesNotHaveDuplicates().hasSize(all.size());
                for (JsonNode d : all) {
                    assertThat(d.path("attempt").asInt()).isEqualTo(1);
                }
                stop(worker);
                stop(api);
            }
        } finally {
            receiver.stop(0);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private static void stop(ServerProcess p) throws Exception {
        p.sigterm();
        assertThat(p.waitFor(Duration.ofSeconds(30))).as(p.output()).isZero();
    }

    /** A raw PUT through the API node naming {@code pipeline}; returns the job id. */
    private String upload(ServerProcess api, String pipeline) throws Exception {
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(uri(api, "/api/v1/uploads/n.txt?pipeline="
                        + pipeline)).timeout(Duration.ofSeconds(30))
                .PUT(HttpRequest.BodyPublishers.ofString("some text\n")).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        return Json.parse(put.body()).at("/uploads/0/job/id").asText();
    }

    private JsonNode job(ServerProcess p, String id) throws Exception {
        HttpResponse<String> r = send(p, "GET", "/api/v1/jobs/" + id);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    private HttpResponse<String> send(ServerProcess p, String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(p, path)).timeout(Duration.ofSeconds(30))
                        .method(method, method.equals("PUT") ? HttpRequest.BodyPublishers.ofString("x")
                                : HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static URI uri(ServerProcess p, String path) {
        return URI.create("http://127.0.0.1:" + p.port() + path);
    }
}
