package io.sluice.jobs;

/**
 * What a heartbeat learned.
 *
 * @param owned           the lease is still held (and was renewed); false means another worker or a state change
 *                        took the job: the holder must stop and write nothing more
 * @param cancelRequested someone asked to cancel the job: the holder stops at its next checkpoint
 */
public record LeaseStatus(boolean owned, boolean cancelRequested) {

    public static final LeaseStatus LOST = new LeaseStatus(false, false);
}
