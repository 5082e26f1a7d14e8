package io.sluice.ops.alerts;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A rule's state as of its latest evaluation.
 *
 * @param since when the rule entered {@code state} (start-up for {@link AlertState#OK})
 * @param value the latest measured value (NaN before the first evaluation)
 */
public record AlertStatus(AlertRule rule, AlertState state, Instant since, double value) {

    /** The JSON shape of {@code /health/detailed}'s {@code alerts} entries and of the alert webhook. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", rule.name());
        m.put("state", state.name());
        m.put("since", since.toString());
        m.put("value", Double.isFinite(value) ? value : null);
        m.put("threshold", rule.threshold());
        m.put("comparison", rule.above() ? "above" : "below");
        m.put("unit", rule.unit());
        m.put("forSeconds", rule.forDuration().toMillis() / 1000.0);
        m.put("summary", rule.summary());
        return m;
    }
}
