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
 * @param queueTimeout        how long a request over its client's share or over the global slots waits for a slot
 *                            before it is refused; {@code 0} refuses at once (no queue)
 * @param maxQueued           requests waiting for a slot at once, across all clients; {@code 0} means no queue. One
 *                            client may hold at most {@link #QUEUED_SHARES_PER_CLIENT} of its shares of them
 */
public record AdmissionConfig(
        double memoryHighWatermark,
        long memoryBudget,
        int maxConcurrentUploads,
        int maxUploadsPerClient,
        int bufferSize,
        Duration retryAfter,
        Duration queueTimeout,
        int maxQueued) {

    public static final double DEFAULT_MEMORY_HIGH_WATERMARK = 0.85;
    public static final long DEFAULT_MEMORY_BUDGET = 0;
    public static final double AUTO_BUDGET_HEAP_FRACTION = 0.25;
    public static final int DEFAULT_MAX_CONCURRENT_UPLOADS = 64;
    public static final int DEFAULT_MAX_UPLOADS_PER_CLIENT = 16;
    public static final int DEFAULT_BUFFER_SIZE = 256 * 1024;
    public static final int MIN_BUFFER_SIZE = 16 * 1024;
    public static final int MAX_BUFFER_SIZE = 16 * 1024 * 1024;
    public static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(2);
    /**
     * Long enough for a burst of small uploads (milliseconds each) to drain through the slots, far below the
     * timeouts of clients and proxies (30-60 s), so a waiting request never looks like a hung server.
     */
    public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(5);
    /** A wait longer than a minute is a hung request to every client and proxy; refuse and let them retry instead. */
    public static final Duration MAX_QUEUE_TIMEOUT = Duration.ofMinutes(1);
    /** Four times the default slots: each waiter costs a parked virtual thread and an open connection, no buffer. */
    public static final int DEFAULT_MAX_QUEUED = 256;
    /**
     * One client may have this many times {@code maxUploadsPerClient} requests waiting (a 32-wide batch against a
     * share of 16 needs one share), so a single flooding client cannot fill the whole queue.
     */
    public static final int QUEUED_SHARES_PER_CLIENT = 2;

    /** Requests one client may have waiting: its shares, never more than the whole queue. */
    public int maxQueuedPerClient() {
        return (int) Math.min(maxQueued, (long) QUEUED_SHARES_PER_CLIENT * maxUploadsPerClient);
    }

    /** Whether requests over a limit wait at all. */
    public boolean queueing() {
        return maxQueued > 0 && queueTimeout.isPositive();
    }
}
