package io.sluice.ops.alerts;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One alert rule: a named measurement compared with a threshold, which must hold for {@code forDuration} before
 * the rule fires.
 *
 * @param name        stable identifier ({@code memory}, {@code disk}, ...), used in logs, JSON and the webhook
 * @param summary     one human sentence saying what the rule watches
 * @param unit        unit of value and threshold: {@code ratio}, {@code bytes} or {@code seconds}
 * @param above       true: fires when the value is above the threshold; false: below
 * @param threshold   the limit
 * @param forDuration how long the condition must hold before firing (zero: at once)
 * @param measure     reads the current value; called on the evaluation thread only
 */
public record AlertRule(String name, String summary, String unit, boolean above, double threshold,
                        Duration forDuration, Supplier<Reading> measure) {

    public AlertRule {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(measure, "measure");
    }

    /**
     * One measurement.
     *
     * @param value the measured value
     * @param known false when the value cannot be judged (not measurable here, too few samples): such a reading
     *              never fires a rule and counts as a cleared condition
     */
    public record Reading(double value, boolean known) {
        public static Reading of(double value) {
            return new Reading(value, true);
        }

        public static Reading unknown(double value) {
            return new Reading(value, false);
        }
    }

    /** Whether {@code r} breaches this rule's threshold. */
    boolean breached(Reading r) {
        return r.known() && (above ? r.value() > threshold : r.value() < threshold);
    }
}
