package io.sluice.ops.supervisor;

import java.time.Duration;
import java.util.List;

/**
 * What {@code sluice supervise} was asked to do.
 *
 * @param maxRestarts    restarts allowed within {@code restartWindow}; one more and the supervisor gives up
 * @param restartWindow  the sliding window in which restarts are counted
 * @param minUptime      a child that has run this long and answered its health check resets the backoff
 * @param memoryLimit    RSS in bytes above which the child is restarted; 0 means no limit
 * @param healthInterval time between two {@code GET /health} probes (also each probe's upper time limit)
 * @param healthFailures consecutive failed probes that make a restart, >= 1
 * @param startupTimeout how long a child may take to log "listening on ..." before it counts as hung
 * @param stopTimeout    after SIGTERM, how long to wait before SIGKILL; more than the child's shutdownGrace
 * @param jvmOptions     extra options for the child JVM, after the supervisor's own (so a later -Xmx wins)
 * @param childArgs      the Sluice command the child runs, e.g. {@code serve --port 8080}
 */
public record SupervisorSettings(int maxRestarts, Duration restartWindow, Duration minUptime, long memoryLimit,
                                 Duration healthInterval, int healthFailures, Duration startupTimeout,
                                 Duration stopTimeout, List<String> jvmOptions, List<String> childArgs) {

    /** Health probes never wait longer than this, even with a long interval: a hung child must not hang us. */
    public static final Duration MAX_PROBE_TIMEOUT = Duration.ofSeconds(10);

    public SupervisorSettings {
        if (maxRestarts < 0 || healthFailures < 1 || memoryLimit < 0) {
            throw new IllegalArgumentException("max restarts >= 0, health failures >= 1, memory limit >= 0");
        }
        if (healthInterval.isZero() || healthInterval.isNegative() || restartWindow.isZero()) {
            throw new IllegalArgumentException("health interval and restart window must be positive");
        }
        if (childArgs.isEmpty()) {
            throw new IllegalArgumentException("nothing to supervise: give the command after --, e.g. -- serve");
        }
        jvmOptions = List.copyOf(jvmOptions);
        childArgs = List.copyOf(childArgs);
    }

    /** Each probe's time limit: the interval, capped so a slow child is noticed within seconds. */
    public Duration probeTimeout() {
        return healthInterval.compareTo(MAX_PROBE_TIMEOUT) < 0 ? healthInterval : MAX_PROBE_TIMEOUT;
    }
}
