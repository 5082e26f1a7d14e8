package io.sluice.util;

import io.sluice.config.WebhooksConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackoffTest {

    private static final Duration BASE = Duration.ofSeconds(2);
    private static final Duration CAP = Duration.ofSeconds(60);
    /** The largest double below 1. */
    private static final double ALMOST_ONE = Math.nextDown(1.0);

    @Test
    void ceilingDoublesPerAttemptUpToTheCap() {
        Backoff b = new Backoff(BASE, CAP, Backoff.Jitter.NONE);
        long[] expectedSeconds = {2, 2, 4, 8, 16, 32, 60, 60, 60};
        for (int attempt = 0; attempt < expectedSeconds.length; attempt++) {
            assertThat(b.ceiling(attempt)).as("attempt %d", attempt).isEqualTo(Duration.ofSeconds(expectedSeconds[attempt]));
            assertThat(b.delay(attempt, 0.3)).as("no jitter: the ceiling").isEqualTo(b.ceiling(attempt));
        }
    }

    @Test
    void hugeAttemptNumbersStayAtTheCap() {
        Backoff b = new Backoff(Duration.ofMillis(1), Duration.ofDays(365), Backoff.Jitter.NONE);
        assertThat(b.ceiling(64)).isEqualTo(Duration.ofDays(365));
        assertThat(b.ceiling(Integer.MAX_VALUE)).isEqualTo(Duration.ofDays(365));
        Backoff huge = new Backoff(Duration.ofMillis(Long.MAX_VALUE / 2), Duration.ofMillis(Long.MAX_VALUE),
                Backoff.Jitter.NONE);
        assertThat(huge.ceiling(3)).as("no overflow").isEqualTo(Duration.ofMillis(Long.MAX_VALUE));
    }

    @Test
    void fullJitterSpansZeroToTheCeiling() {
        Backoff b = new Backoff(BASE, CAP, Backoff.Jitter.FULL);
        assertThat(b.delay(3, 0.0)).isEqualTo(Duration.ZERO);
        assertThat(b.delay(3, 0.5)).isEqualTo(Duration.ofSeconds(4));
        assertThat(b.delay(3, ALMOST_ONE)).isLessThan(Duration.ofSeconds(8)).isGreaterThan(Duration.ofMillis(7990));
    }

    @Test
    void equalJitterNeverGoesBelowHalfTheCeiling() {
        Backoff b = new Backoff(BASE, CAP, Backoff.Jitter.EQUAL);
        assertThat(b.delay(1, 0.0)).isEqualTo(Duration.ofSeconds(1));
        assertThat(b.delay(4, 0.0)).isEqualTo(Duration.ofSeconds(8));
        assertThat(b.delay(4, 0.5)).isEqualTo(Duration.ofSeconds(12));
        assertThat(b.delay(4, ALMOST_ONE)).isLessThan(Duration.ofSeconds(16)).isGreaterThan(Duration.ofMillis(15990));
        assertThat(b.delay(20, 0.0)).as("capped").isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void randomDelaysStayInsideTheSchedule() {
        Backoff b = new Backoff(BASE, CAP, Backoff.Jitter.EQUAL);
        for (int attempt = 1; attempt <= 10; attempt++) {
            Duration ceiling = b.ceiling(attempt);
            for (int i = 0; i < 200; i++) {
                Duration d = b.delay(attempt);
                assertThat(d).isGreaterThanOrEqualTo(ceiling.dividedBy(2)).isLessThanOrEqualTo(ceiling);
            }
        }
    }

    /** The webhook schedule with its defaults: 30 s doubling, capped at an hour, never below half the ceiling. */
    @Test
    void webhookRetriesDoubleFromTheirBaseUpToAnHour() {
        Backoff b = new Backoff(WebhooksConfig.DEFAULT_BACKOFF_BASE, WebhooksConfig.BACKOFF_CAP, Backoff.Jitter.EQUAL);
        long[] expectedSeconds = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600};
        for (int attempt = 1; attempt <= expectedSeconds.length; attempt++) {
            Duration ceiling = Duration.ofSeconds(expectedSeconds[attempt - 1]);
            assertThat(b.ceiling(attempt)).as("attempt %d", attempt).isEqualTo(ceiling);
            assertThat(b.delay(attempt, 0.0)).isEqualTo(ceiling.dividedBy(2));
            assertThat(b.delay(attempt, ALMOST_ONE)).isLessThan(ceiling);
        }
        assertThat(b.delay(1_000, 0.0)).as("no overflow").isEqualTo(Duration.ofMinutes(30));
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, CAP, Backoff.Jitter.FULL))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("base");
        assertThatThrownBy(() -> new Backoff(BASE, Duration.ofSeconds(1), Backoff.Jitter.FULL))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cap");
        Backoff b = new Backoff(BASE, CAP, Backoff.Jitter.FULL);
        assertThatThrownBy(() -> b.delay(1, 1.0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.delay(1, -0.1)).isInstanceOf(IllegalArgumentException.class);
    }
}
