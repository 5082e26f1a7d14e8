package io.sluice.ops.alerts;

/**
 * Where a rule stands. Only the transitions into {@link #FIRING} and from it into {@link #RESOLVED} are events
 * (logged, posted); {@link #PENDING} is a breached condition that has not yet held for the rule's duration.
 */
public enum AlertState {
    /** Never fired since start. */
    OK,
    /** Breached, waiting for the rule's {@code for} duration. */
    PENDING,
    FIRING,
    /** Fired earlier and has cleared. */
    RESOLVED
}
