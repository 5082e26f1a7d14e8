package io.sluice.relay;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.config.RelayConfig;

import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One {@code relay.<name>} route: sends a request to its targets in order until one answers. A connect error, a
 * timeout or a 5xx is the target's failure and moves on to the next; any other status is the answer. Each target
 * has a {@link CircuitBreaker}, so a dead target costs one connect attempt per cool-down, not one per request.
 */
final class Relay {

    /** Consecutive failures that open a target's breaker. */
    static final int BREAKER_THRESHOLD = 3;
    /** How long an open breaker skips its target before one probe. */
    static final Duration BREAKER_COOL_DOWN = Duration.ofSeconds(30);
    /** Largest target answer relayed back; a larger one is a 502. */
    static final int MAX_RESPONSE_BYTES = 10 << 20;

    /** What the caller gets back: the target's status, content type (may be null) and body. */
    record Answer(int status, String contentType, byte[] body, URI target) {
    }

    private record Target(URI uri, CircuitBreaker breaker) {
    }

    private final RelayConfig config;
    private final HttpClient client;
    private final List<Target> targets;
    private final Semaphore slots;

    Relay(RelayConfig config, HttpClient client) {
        this.config = config;
        this.client = client;
        this.targets = config.targets().stream()
                .map(u -> new Target(u, new CircuitBreaker(BREAKER_THRESHOLD, BREAKER_COOL_DOWN, System::nanoTime)))
                .toList();
        this.slots = new Semaphore(config.maxConnections());
    }

    RelayConfig config() {
        return config;
    }

    /** Takes one of the route's {@code maxConnections} slots, or answers 503; release with {@link #release()}. */
    void acquire() {
        if (!slots.tryAcquire()) {
            throw ErrorCode.RELAY_BUSY.error("relay '" + config.name() + "' has "
                    + config.maxConnections() + " requests in progress; try again shortly",
                    Map.of("limit", config.maxConnections()), Duration.ofSeconds(1));
        }
    }

    void release() {
        slots.release();
    }

    /**
     * Sends the request built by {@code body} to each target in turn.
     *
     * @param body        a fresh publisher per attempt (a publisher may not be re-readable)
     * @param headers     request headers to pass on (Content-Type at least)
     * @throws ApiException 502 {@code relay_failed} naming every target tried and why, or
     *                      {@code relay_response_too_large}
     */
    Answer send(Supplier<HttpRequest.BodyPublisher> body, Map<String, String> headers) throws InterruptedException {
        List<Map<String, Object>> tried = new ArrayList<>();
        for (Target t : targets) {
            if (!t.breaker().tryAcquire()) {
                tried.add(attempt(t.uri(), "skipped: circuit open after repeated failures"));
                continue;
            }
            boolean verdict = false;
            try {
                HttpRequest.Builder rb = HttpRequest.newBuilder(t.uri()).timeout(config.timeout())
                        .POST(body.get());
                headers.forEach(rb::header);
                HttpResponse<byte[]> response = exchange(rb.build());
                if (response.statusCode() >= 500) {
                    t.breaker().failure();
                    verdict = true;
                    tried.add(attempt(t.uri(), "answered " + response.statusCode()));
                    continue;
                }
                t.breaker().success();
                verdict = true;
                return new Answer(response.statusCode(),
                        response.headers().firstValue("Content-Type").orElse(null), response.body(), t.uri());
            } catch (TooLarge e) {
                // The target is alive: its answer is just too big to relay. Not a health failure.
                t.breaker().success();
                verdict = true;
                throw ErrorCode.RELAY_RESPONSE_TOO_LARGE.error("the answer of relay '" + config.name()
                        + "' is larger than " + MAX_RESPONSE_BYTES + " bytes", Map.of("limit", MAX_RESPONSE_BYTES));
            } catch (Failed e) {
                t.breaker().failure();
                verdict = true;
                tried.add(attempt(t.uri(), e.getMessage()));
            } finally {
                if (!verdict) {
                    t.breaker().release();
                }
            }
        }
        throw ErrorCode.RELAY_FAILED.error("no target of relay '" + config.name() + "' answered",
                Map.of("relay", config.name(), "tried", tried));
    }

    /** The whole exchange, body included, within the route's timeout. */
    private HttpResponse<byte[]> exchange(HttpRequest request) throws InterruptedException, Failed, TooLarge {
        CompletableFuture<HttpResponse<byte[]>> future = client.sendAsync(request, info -> new Capped());
        try {
            return future.get(config.timeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true); // aborts the exchange and its connection
            throw new Failed("timed out after " + config.timeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause != null && !(cause instanceof TooLarge) && cause.getCause() != null
                    && !(cause instanceof ConnectException) && !(cause instanceof HttpTimeoutException)) {
                cause = cause.getCause();
            }
            if (cause instanceof TooLarge tl) {
                throw tl;
            }
            if (cause instanceof HttpTimeoutException) {
                throw new Failed("timed out after " + config.timeout().toMillis() + " ms");
            }
            if (cause instanceof ConnectException) {
                throw new Failed("connection refused or unreachable");
            }
            throw new Failed("failed: " + (cause == null ? e : cause).getClass().getSimpleName()
                    + (cause != null && cause.getMessage() != null ? " " + cause.getMessage() : ""));
        }
    }

    private static Map<String, Object> attempt(URI target, String outcome) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", shown(target));
        m.put("outcome", outcome);
        return m;
    }

    /** A target as it may be shown to callers: no user info, query or fragment (they may hold secrets). */
    static String shown(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "")
                + (u.getRawPath() == null ? "" : u.getRawPath());
    }

    /** A target's failure, with the reason shown to the caller. */
    private static final class Failed extends Exception {
        Failed(String message) {
            super(message, null, false, false);
        }
    }

    private static final class TooLarge extends RuntimeException {
        TooLarge() {
            super(null, null, false, false);
        }
    }

    /** Collects the answer in memory, up to {@link #MAX_RESPONSE_BYTES}; beyond, cancels and fails. */
    private static final class Capped implements HttpResponse.BodySubscriber<byte[]> {
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            for (ByteBuffer b : items) {
                if (out.size() + b.remaining() > MAX_RESPONSE_BYTES) {
                    subscription.cancel();
                    result.completeExceptionally(new TooLarge());
                    return;
                }
                byte[] tmp = new byte[b.remaining()];
                b.get(tmp);
                out.writeBytes(tmp);
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(out.toByteArray());
        }
    }

}
