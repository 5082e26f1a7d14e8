package io.sluice.notify;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.config.WebhooksConfig;
import io.sluice.jobs.JobSignal;
import io.sluice.util.Backoff;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sends pending webhook deliveries. Each attempt POSTs the stored payload to the delivery's URLs in order until one
 * answers 2xx (the later URLs are fallbacks); when none does, the delivery is due again after an exponential
 * backoff with jitter, and failed after {@link WebhooksConfig#maxAttempts()} attempts. Pending rows are in the
 * database, so deliveries continue after a restart. At-least-once: a crash after the receiver answered but before
 * the row is updated sends the delivery again (receivers dedupe on {@code Sluice-Delivery}).
 *
 * <p>Several processes may send from one database (serve, serve --no-workers, worker): each attempt is first
 * claimed ({@link Deliveries#claim}) for {@link #claimDuration} of the delivery, so one process sends it; another
 * takes it over only when that claim ran out (the claimant died).
 */
public final class WebhookSender {

    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);
    /** How often due deliveries are looked for without a signal (retries come due without one). */
    static final Duration POLL_INTERVAL = Duration.ofMillis(500);
    static final int MAX_IN_FLIGHT = 16;
    static final Duration PRUNE_INTERVAL = Duration.ofHours(1);

    private final Deliveries deliveries;
    private final EventLog events;
    private final String secret;
    private final WebhooksConfig config;
    private final Backoff backoff;
    private final Clock clock;
    /** Built on the first delivery: an {@code HttpClient} sets up TLS (about 180 classes) that most servers never use. */
    private HttpClient http;
    public static final String DELIVERIES_METRIC = "sluice.webhooks.deliveries";
    private final Map<String, Counter> outcomes;
    private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
    private final Semaphore slots = new Semaphore(MAX_IN_FLIGHT);
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final String senderId = "s-" + ProcessHandle.current().pid() + "-"
            + Long.toHexString(ThreadLocalRandom.current().nextLong());
    private volatile Thread loop;

    public WebhookSender(Deliveries deliveries, EventLog events, String secret, WebhooksConfig config, Clock clock) {
        this(deliveries, events, secret, config, clock, new SimpleMeterRegistry());
    }

    /**
     * @param metrics gets {@value #DELIVERIES_METRIC}, attempts counted by {@code outcome}: {@code delivered},
     *                {@code retry} (failed, due again later) or {@code failed} (out of attempts)
     */
    public WebhookSender(Deliveries deliveries, EventLog events, String secret, WebhooksConfig config, Clock clock,
                         MeterRegistry metrics) {
        this.outcomes = Map.of(
                "delivered", deliveryCounter(metrics, "delivered"),
                "retry", deliveryCounter(metrics, "retry"),
                "failed", deliveryCounter(metrics, "failed"));
        this.deliveries = Objects.requireNonNull(deliveries, "deliveries");
        this.events = Objects.requireNonNull(events, "events");
        this.secret = Objects.requireNonNull(secret, "secret");
        this.config = Objects.requireNonNull(config, "config");
        this.backoff = new Backoff(config.backoffBase(), WebhooksConfig.BACKOFF_CAP, Backoff.Jitter.EQUAL);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        }
        return http;
    }

    private static Counter deliveryCounter(
            MeterRegistry metrics, String outcome) {
        return Counter.builder(DELIVERIES_METRIC)
                .description("webhook delivery attempts by outcome").tag("outcome", outcome).register(metrics);
    }

    public void start() {
        loop = Thread.ofPlatform().daemon().name("sluice-webhooks").start(this::run);
    }

    /** Stops looking for deliveries and waits up to {@code grace} for the attempts in flight. */
    public void stop(Duration grace) {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        events.signal().signal();
        Thread t = loop;
        try {
            if (t != null) {
                t.join(Duration.ofSeconds(5));
            }
            if (slots.tryAcquire(MAX_IN_FLIGHT, grace.toMillis(), TimeUnit.MILLISECONDS)) {
                slots.release(MAX_IN_FLIGHT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (http != null) {
                http.shutdownNow();
            }
        }
    }

    private void run() {
        long seen = events.signal().generation();
        long nextPrune = System.nanoTime();
        while (!stopping.get()) {
            try {
                if (System.nanoTime() - nextPrune >= 0) {
                    nextPrune = System.nanoTime() + PRUNE_INTERVAL.toNanos();
                    int d = deliveries.prune();
                    int e = events.prune();
                    if (d + e > 0) {
                        log.info("pruned {} old webhook deliveries and {} old events", d, e);
                    }
                }
                for (Delivery d : deliveries.due(MAX_IN_FLIGHT)) {
                    if (stopping.get() || !slots.tryAcquire()) {
                        break;
                    }
                    if (!inFlight.add(d.id())) {
                        slots.release();
                        continue;
                    }
                    boolean claimed;
                    try {
                        claimed = deliveries.claim(d, senderId, claimDuration(d));
                    } catch (Exception e) {
                        inFlight.remove(d.id());
                        slots.release();
                        throw e;
                    }
                    if (!claimed) {
                        // Another process sends this attempt.
                        inFlight.remove(d.id());
                        slots.release();
                        continue;
                    }
                    Thread.ofVirtual().name("sluice-webhook-" + d.id()).start(() -> {
                        try {
                            attempt(d);
                        } catch (Throwable e) {
                            log.warn("webhook delivery {} attempt failed: {}", d.id(), e.toString());
                        } finally {
                            inFlight.remove(d.id());
                            slots.release();
                        }
                    });
                }
            } catch (Exception e) {
                log.warn("looking for due webhook deliveries failed: {}", e.toString());
            }
            try {
                seen = events.signal().await(seen, POLL_INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * How long one attempt may take: every URL may use its whole connect and request timeouts, plus a margin for the
     * database write that records it. A claim must not run out while its claimant is still sending.
     */
    static Duration claimDuration(Delivery d) {
        return CONNECT_TIMEOUT.plus(REQUEST_TIMEOUT).multipliedBy(Math.max(1, d.urls().size()))
                .plus(Duration.ofSeconds(30));
    }

    /** One attempt: the URLs in order until one accepts. */
    void attempt(Delivery d) throws Exception {
        byte[] body = d.payload().getBytes(StandardCharsets.UTF_8);
        String lastUrl = null;
        Integer lastStatus = null;
        String lastError = null;
        for (String url : d.urls()) {
            lastUrl = url;
            lastStatus = null;
            long t = clock.millis() / 1000;
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/json")
                    .header("User-Agent", "Sluice-Webhooks")
                    .header("Sluice-Event", d.eventType())
                    .header("Sluice-Delivery", String.valueOf(d.id()))
                    .header(Signature.HEADER, Signature.header(secret, t, body))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            try {
                HttpResponse<Void> response = http().send(request, HttpResponse.BodyHandlers.discarding());
                lastStatus = response.statusCode();
                if (lastStatus / 100 == 2) {
                    deliveries.recordAttempt(d, true, url, lastStatus, null, null);
                    outcomes.get("delivered").increment();
                    log.debug("webhook delivery {} ({}) delivered to {}", d.id(), d.eventType(), url);
                    return;
                }
                lastError = "HTTP " + lastStatus;
            } catch (InterruptedException e) {
                // Stopping: the delivery stays pending, and unclaimed, so the next sender takes it at once.
                deliveries.unclaim(d, senderId);
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                lastError = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            }
        }
        int attempt = d.attempt() + 1;
        Long retryAt = attempt >= config.maxAttempts() ? null : clock.millis() + backoff(attempt).toMillis();
        deliveries.recordAttempt(d, false, lastUrl, lastStatus, lastError, retryAt);
        outcomes.get(retryAt == null ? "failed" : "retry").increment();
        if (retryAt == null) {
            log.warn("webhook delivery {} ({}) failed after {} attempts; last error: {}", d.id(), d.eventType(),
                    attempt, lastError);
        } else {
            log.info("webhook delivery {} ({}) attempt {} failed ({}); retrying in {} ms", d.id(), d.eventType(),
                    attempt, lastError, retryAt - clock.millis());
        }
    }

    /** After attempt {@code n} (1-based): base * 2^(n-1), capped at {@link WebhooksConfig#BACKOFF_CAP}, half to all of it. */
    Duration backoff(int n) {
        return backoff.delay(n);
    }

}
