package io.sluice.ops.metrics;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.admission.AdmissionController.WaitOutcome;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admission-wait timers are registered once per outcome and reused: every wait is still counted under its
 * outcome, and an outcome that never happened is not in the registry (a scrape shows only what happened, as when
 * each wait registered its timer).
 */
class ServerMetricsTest {

    @Test
    void admissionWaitsAreCountedPerOutcomeAndOnlyOutcomesThatHappenedAreRegistered() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        BiConsumer<WaitOutcome, Duration> waits = ServerMetrics.admissionWaits(registry);
        assertThat(registry.find("sluice.admission.wait").timers()).isEmpty();

        waits.accept(WaitOutcome.ADMITTED, Duration.ofMillis(3));
        waits.accept(WaitOutcome.ADMITTED, Duration.ofMillis(5));
        waits.accept(WaitOutcome.EXPIRED, Duration.ofSeconds(1));

        Timer admitted = registry.find("sluice.admission.wait").tag("outcome", "admitted").timer();
        assertThat(admitted).isNotNull();
        assertThat(admitted.count()).isEqualTo(2);
        assertThat(admitted.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(8.0);
        assertThat(registry.find("sluice.admission.wait").tag("outcome", "expired").timer().count()).isEqualTo(1);
        assertThat(registry.find("sluice.admission.wait").tag("outcome", "abandoned").timer()).isNull();
        assertThat(registry.find("sluice.admission.wait").timers()).hasSize(2);

        // A second consumer on the same registry (a restarted module) records into the same meters.
        ServerMetrics.admissionWaits(registry).accept(WaitOutcome.ADMITTED, Duration.ofMillis(1));
        assertThat(admitted.count()).isEqualTo(3);
    }
}
