package io.sluice.upload;

/**
 * An upload that was just recorded, and the job its pipeline started.
 *
 * @param job null when no pipeline applied
 */
public record Stored(Upload upload, QueuedJob job) {
}
