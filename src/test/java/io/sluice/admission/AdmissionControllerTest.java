package io.sluice.admission;

import io.sluice.config.AdmissionConfig;
import io.sluice.storage.DiskFullException;
import io.sluice.storage.DiskLedger;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The decision order and the bookkeeping of {@link AdmissionController}, without HTTP. */
class AdmissionControllerTest {

    private static final int BUF = 16 * 1024;
    private static final long MIB = 1L << 20;

    private final AtomicReference<MemorySnapshot> memory = new AtomicReference<>(calm());
    private final AtomicLong disk = new AtomicLong(100 * MIB);
    private SheddingTracker shedding;
    private BufferPool pool;

    /** @param uploadsBuffered how many uploads' worth of buffers the pool holds */
    private AdmissionController controller(int slots, int perClient, int uploadsBuffered, long reserve) {
        long budget = (long) uploadsBuffered * AdmissionController.BUFFERS_PER_UPLOAD * BUF;
        AdmissionConfig config = new AdmissionConfig(0.85, budget, slots, perClient, BUF, Duration.ofSeconds(2), Duration.ZERO, 0);
        pool = new BufferPool(BUF, budget);
        MemoryPressure pressure = new MemoryPressure(0.85, pool, memory::get);
        shedding = new SheddingTracker(() -> pressure.check(0, 0));
        return new AdmissionController(config, pool, pressure, disk::get, reserve, shedding);
    }

    @Test
    void admitsAndTicketCloseReturnsEverythingOnce() {
        AdmissionController ac = controller(4, 2, 4, 0);
        Ticket t = admitted(ac.tryAdmit("a", 100));
        assertThat(t.buffer().capacity()).isEqualTo(BUF);
        assertThat(ac.activeUploads()).isEqualTo(1);
        assertThat(ac.slotsAvailable()).isEqualTo(3);
        assertThat(ac.clientsHoldingSlots()).isEqualTo(1);
        assertThat(pool.outstanding()).isEqualTo(AdmissionController.BUFFERS_PER_UPLOAD);
        assertThat(t.secondBuffer()).isNotSameAs(t.buffer());
        t.close();
        t.close();
        assertIdle(ac);
        assertThat(ac.slotsAvailable()).isEqualTo(4);
    }

