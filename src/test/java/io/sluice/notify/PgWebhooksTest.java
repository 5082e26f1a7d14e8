package io.sluice.notify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Postgres;
import io.sluice.testing.TestServer;
import io.sluice.testing.WebhookReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Webhook deliveries on PostgreSQL ({@code webhook_deliveries} with its identity column, the retry after a failed
 * attempt, the list filters and a redeliver), through a real server and a loopback receiver.
 */
class PgWebhooksTest {

    @TempDir
    Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    @Test
    void aFailedDeliveryIsRetriedDeliveredListedAndRedelivered() throws Exception {
        String url = Postgres.freshDatabase();
        WebhookReceiver receiver = new WebhookReceiver(1);
        open.add(receiver);
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                webhooks:
                  urls: [%s]
                  backoffBase: 10ms
                  maxAttempts: 5
                pipelines:
                  noop:
                    processor: noop
                """.formatted(receiver.url()));
        TestServer server = TestServer.start(dir.resolve("data"), config, "database.url", url,
                "database.user", Postgres.USER);
        open.add(server);

        HttpResponse<String> r = server.put("/api/v1/uploads/w.txt?pipeline=noop",
                "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String jobId = Json.parse(r.body()).path("uploads").get(0).path("job").path("id").asText();

        Await.until(Duration.ofSeconds(30), "job.succeeded to be delivered", () -> receiver.accepted().stream()
                .anyMatch(x -> "job.succeeded".equals(x.header("Sluice-Event"))
                        && x.body().contains(jobId)));
        assertThat(receiver.received.getFirst().answered()).as("the first attempt failed").isEqualTo(500);

        // Both events' deliveries end delivered: the refused one is retried after its backoff, which may come after
        // the later event was already delivered, so wait for the rows rather than for the receiver's order.
        JsonNode[] rows = new JsonNode[1];
        Await.until(Duration.ofSeconds(30), "both deliveries delivered", () -> {
            rows[0] = Json.parse(server.get("/api/v1/webhooks/deliveries?state=delivered").body())
                    .path("deliveries");
            return rows[0].size() >= 2;
        });
        JsonNode delivered = rows[0];
        JsonNode retried = null;
        for (JsonNode d : delivered) {
            if (d.path("attempt").asInt() > 1) {
                retried = d;
            }
        }
        assertThat(retried).as("one delivery needed a second attempt: %s", delivered).isNotNull();
        String id = retried.path("id").asText();
        int before = receiver.accepted().size();
        HttpResponse<String> again = server.send(HttpRequest.newBuilder(
                URI.create(server.uri("/api/v1/webhooks/deliveries/" + id + "/redeliver").toString()))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(again.statusCode()).as(again.body()).isBetween(200, 202);
        Await.until(Duration.ofSeconds(30), "the redelivery", () -> receiver.accepted().size() > before);
        assertThat(server.get("/api/v1/webhooks/deliveries/" + id).statusCode()).isEqualTo(200);
        server.assertNothingLeftBehind();
    }
}
