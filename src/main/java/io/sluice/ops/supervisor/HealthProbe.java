package io.sluice.ops.supervisor;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** One {@code GET /health} with a time limit. A stopped or deadlocked child shows up as a timeout. */
final class HealthProbe implements AutoCloseable {

    /** Outcome of one probe; {@code detail} says what failed, for the restart log. */
    record Result(boolean ok, String detail) {
    }

    private final HttpClient client;
    private final Duration timeout;

    HealthProbe(Duration timeout) {
        this.timeout = timeout;
        this.client = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    Result probe(String host, int port) {
        URI uri = URI.create("http://" + host + ":" + port + "/health");
        try {
            HttpResponse<Void> r = client.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200 ? new Result(true, "200")
                    : new Result(false, "status " + r.statusCode());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(false, "interrupted");
        } catch (Exception e) {
            return new Result(false, e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
