package io.sluice.admission;

/** What readiness reports. */
public enum LoadState {
    /** Taking new work. */
    ACCEPTING,
    /** Refusing new work persistently (past the hysteresis); readiness is 503 so balancers send traffic elsewhere. */
    SHEDDING,
    /** Shutting down: in-flight work finishes, nothing new is taken. Never leaves this state. */
    DRAINING
}
