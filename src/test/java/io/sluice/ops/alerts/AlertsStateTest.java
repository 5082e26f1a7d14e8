package io.sluice.ops.alerts;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rule state machine on its own, with a clock the test moves: {@code for} holds a breach in PENDING, a breach
 * that clears before then is never announced, an unknown reading never fires, a failing measurement keeps the
 * state, and each transition is announced exactly once.
 */
class AlertsStateTest {

    /** A clock the test sets; the server uses the system clock. */
    static final class SetClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    final SetClock clock = new SetClock();
    final AtomicReference<Object> reading = new AtomicReference<>(AlertRule.Reading.of(0));
    final List<AlertStatus> announced = new ArrayList<>();
    final AlertRule rule = new AlertRule("test", "a test value", "ratio", true, 0.5, Duration.ofSeconds(30), () -> {
        Object r = reading.get();
        if (r instanceof RuntimeException e) {
            throw e;
        }
        return (AlertRule.Reading) r;
    });
    final Alerts alerts = new Alerts(List.of(rule), clock, announced::add);

    private AlertState step(double value, int seconds) {
        reading.set(AlertRule.Reading.of(value));
        clock.now = clock.now.plusSeconds(seconds);
        alerts.evaluate();
        return alerts.statuses().getFirst().state();
    }

    @Test
    void aBreachMustHoldForItsDurationAndEachTransitionIsAnnouncedOnce() {
        assertThat(alerts.statuses().getFirst().state()).isEqualTo(AlertState.OK);
        assertThat(step(0.9, 5)).isEqualTo(AlertState.PENDING);
        Instant pendingSince = alerts.statuses().getFirst().since();
        assertThat(step(0.9, 20)).isEqualTo(AlertState.PENDING);
        assertThat(alerts.statuses().getFirst().since()).isEqualTo(pendingSince);
        assertThat(announced).isEmpty();
        assertThat(step(0.9, 10)).isEqualTo(AlertState.FIRING);
        assertThat(step(0.95, 5)).isEqualTo(AlertState.FIRING);
        assertThat(alerts.statuses().getFirst().value()).isEqualTo(0.95);
        assertThat(announced).extracting(AlertStatus::state).containsExactly(AlertState.FIRING);
        assertThat(step(0.5, 5)).as("at the threshold is not above it").isEqualTo(AlertState.RESOLVED);
        assertThat(step(0.1, 5)).isEqualTo(AlertState.RESOLVED);
        assertThat(announced).extracting(AlertStatus::state).containsExactly(AlertState.FIRING, AlertState.RESOLVED);
    }

    @Test
    void aShortBreachIsNeverAnnounced() {
        assertThat(step(0.9, 5)).isEqualTo(AlertState.PENDING);
        assertThat(step(0.1, 5)).isEqualTo(AlertState.OK);
        assertThat(step(0.9, 5)).isEqualTo(AlertState.PENDING);
        assertThat(step(0.9, 29)).as("the breach restarted: 29 s is not 30").isEqualTo(AlertState.PENDING);
        assertThat(announced).isEmpty();
    }

    @Test
    void unknownReadingsNeverFireAndFailingMeasurementsKeepTheState() {
        reading.set(AlertRule.Reading.unknown(1.0));
        clock.now = clock.now.plusSeconds(60);
        alerts.evaluate();
        assertThat(alerts.statuses().getFirst().state()).isEqualTo(AlertState.OK);

        step(0.9, 0);
        assertThat(step(0.9, 30)).isEqualTo(AlertState.FIRING);
        reading.set(new IllegalStateException("database down"));
        clock.now = clock.now.plusSeconds(60);
        alerts.evaluate();
        assertThat(alerts.statuses().getFirst().state()).isEqualTo(AlertState.FIRING);
        assertThat(announced).hasSize(1);
    }
}
