package io.sluice.ops;

/**
 * The data disk's part of readiness: ready while more than {@code reserve} bytes are free. A function of the two
 * numbers only, so that more reservations (the upload ledger's) can be added to {@code reserve} by the caller.
 *
 * @param free    usable bytes on the data disk; negative when unknown (object storage), which passes
 * @param reserve bytes that must stay free: {@code limits.diskReserve}, plus the database headroom not held
 */
public record DiskCheck(long free, long reserve) {

    /**
     * @param usable       usable bytes on the data disk (negative: unknown)
     * @param diskReserve  {@code limits.diskReserve}
     * @param headroomOwed database headroom released and not yet restored: the database may need it any moment
     */
    public static DiskCheck of(long usable, long diskReserve, long headroomOwed) {
        long reserve = diskReserve + Math.max(0, headroomOwed);
        return new DiskCheck(usable, reserve < 0 ? Long.MAX_VALUE : reserve);
    }

    public boolean ok() {
        return free < 0 || free > reserve;
    }

    /** Why the disk is not ready, or null when it is. */
    public String reason() {
        return ok() ? null : "disk below reserve: " + free + " bytes free, reserve " + reserve;
    }
}
