package io.sluice.admission;

/**
 * Memory readings taken at one instant. Values that the platform does not expose are {@code -1}.
 *
 * @param heapUsedAfterGc  heap occupied right after the last collection (live data, not garbage waiting)
 * @param directUsed       bytes held by direct byte buffers
 * @param cgroupLimit      the container's memory limit, -1 when unlimited or not in a cgroup
 * @param cgroupWorkingSet usage minus inactive file cache, as kubelet computes it; page cache is not pressure
 * @param systemAvailable  {@code MemAvailable} of {@code /proc/meminfo}
 */
public record MemorySnapshot(
        long heapUsed,
        long heapMax,
        long heapUsedAfterGc,
        long directUsed,
        long directMax,
        long rss,
        long cgroupLimit,
        long cgroupWorkingSet,
        long systemTotal,
        long systemAvailable) {

    /** The memory this process may use: the cgroup limit when there is one, else the machine's total. */
    public long effectiveLimit() {
        if (cgroupLimit > 0 && (systemTotal <= 0 || cgroupLimit < systemTotal)) {
            return cgroupLimit;
        }
        return systemTotal;
    }

    /** Memory still available to this process under {@link #effectiveLimit()}. */
    public long effectiveAvailable() {
        long limit = effectiveLimit();
        if (limit == cgroupLimit && cgroupWorkingSet >= 0) {
            long fromCgroup = Math.max(0, cgroupLimit - cgroupWorkingSet);
            return systemAvailable >= 0 ? Math.min(fromCgroup, systemAvailable) : fromCgroup;
        }
        return systemAvailable;
    }
}
