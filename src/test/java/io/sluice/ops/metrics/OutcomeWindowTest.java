package io.sluice.ops.metrics;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The sliding window of upload outcomes, with a nano clock the test moves. */
class OutcomeWindowTest {

    final AtomicLong nanos = new AtomicLong(1_000_000_000_000L);
    final OutcomeWindow window = new OutcomeWindow(Duration.ofMinutes(5), nanos::get);

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    @Test
    void countsWhatHappenedWithinTheWindowOnly() {
        assertThat(window.counts()).isEqualTo(new OutcomeWindow.Counts(0, 0));
        assertThat(window.counts().failureRate()).isZero();
        window.record(false);
        window.record(true);
        advance(Duration.ofMinutes(2));
        window.record(false);
        window.record(false);
        assertThat(window.counts()).isEqualTo(new OutcomeWindow.Counts(1, 3));
        assertThat(window.counts().failureRate()).isEqualTo(0.75);
        // The first two fall out once the window has passed them; the later two stay.
        advance(Duration.ofMinutes(3).plusSeconds(15));
        assertThat(window.counts()).isEqualTo(new OutcomeWindow.Counts(0, 2));
        advance(Duration.ofMinutes(5));
        assertThat(window.counts()).isEqualTo(new OutcomeWindow.Counts(0, 0));
        // A slot reused after a full turn starts from zero.
        window.record(true);
        assertThat(window.counts()).isEqualTo(new OutcomeWindow.Counts(1, 0));
    }
}
