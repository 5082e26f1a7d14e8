package io.sluice.ops.alerts;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.notify.Signature;
import io.sluice.util.Backoff;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * POSTs each alert transition to {@code alerts.webhook} as JSON
 * ({@code {"type":"alert.firing"|"alert.resolved","alert":{...}}}), signed with the webhook secret exactly like
 * event webhooks ({@link Signature#HEADER}, plus {@code Sluice-Event}).
 *
 * <p>Never blocks its caller: each transition is sent on a virtual thread of its own; at most
 * {@link #MAX_IN_FLIGHT} are in flight and a transition beyond that is dropped with a WARN (it is still logged
 * and shown in {@code /health/detailed}). Each gets {@link #ATTEMPTS} attempts, {@link #BACKOFF} doubling between
 * them; not persisted (an alert is about now, a restart re-evaluates).
 */
public final class AlertWebhook implements Consumer<AlertStatus>, AutoCloseable {

    public static final int MAX_IN_FLIGHT = 8;
    public static final int ATTEMPTS = 3;
    public static final Duration BACKOFF = Duration.ofSeconds(1);
    private static final Backoff RETRY = new Backoff(BACKOFF, BACKOFF.multipliedBy(1L << (ATTEMPTS - 1)),
            Backoff.Jitter.NONE);
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(AlertWebhook.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI url;
    private final String secret;
    private final Clock clock;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient http;
    private final Semaphore slots = new Semaphore(MAX_IN_FLIGHT);

    public AlertWebhook(String url, String secret, Clock clock) {
        this.url = URI.create(url);
        this.secret = secret;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(TIMEOUT).followRedirects(HttpClient.Redirect.NEVER)
                .executor(executor).build();
    }

    @Override
    public void accept(AlertStatus status) {
        if (!slots.tryAcquire()) {
            log.warn("alert webhook busy ({} posts in flight): {} {} not posted", MAX_IN_FLIGHT,
                    status.rule().name(), status.state());
            return;
        }
        byte[] body;
        try {
            Map<String, Object> payload = new LinkedHashMap<>();
            String type = status.state() == AlertState.FIRING ? "alert.firing" : "alert.resolved";
            payload.put("type", type);
            payload.put("alert", status.toJson());
            body = JSON.writeValueAsBytes(payload);
            executor.execute(() -> {
                try {
                    post(type, body, status);
                } finally {
                    slots.release();
                }
            });
        } catch (Exception e) {
            slots.release();
            log.warn("alert {} not posted: {}", status.rule().name(), e.toString());
        }
    }

    private void post(String type, byte[] body, AlertStatus status) {
        String last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            HttpRequest request = HttpRequest.newBuilder(url).timeout(TIMEOUT)
                    .header("Content-Type", "application/json")
                    .header("User-Agent", "Sluice-Alerts")
                    .header("Sluice-Event", type)
                    .header(Signature.HEADER, Signature.header(secret, clock.millis() / 1000, body))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            try {
                int code = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (code / 100 == 2) {
                    return;
                }
                last = "HTTP " + code;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                last = e.toString();
            }
            if (attempt < ATTEMPTS) {
                try {
                    Thread.sleep(RETRY.delay(attempt));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        log.warn("alert {} {} could not be posted to the alert webhook after {} attempts: {}",
                status.rule().name(), status.state(), ATTEMPTS, last);
    }

    /** Stops: posts still retrying are abandoned after a short wait. */
    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(2, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        http.close();
    }
}
