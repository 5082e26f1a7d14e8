package io.sluice.jobs;

import java.util.Objects;

/**
 * The right to write one attempt of one job. Every write after a claim names its lease and is applied only while
 * the row still has this owner and attempt and is running; otherwise it is "fenced out" and changes nothing.
 * Because {@code attempt} only grows, a lease, once lost, can never become valid again.
 *
 * @param jobId   the job
 * @param owner   the worker that claimed it (unique per worker pool instance)
 * @param attempt the attempt number this claim started, 1-based
 */
public record Lease(String jobId, String owner, int attempt) {

    public Lease {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(owner, "owner");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1, was " + attempt);
        }
    }
}
