package io.sluice.admission;

import java.util.function.Supplier;

/**
 * Compares the latest {@link MemorySnapshot} with the high watermark, optionally projecting an additional cost.
 * Every limit the platform exposes is checked: heap after GC, direct buffers, the container's working set, the
 * host's available memory.
 */
public final class MemoryPressure {

    private final double watermark;
    private final BufferPool pool;
    private final Supplier<MemorySnapshot> snapshot;

    public MemoryPressure(double watermark, BufferPool pool, Supplier<MemorySnapshot> snapshot) {
        this.watermark = watermark;
        this.pool = pool;
        this.snapshot = snapshot;
    }

    /**
     * @param heapCost   bytes of heap the new work would add
     * @param directCost bytes of direct memory the new work would add (beyond reusing an idle pooled buffer)
     * @return a description of the first limit crossed, or null when everything stays under the watermark
     */
    public String check(long heapCost, long directCost) {
        MemorySnapshot m = snapshot.get();
        if (m == null) {
            return null;
        }
        double wm = watermark;
        long total = heapCost + directCost;
        if (m.heapUsedAfterGc() >= 0 && m.heapMax() > 0 && m.heapUsedAfterGc() + heapCost > wm * m.heapMax()) {
            return "heap after GC is above " + pct(wm) + " of the maximum heap";
        }
        // Idle pooled buffers count as direct memory in use but are exactly what new uploads reuse.
        long direct = m.directUsed() - pool.idleBytes();
        if (m.directUsed() >= 0 && m.directMax() > 0 && direct + directCost > wm * m.directMax()) {
            return "direct buffer memory is above " + pct(wm) + " of its maximum";
        }
        if (m.cgroupLimit() > 0 && m.cgroupWorkingSet() >= 0 && m.cgroupWorkingSet() + total > wm * m.cgroupLimit()) {
            return "container working set is above " + pct(wm) + " of its memory limit";
        }
        if (m.systemTotal() > 0 && m.systemAvailable() >= 0 && m.systemAvailable() - total < (1 - wm) * m.systemTotal()) {
            return "system available memory is below " + pct(1 - wm) + " of the total";
        }
        return null;
    }

    public double watermark() {
        return watermark;
    }

    private static String pct(double f) {
        return Math.round(f * 100) + "%";
    }
}