    @Test
    void perClientShareIs429WithRetryAfterAndLeaksNothing() {
        AdmissionController ac = controller(4, 1, 4, 0);
        Ticket t = admitted(ac.tryAdmit("a", 100));
        Rejection r = rejected(ac.tryAdmit("a", 100));
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.code()).isEqualTo("client_upload_limit");
        assertThat(r.retryAfter()).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4));
        Ticket other = admitted(ac.tryAdmit("b", 100));
        t.close();
        other.close();
        assertIdle(ac);
    }

    @Test
    void slotsExhaustedIs503() {
        AdmissionController ac = controller(1, 1, 4, 0);
        Ticket t = admitted(ac.tryAdmit("a", 100));
        Rejection r = rejected(ac.tryAdmit("b", 100));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("upload_slots_exhausted");
        assertThat(r.retryAfter()).isNotNull();
        assertThat(ac.clientsHoldingSlots()).as("b's share given back").isEqualTo(1);
        t.close();
        assertIdle(ac);
    }

    @Test
    void bufferBudgetExhaustedIs503() {
        AdmissionController ac = controller(8, 8, 1, 0);
        Ticket t = admitted(ac.tryAdmit("a", 100));
        Rejection r = rejected(ac.tryAdmit("b", 100));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("memory_budget_exhausted");
        assertThat(ac.activeUploads()).isEqualTo(1);
        t.close();
        assertIdle(ac);
        admitted(ac.tryAdmit("b", 100)).close();
    }

    @Test
    void memoryPressureProjectsTheNewUploadsCost() {
        AdmissionController ac = controller(8, 8, 8, 0);
        long heapMax = 100 * MIB;
        // Just under the watermark now; the new upload's overhead would cross it.
        long justUnder = (long) (0.85 * heapMax) - AdmissionController.PER_UPLOAD_OVERHEAD / 2;
        memory.set(new MemorySnapshot(justUnder, heapMax, justUnder, 0, 100 * MIB, -1, -1, -1, -1, -1));
        Rejection r = rejected(ac.tryAdmit("a", 100));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("memory_pressure");
        assertThat(r.message()).contains("heap");
        assertIdle(ac);
        memory.set(calm());
        admitted(ac.tryAdmit("a", 100)).close();
        assertIdle(ac);
    }

    @Test
    void idlePooledBuffersDoNotCountAsDirectPressure() {
        AdmissionController ac = controller(8, 8, 8, 0);
        Ticket t = admitted(ac.tryAdmit("a", 100));
        t.close(); // one idle buffer now
        long directMax = 4L * BUF;
        // The JVM reports the idle buffer as used, plus almost the whole remainder.
        memory.set(new MemorySnapshot(MIB, 100 * MIB, MIB, 3L * BUF, directMax, -1, -1, -1, -1, -1));
        admitted(ac.tryAdmit("a", 100)).close();
        assertIdle(ac);
    }

    @Test
    void containerAndHostMemoryAreChecked() {
        AdmissionController ac = controller(8, 8, 8, 0);
        memory.set(new MemorySnapshot(MIB, 100 * MIB, MIB, 0, 100 * MIB, -1, 1000 * MIB, 900 * MIB, -1, -1));
        assertThat(rejected(ac.tryAdmit("a", 1)).message()).contains("container");
        memory.set(new MemorySnapshot(MIB, 100 * MIB, MIB, 0, 100 * MIB, -1, -1, -1, 1000 * MIB, 100 * MIB));
        assertThat(rejected(ac.tryAdmit("a", 1)).message()).contains("system");
        assertIdle(ac);
    }

    @Test
    void diskBelowReserveIs507() {
        AdmissionController ac = controller(8, 8, 8, 10 * MIB);
        disk.set(10 * MIB + 1000);
        admitted(ac.tryAdmit("a", 1000)).close();
        Rejection r = rejected(ac.tryAdmit("a", 1001));
        assertThat(r.status()).isEqualTo(507);
        assertThat(r.code()).isEqualTo("insufficient_storage");
        // Unknown length (chunked): one ledger step is reserved up front, the writer grows it as it goes.
        disk.set(10 * MIB + DiskLedger.STEP);
        admitted(ac.tryAdmit("a", -1)).close();
        disk.set(10 * MIB + DiskLedger.STEP - 1);
        assertThat(rejected(ac.tryAdmit("a", -1)).status()).isEqualTo(507);
        // An unreadable free-space figure does not block uploads.
        disk.set(-1);
        admitted(ac.tryAdmit("a", 1000)).close();
        assertIdle(ac);
    }

    @Test
    void hugeReservePlusLengthDoesNotWrapAround() {
        AdmissionController ac = controller(8, 8, 8, Long.MAX_VALUE);
        disk.set(Long.MAX_VALUE - 1);
        assertThat(rejected(ac.tryAdmit("a", 100)).status()).isEqualTo(507);
        assertThatThrownBy(() -> ac.disk().reserveStream(Long.MAX_VALUE)).isInstanceOf(DiskFullException.class);
        assertIdle(ac);
    }

    @Test
    void drainingRefusesEverythingFirst() {
        AdmissionController ac = controller(8, 8, 8, 0);
        shedding.drain();
        Rejection r = rejected(ac.tryAdmit("a", 1));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("draining");
        assertIdle(ac);
    }

    @Test
    void refusalsFeedTheSheddingTracker() {
        AdmissionController ac = controller(1, 1, 1, 0);
        Ticket t = admitted(ac.tryAdmit("a", 1));
        for (int i = 0; i < SheddingTracker.ENTER_TICKS; i++) {
            rejected(ac.tryAdmit("b", 1));
            shedding.tick();
        }
        assertThat(shedding.state()).isEqualTo(LoadState.SHEDDING);
        assertThat(shedding.lastReason()).isEqualTo("upload_slots_exhausted");
        t.close();
        assertIdle(ac);
    }

    private void assertIdle(AdmissionController ac) {
        assertThat(ac.activeUploads()).as("slots").isZero();
        assertThat(ac.clientsHoldingSlots()).as("client shares").isZero();
        assertThat(pool.outstanding()).as("buffers").isZero();
        assertThat(ac.disk().reserved()).as("disk reservations").isZero();
    }

    private static MemorySnapshot calm() {
        return new MemorySnapshot(MIB, 1000 * MIB, MIB, 0, 1000 * MIB, MIB, -1, -1, 10_000 * MIB, 9_000 * MIB);
    }

    private static Ticket admitted(Decision d) {
        assertThat(d).isInstanceOf(Decision.Admitted.class);
        return ((Decision.Admitted) d).ticket();
    }

    private static Rejection rejected(Decision d) {
        assertThat(d).isInstanceOf(Decision.Rejected.class);
        return ((Decision.Rejected) d).rejection();
    }
}
