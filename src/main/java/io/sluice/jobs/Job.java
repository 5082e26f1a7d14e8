package io.sluice.jobs;

import java.time.Duration;
import java.time.Instant;

/**
 * One row of the job table, as last read. Times are from the database clock.
 *
 * @param attempt          claims so far (0 before the first); the fencing token together with {@code leaseOwner}
 * @param maxAttempts      the value {@code attempt} may reach before a failure is final
 * @param runAt            a queued job is not claimed before this
 * @param leaseOwner       worker of the current (running) or last attempt; null before the first claim
 * @param leaseExpiresAt   while running: the lease ends here unless renewed; null otherwise
 * @param progress         0-100, reported by the handler of the current or last attempt
 * @param etaSeconds       the handler's estimate of the time left, or null
 * @param errorCode        why the last attempt failed (kept while retrying), or null
 * @param result           JSON text a succeeded job produced, or null
 * @param cancelRequested  cancel was asked while running; the worker stops at its next checkpoint
 * @param owner            the API key of its upload (inherited when enqueued); null in open mode
 */
public record Job(
        String id,
        String uploadId,
        String pipeline,
        JobState state,
        int attempt,
        int maxAttempts,
        Instant runAt,
        String leaseOwner,
        Instant leaseExpiresAt,
        Duration timeout,
        int progress,
        String stage,
        Long etaSeconds,
        String errorCode,
        String errorMessage,
        String result,
        String idempotencyKey,
        boolean cancelRequested,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        Instant updatedAt,
        String owner) {

    /** The lease of the current attempt; only meaningful for a job this worker just claimed. */
    public Lease lease() {
        if (state != JobState.RUNNING || leaseOwner == null) {
            throw new IllegalStateException("job " + id + " is " + state.dbValue() + ", not leased");
        }
        return new Lease(id, leaseOwner, attempt);
    }
}
