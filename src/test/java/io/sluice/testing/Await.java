package io.sluice.testing;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Polls a condition until it holds or a deadline passes; tests wait on state, never for a fixed time. */
public final class Await {

    /** A condition that may do I/O. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    private Await() {
    }

    /** Polls every 25 ms; fails with {@code what} when {@code timeout} passes first. */
    public static void until(Duration timeout, String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            }
            Thread.sleep(25);
        }
    }

    /**
     * Polls {@code GET /api/v1/jobs/{id}} (with {@code auth} as the {@code Authorization} header, or none) until the
     * job is in {@code state}, and returns its last answer. Fails at once, with the job, when it ends in another
     * final state (succeeded, failed, cancelled) instead: waiting longer could not help.
     */
    public static JsonNode jobState(TestServer server, String jobId, String state, Duration timeout, String auth)
            throws Exception {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        until(timeout, "job " + jobId + " " + state, () -> {
            HttpRequest.Builder get = HttpRequest.newBuilder(
                    server.uri("/api/v1/jobs/" + jobId)).GET();
            if (auth != null) {
                get.header("Authorization", auth);
            }
            HttpResponse<String> r = server.send(get.build());
            JsonNode j = Json.parse(r.body());
            last.set(j);
            String now = j.path("state").asText();
            if (!now.equals(state) && FINAL_STATES.contains(now)) {
                throw new AssertionError("job " + jobId + " ended " + now + " instead of " + state + ": " + j);
            }
            return now.equals(state);
        });
        return last.get();
    }

    /** {@link #jobState(TestServer, String, String, Duration, String)} without credentials (open mode). */
    public static JsonNode jobState(TestServer server, String jobId, String state, Duration timeout)
            throws Exception {
        return jobState(server, jobId, state, timeout, null);
    }

    /** Polls the job until it is in a final state (succeeded, failed, cancelled) and returns that answer. */
    public static JsonNode jobEnded(TestServer server, String jobId, Duration timeout) throws Exception {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        until(timeout, "job " + jobId + " to end", () -> {
            last.set(Json.parse(server.get("/api/v1/jobs/" + jobId).body()));
            return FINAL_STATES.contains(last.get().path("state").asText());
        });
        return last.get();
    }

    private static final List<String> FINAL_STATES = List.of("succeeded", "failed", "cancelled");
}
