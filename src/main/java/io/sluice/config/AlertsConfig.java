package io.sluice.config;

import java.time.Duration;

/**
 * Alert rules ({@code io.sluice.ops.alerts}): thresholds, how long a condition must hold, where to post.
 *
 * @param enabled             false: no rule is evaluated and {@code /health/detailed} lists none
 * @param interval            how often every rule is evaluated
 * @param forDuration         how long a rule's condition must hold before it fires (0: at the first evaluation)
 * @param memoryThreshold     used fraction of the memory limit (cgroup limit, else physical memory) above which the
 *                            memory rule fires; 0..1
 * @param minAvailableMemory  the available-memory rule fires below this many bytes
 * @param uploadFailureRate   failed fraction of upload requests over {@code uploadFailureWindow}; 0..1
 * @param uploadFailureMinCount upload requests the window must hold before the rate means anything
 * @param uploadFailureWindow the window of the failure rate
 * @param queueAge            the queue rule fires when the oldest due job has waited longer than this
 * @param webhook             URL every transition is POSTed to (signed like webhooks), empty for none
 */
public record AlertsConfig(boolean enabled, Duration interval, Duration forDuration, double memoryThreshold,
                           long minAvailableMemory, double uploadFailureRate, int uploadFailureMinCount,
                           Duration uploadFailureWindow, Duration queueAge, String webhook) {

    public static final boolean DEFAULT_ENABLED = true;
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    public static final Duration DEFAULT_FOR = Duration.ofSeconds(30);
    public static final double DEFAULT_MEMORY_THRESHOLD = 0.8;
    public static final long DEFAULT_MIN_AVAILABLE_MEMORY = 500L * 1024 * 1024;
    public static final double DEFAULT_UPLOAD_FAILURE_RATE = 0.2;
    public static final int DEFAULT_UPLOAD_FAILURE_MIN_COUNT = 20;
    public static final Duration DEFAULT_UPLOAD_FAILURE_WINDOW = Duration.ofMinutes(5);
    public static final Duration DEFAULT_QUEUE_AGE = Duration.ofMinutes(10);

    public static AlertsConfig defaults() {
        return new AlertsConfig(DEFAULT_ENABLED, DEFAULT_INTERVAL, DEFAULT_FOR, DEFAULT_MEMORY_THRESHOLD,
                DEFAULT_MIN_AVAILABLE_MEMORY, DEFAULT_UPLOAD_FAILURE_RATE, DEFAULT_UPLOAD_FAILURE_MIN_COUNT,
                DEFAULT_UPLOAD_FAILURE_WINDOW, DEFAULT_QUEUE_AGE, "");
    }
}
