package io.sluice.ops.metrics;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Successes and failures over a sliding window, in fixed slices: memory is constant whatever the traffic, and a
 * reading is exact to one slice. The upload failure-rate alert reads it; Prometheus users compute the same from
 * the counters with {@code rate()}.
 *
 * <p>Thread-safe and lock-free on the recording side: a slice is reset by the first recorder that finds it stale
 * (a race at that instant may lose a count or two, which a rate over minutes does not notice).
 */
public final class OutcomeWindow {

    /** Slices per window: a reading lags the true window by at most one slice (1/30 of it). */
    static final int SLICES = 30;

    private final long sliceNanos;
    private final LongSupplier nanoTime;
    private final AtomicLongArray epochs = new AtomicLongArray(SLICES);
    private final AtomicLongArray ok = new AtomicLongArray(SLICES);
    private final AtomicLongArray failed = new AtomicLongArray(SLICES);

    /** Counts of one window. */
    public record Counts(long ok, long failed) {
        public long total() {
            return ok + failed;
        }

        /** failed / total, 0 when empty. */
        public double failureRate() {
            return total() == 0 ? 0 : (double) failed / total();
        }
    }

    public OutcomeWindow(Duration window) {
        this(window, System::nanoTime);
    }

    OutcomeWindow(Duration window, LongSupplier nanoTime) {
        this.sliceNanos = Math.max(1, window.toNanos() / SLICES);
        this.nanoTime = nanoTime;
        for (int i = 0; i < SLICES; i++) {
            epochs.set(i, Long.MIN_VALUE);
        }
    }

    public void record(boolean success) {
        long epoch = nanoTime.getAsLong() / sliceNanos;
        int i = (int) Math.floorMod(epoch, (long) SLICES);
        long seen = epochs.get(i);
        if (seen != epoch && epochs.compareAndSet(i, seen, epoch)) {
            ok.set(i, 0);
            failed.set(i, 0);
        }
        (success ? ok : failed).incrementAndGet(i);
    }

    /** Counts over the last window (the current slice included). */
    public Counts counts() {
        long now = nanoTime.getAsLong() / sliceNanos;
        long o = 0;
        long f = 0;
        for (int i = 0; i < SLICES; i++) {
            long e = epochs.get(i);
            if (e != Long.MIN_VALUE && now - e < SLICES) {
                o += ok.get(i);
                f += failed.get(i);
            }
        }
        return new Counts(o, f);
    }
}
