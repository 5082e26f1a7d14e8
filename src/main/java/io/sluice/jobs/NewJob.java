package io.sluice.jobs;

import java.time.Duration;
import java.util.Objects;

/**
 * A job to enqueue.
 *
 * @param uploadId       the upload it processes, or null for a job about no upload
 * @param pipeline       which handler runs it (non-blank)
 * @param idempotencyKey enqueueing the same key twice yields the first job (non-blank, at most 512 characters)
 * @param maxAttempts    attempts before it fails for good, >= 1
 * @param timeout        longest run of one attempt, > 0
 * @param delay          how long after enqueueing it may first run, >= 0
 */
public record NewJob(String uploadId, String pipeline, String idempotencyKey, int maxAttempts, Duration timeout,
                     Duration delay) {

    public static final int MAX_KEY_LENGTH = 512;

    public NewJob {
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(delay, "delay");
        if (pipeline == null || pipeline.isBlank()) {
            throw new IllegalArgumentException("pipeline must be non-blank");
        }
        if (idempotencyKey == null || idempotencyKey.isBlank() || idempotencyKey.length() > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("idempotencyKey must be non-blank and at most " + MAX_KEY_LENGTH
                    + " characters");
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1, was " + maxAttempts);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be > 0, was " + timeout);
        }
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0, was " + delay);
        }
    }

    /** The job that runs {@code pipeline} over an upload, keyed so that one upload gets one such job. */
    public static NewJob forUpload(String uploadId, String pipeline, int maxAttempts, Duration timeout) {
        Objects.requireNonNull(uploadId, "uploadId");
        return new NewJob(uploadId, pipeline, key(uploadId, pipeline), maxAttempts, timeout, Duration.ZERO);
    }

    /** The idempotency key of {@link #forUpload}: one job per upload and pipeline. */
    public static String key(String uploadId, String pipeline) {
        return "upload:" + uploadId + ":" + pipeline;
    }
}
