package io.sluice.ops.alerts;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Evaluates a fixed set of {@link AlertRule}s and keeps each one's {@link AlertStatus}.
 *
 * <p>Contract: {@link #evaluate()} is called by one thread at a time (the alert scheduler). A transition into
 * {@link AlertState#FIRING} is logged once at WARN, one back out ({@link AlertState#RESOLVED}) once at INFO, and
 * each is handed to the listener (the webhook poster, which must not block); evaluations that change nothing log
 * nothing. A rule whose measurement throws keeps its state (and is logged at DEBUG): a transient read failure is
 * no reason to resolve a firing alert. {@link #statuses()} may be read from any thread.
 */
public final class Alerts implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Alerts.class);

    private final List<AlertRule> rules;
    private final Clock clock;
    private final Consumer<AlertStatus> onTransition;
    private volatile List<AlertStatus> statuses;
    /** Per rule: when the current breach began (null while clear). Evaluation thread only. */
    private final Instant[] breachedSince;

    public Alerts(List<AlertRule> rules, Clock clock, Consumer<AlertStatus> onTransition) {
        this.rules = List.copyOf(rules);
        this.clock = clock;
        this.onTransition = onTransition;
        this.breachedSince = new Instant[this.rules.size()];
        Instant now = clock.instant();
        List<AlertStatus> initial = new ArrayList<>();
        for (AlertRule r : this.rules) {
            initial.add(new AlertStatus(r, AlertState.OK, now, Double.NaN));
        }
        this.statuses = List.copyOf(initial);
    }

    /** Closes the transition listener when it holds resources (the alert webhook's client). */
    @Override
    public void close() {
        if (onTransition instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                log.debug("closing the alert listener failed: {}", e.toString());
            }
        }
    }

    /** Every rule's latest status, in rule order. */
    public List<AlertStatus> statuses() {
        return statuses;
    }

    /** Measures every rule once and applies the transitions. */
    public synchronized void evaluate() {
        List<AlertStatus> next = new ArrayList<>(statuses);
        for (int i = 0; i < rules.size(); i++) {
            AlertRule rule = rules.get(i);
            AlertStatus before = next.get(i);
            AlertRule.Reading reading;
            try {
                reading = rule.measure().get();
            } catch (RuntimeException e) {
                log.debug("alert rule {} could not be measured: {}", rule.name(), e.toString());
                continue;
            }
            Instant now = clock.instant();
            AlertStatus after = step(i, rule, before, reading, now);
            next.set(i, after);
            if (after.state() != before.state()
                    && (after.state() == AlertState.FIRING || after.state() == AlertState.RESOLVED)) {
                announce(after);
            }
        }
        statuses = List.copyOf(next);
    }

    private AlertStatus step(int i, AlertRule rule, AlertStatus before, AlertRule.Reading reading, Instant now) {
        double value = reading.value();
        if (rule.breached(reading)) {
            if (breachedSince[i] == null) {
                breachedSince[i] = now;
            }
            if (before.state() == AlertState.FIRING) {
                return new AlertStatus(rule, AlertState.FIRING, before.since(), value);
            }
            boolean heldLongEnough = !now.isBefore(breachedSince[i].plus(rule.forDuration()));
            if (heldLongEnough) {
                return new AlertStatus(rule, AlertState.FIRING, now, value);
            }
            return new AlertStatus(rule, AlertState.PENDING,
                    before.state() == AlertState.PENDING ? before.since() : now, value);
        }
        breachedSince[i] = null;
        return switch (before.state()) {
            case FIRING -> new AlertStatus(rule, AlertState.RESOLVED, now, value);
            // A breach that cleared before it fired was never announced: back to where it was.
            case PENDING -> new AlertStatus(rule, AlertState.OK, now, value);
            case OK, RESOLVED -> new AlertStatus(rule, before.state(), before.since(), value);
        };
    }

    private void announce(AlertStatus s) {
        AlertRule r = s.rule();
        String comparison = (r.above() ? "above " : "below ") + show(r.threshold(), r.unit());
        if (s.state() == AlertState.FIRING) {
            log.warn("Alert FIRING: {} = {}, {}{}: {}", r.name(), show(s.value(), r.unit()), comparison,
                    r.forDuration().isZero() ? "" : " for " + r.forDuration().toSeconds() + " s", r.summary());
        } else {
            log.info("Alert RESOLVED: {} = {}, no longer {}", r.name(), show(s.value(), r.unit()), comparison);
        }
        try {
            onTransition.accept(s);
        } catch (RuntimeException e) {
            log.warn("alert {} could not be handed to the alert webhook: {}", r.name(), e.toString());
        }
    }

    private static String show(double v, String unit) {
        return switch (unit) {
            case "ratio" -> String.format(Locale.ROOT, "%.1f %%", v * 100);
            case "bytes" -> String.format(Locale.ROOT, "%.1f MiB", v / (1024 * 1024));
            case "seconds" -> String.format(Locale.ROOT, "%.3f s", v);
            default -> String.valueOf(v);
        };
    }
}
