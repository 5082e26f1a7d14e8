package io.sluice.config;

import java.time.Duration;

/**
 * Admission control.
 *
 * @param memoryHighWatermark fraction (0..1) of each memory limit (heap, direct, cgroup, host) above which new
 *                            uploads are refused
 * @param memoryBudget        bytes of upload buffers (two per upload) in flight at once; the buffer pool is sized from
 *                            it. {@code 0} means derived from the heap at start-up ({@link #AUTO_BUDGET_HEAP_FRACTION})
 * @param retryAfter          base of the {@code Retry-After} answered with 503/429 (jitter is added on top)
 */
public record AdmissionConfig(
        double memoryHighWatermark,
        long memoryBudget,
        int maxConcurrentUploads,
        int maxUploadsPerClient,
        int bufferSize,
        Duration retryAfter) {

    public static final double DEFAULT_MEMORY_HIGH_WATERMARK = 0.85;
    public static final long DEFAULT_MEMORY_BUDGET = 0;
    public static final double AUTO_BUDGET_HEAP_FRACTION = 0.25;
    public static final int DEFAULT_MAX_CONCURRENT_UPLOADS = 64;
    public static final int DEFAULT_MAX_UPLOADS_PER_CLIENT = 16;
    public static final int DEFAULT_BUFFER_SIZE = 256 * 1024;
    public static final int MIN_BUFFER_SIZE = 16 * 1024;
    public static final int MAX_BUFFER_SIZE = 16 * 1024 * 1024;
    public static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(2);
}
