package io.sluice.admission;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** Hysteresis, driven tick by tick. */
class SheddingTrackerTest {

    private final AtomicReference<String> pressure = new AtomicReference<>();
    private final SheddingTracker tracker = new SheddingTracker(pressure::get);

    @Test
    void startsAcceptingAndIdleTicksChangeNothing() {
        for (int i = 0; i < 20; i++) {
            tracker.tick();
        }
        assertThat(tracker.state()).isEqualTo(LoadState.ACCEPTING);
        assertThat(tracker.lastReason()).isNull();
        assertThat(tracker.refusedTotal()).isZero();
    }

    @Test
    void entersSheddingOnlyAfterEnterTicksInARow() {
        for (int i = 1; i < SheddingTracker.ENTER_TICKS; i++) {
            tracker.recordRejection("upload_slots_exhausted");
            tracker.tick();
            assertThat(tracker.state()).as("after %d shedding tick(s)", i).isEqualTo(LoadState.ACCEPTING);
        }
        tracker.recordRejection("upload_slots_exhausted");
        tracker.tick();
        assertThat(tracker.state()).isEqualTo(LoadState.SHEDDING);
        assertThat(tracker.lastReason()).isEqualTo("upload_slots_exhausted");
        assertThat(tracker.refusedTotal()).isEqualTo(SheddingTracker.ENTER_TICKS);
    }

    @Test
    void aClearTickInBetweenRestartsTheCount() {
        for (int round = 0; round < 5; round++) {
            for (int i = 1; i < SheddingTracker.ENTER_TICKS; i++) {
                tracker.recordRejection("client_upload_limit");
                tracker.tick();
            }
            tracker.tick(); // nothing refused
        }
        assertThat(tracker.state()).isEqualTo(LoadState.ACCEPTING);
    }

    @Test
    void manyRefusalsWithinOneTickCountAsOne() {
        for (int i = 0; i < 1000; i++) {
            tracker.recordRejection("memory_budget_exhausted");
        }
        tracker.tick();
        assertThat(tracker.state()).isEqualTo(LoadState.ACCEPTING);
        assertThat(tracker.refusedTotal()).isEqualTo(1000);
    }

    @Test
    void leavesSheddingOnlyAfterExitTicksClear() {
        enterShedding();
        for (int i = 1; i < SheddingTracker.EXIT_TICKS; i++) {
            tracker.tick();
            assertThat(tracker.state()).as("after %d clear tick(s)", i).isEqualTo(LoadState.SHEDDING);
        }
        tracker.tick();
        assertThat(tracker.state()).isEqualTo(LoadState.ACCEPTING);
    }

    @Test
    void aRefusalWhileRecoveringRestartsTheExitCount() {
        enterShedding();
        for (int i = 1; i < SheddingTracker.EXIT_TICKS; i++) {
            tracker.tick();
        }
        tracker.recordRejection("memory_pressure");
        tracker.tick();
        assertThat(tracker.state()).isEqualTo(LoadState.SHEDDING);
        for (int i = 1; i < SheddingTracker.EXIT_TICKS; i++) {
            tracker.tick();
            assertThat(tracker.state()).isEqualTo(LoadState.SHEDDING);
        }
        tracker.tick();
        assertThat(tracker.state()).isEqualTo(LoadState.ACCEPTING);
    }

    @Test
    void memoryPressureAloneSheds() {
        pressure.set("heap after GC is above 85% of the maximum heap");
        for (int i = 0; i < SheddingTracker.ENTER_TICKS; i++) {
            tracker.tick();
        }
        assertThat(tracker.state()).isEqualTo(LoadState.SHEDDING);
        assertThat(tracker.lastReason()).startsWith("memory_pressure").contains("heap after GC");
        assertThat(tracker.refusedTotal()).isZero();
        pressure.set(null);
        for (int i = 0; i < SheddingTracker.EXIT_TICKS; i++) {
            tracker.tick();
        }
        assertThat(tracker.state()).isEqualTo(LoadState.ACCEPTING);
    }

    @Test
    void drainingIsFinal() {
        enterShedding();
        tracker.drain();
        assertThat(tracker.state()).isEqualTo(LoadState.DRAINING);
        for (int i = 0; i < SheddingTracker.EXIT_TICKS * 2; i++) {
            tracker.tick();
        }
        assertThat(tracker.state()).isEqualTo(LoadState.DRAINING);
        tracker.recordRejection("draining");
        tracker.tick();
        assertThat(tracker.state()).isEqualTo(LoadState.DRAINING);
    }

    private void enterShedding() {
        for (int i = 0; i < SheddingTracker.ENTER_TICKS; i++) {
            tracker.recordRejection("upload_slots_exhausted");
            tracker.tick();
        }
        assertThat(tracker.state()).isEqualTo(LoadState.SHEDDING);
    }
}
