package io.sluice.ops.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Route;
import io.sluice.api.Routes;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;

/**
 * Meters the requests that carry upload bytes (direct POST/PUT, tus creation and PATCH), by decorating their
 * routes at registration: {@code sluice.uploads.requests} (a timer with a percentile histogram, tagged
 * {@code protocol} and {@code outcome} = ok | rejected), {@code sluice.uploads.in.flight}, and
 * {@code sluice.uploads.rejected} tagged {@code protocol} and {@code reason} (the JSON error code the client got,
 * {@code client_gone} for a client that disconnected, {@code internal_error} for anything unexpected).
 *
 * <p>Tag values are bounded: protocols are fixed names and reasons are the error codes written in the code,
 * never ids, URLs or client input. Every outcome also feeds an {@link OutcomeWindow} for the failure-rate alert.
 */
public final class UploadMetrics {

    public static final String REQUESTS = "sluice.uploads.requests";
    public static final String REJECTED = "sluice.uploads.rejected";
    public static final String IN_FLIGHT = "sluice.uploads.in.flight";
    /** The upload failure-rate alert's window. */
    public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(5);

    private final MeterRegistry registry;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final OutcomeWindow window;

    public UploadMetrics(MeterRegistry registry, Duration window) {
        this.registry = registry;
        this.window = new OutcomeWindow(window);
        Gauge.builder(IN_FLIGHT, inFlight, AtomicInteger::get)
                .description("upload requests (direct and tus) being handled now").register(registry);
    }

    /** Upload outcomes over the alert window. */
    public OutcomeWindow.Counts recent() {
        return window.counts();
    }

    /**
     * Routes that register into {@code target}, metering the ones {@code metered} selects (by method and pattern)
     * as uploads of {@code protocol}; other routes pass through untouched.
     */
    public Routes metering(Routes target, String protocol, BiPredicate<String, String> metered) {
        Timer ok = timer(protocol, "ok");
        Timer rejected = timer(protocol, "rejected");
        return (method, pattern, route) -> target.add(method, pattern,
                metered.test(method, pattern) ? meter(route, protocol, ok, rejected) : route);
    }

    private Timer timer(String protocol, String outcome) {
        return Timer.builder(REQUESTS).description("upload requests by protocol and outcome, with their duration")
                .tag("protocol", protocol).tag("outcome", outcome)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofHours(1))
                .register(registry);
    }

    private Route meter(Route route, String protocol, Timer ok, Timer rejected) {
        return ex -> {
            long start = System.nanoTime();
            inFlight.incrementAndGet();
            String reason = ErrorCode.INTERNAL_ERROR.code();
            try {
                route.handle(ex);
                reason = null;
            } catch (ApiException e) {
                reason = e.code();
                throw e;
            } catch (ClientGoneException e) {
                reason = "client_gone";
                throw e;
            } finally {
                inFlight.decrementAndGet();
                long took = System.nanoTime() - start;
                if (reason == null) {
                    ok.record(took, TimeUnit.NANOSECONDS);
                    window.record(true);
                } else {
                    rejected.record(took, TimeUnit.NANOSECONDS);
                    window.record(false);
                    Counter.builder(REJECTED).description("upload requests refused or failed, by error code")
                            .tag("protocol", protocol).tag("reason", reason).register(registry).increment();
                }
            }
        };
    }
}
