package io.sluice.admission;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Turns individual refusals into a load state with hysteresis, for readiness and the shedding WARN lines.
 *
 * <p>{@link #tick()} runs once per {@link #TICK_MILLIS}. A tick "sheds" when anything was refused since the last
 * tick or memory is above the watermark. {@link #ENTER_TICKS} shedding ticks in a row switch to
 * {@link LoadState#SHEDDING}; {@link #EXIT_TICKS} clear ticks in a row switch back. One refused request therefore
 * never flips readiness, and a recovering server does not flap.
 */
public final class SheddingTracker {

    public static final long TICK_MILLIS = 1000;
    public static final int ENTER_TICKS = 3;
    public static final int EXIT_TICKS = 5;

    private static final Logger log = LoggerFactory.getLogger(SheddingTracker.class);

    private final Supplier<String> memoryPressure;
    private final AtomicReference<LoadState> state = new AtomicReference<>(LoadState.ACCEPTING);
    private final AtomicLong refusedSinceTick = new AtomicLong();
    private final AtomicLong refusedTotal = new AtomicLong();
    private final AtomicReference<String> lastReason = new AtomicReference<>();
    private int sheddingTicks;
    private int clearTicks;
    private long sheddingSince;
    private long refusedAtStart;

    private final Consumer<String> onRejection;

    /** @param memoryPressure describes current memory pressure, or returns null when there is none */
    public SheddingTracker(Supplier<String> memoryPressure) {
        this(memoryPressure, code -> {
        });
    }

    /**
     * @param onRejection told the code of every refusal, on the refusing thread (metrics count them by reason);
     *                    must be cheap and must not throw
     */
    public SheddingTracker(Supplier<String> memoryPressure, Consumer<String> onRejection) {
        this.memoryPressure = memoryPressure;
        this.onRejection = onRejection;
    }

    public void recordRejection(String code) {
        onRejection.accept(code);
        refusedSinceTick.incrementAndGet();
        refusedTotal.incrementAndGet();
        lastReason.set(code);
    }

    /** Called by one scheduler thread only. */
    public synchronized void tick() {
        if (state.get() == LoadState.DRAINING) {
            return;
        }
        long refused = refusedSinceTick.getAndSet(0);
        String pressure = memoryPressure.get();
        boolean shedding = refused > 0 || pressure != null;
        if (pressure != null) {
            lastReason.set("memory_pressure: " + pressure);
        }
        if (shedding) {
            sheddingTicks++;
            clearTicks = 0;
        } else {
            clearTicks++;
            sheddingTicks = 0;
        }
        LoadState current = state.get();
        if (current == LoadState.ACCEPTING && sheddingTicks >= ENTER_TICKS) {
            if (state.compareAndSet(LoadState.ACCEPTING, LoadState.SHEDDING)) {
                sheddingSince = System.nanoTime();
                refusedAtStart = refusedTotal.get();
                log.warn("Shedding started: reason={}, refused {} request(s) in the last {} s",
                        lastReason.get(), refused, ENTER_TICKS);
            }
        } else if (current == LoadState.SHEDDING && clearTicks >= EXIT_TICKS) {
            if (state.compareAndSet(LoadState.SHEDDING, LoadState.ACCEPTING)) {
                log.warn("Shedding stopped after {} s: last reason={}, refused {} request(s) meanwhile",
                        (System.nanoTime() - sheddingSince) / 1_000_000_000L, lastReason.get(),
                        refusedTotal.get() - refusedAtStart);
            }
        }
    }

    /** Enters {@link LoadState#DRAINING} for good (SIGTERM). */
    public void drain() {
        state.set(LoadState.DRAINING);
    }

    public LoadState state() {
        return state.get();
    }

    /** The code of the latest refusal or memory pressure, or null when nothing was ever refused. */
    public String lastReason() {
        return lastReason.get();
    }

    public long refusedTotal() {
        return refusedTotal.get();
    }
}
