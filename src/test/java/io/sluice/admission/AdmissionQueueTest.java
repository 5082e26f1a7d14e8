package io.sluice.admission;

import io.sluice.config.AdmissionConfig;
import io.sluice.storage.DiskLedger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admission queue of {@link AdmissionController} with real (virtual) threads: waiting, handing slots over,
 * fairness between clients, the bounds, time-outs racing grants, drain and abandonment. Every test ends with all
 * slots, shares, buffers and queue places returned.
 */
@Timeout(60)
class AdmissionQueueTest {

    private static final int BUF = 16 * 1024;

    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<AdmissionController.WaitOutcome, AtomicInteger> waits = new ConcurrentHashMap<>();
    private BufferPool pool;
    private SheddingTracker shedding;

    private AdmissionController controller(int slots, int perClient, Duration queueTimeout, int maxQueued) {
        long budget = (long) slots * AdmissionController.BUFFERS_PER_UPLOAD * BUF;
        AdmissionConfig config = new AdmissionConfig(0.85, budget, slots, perClient, BUF, Duration.ofSeconds(1),
                queueTimeout, maxQueued);
        pool = new BufferPool(BUF, budget);
        MemoryPressure pressure = new MemoryPressure(0.85, pool, () -> null);
        shedding = new SheddingTracker(() -> null);
        return new AdmissionController(config, pool, pressure, new DiskLedger(() -> -1, 0, Duration.ofSeconds(1), 0),
                shedding,
                (outcome, waited) -> waits.computeIfAbsent(outcome, o -> new AtomicInteger()).incrementAndGet());
    }

    @AfterEach
    void stop() {
        threads.shutdownNow();
    }

    @Test
    void aRequestOverItsShareWaitsAndProceedsWhenASlotFrees() throws Exception {
        AdmissionController ac = controller(4, 1, Duration.ofSeconds(20), 10);
        Ticket held = admitted(ac.tryAdmit("a", 1));
        Future<Decision> second = threads.submit(() -> ac.tryAdmit("a", 1));
        awaitQueued(ac, 1);
        assertThat(second).isNotDone();
        held.close();
        Ticket t = admitted(second.get(10, TimeUnit.SECONDS));
        assertThat(ac.queued()).isZero();
        assertThat(ac.activeUploads()).isEqualTo(1);
        t.close();
        assertIdle(ac);
        assertThat(waits.get(AdmissionController.WaitOutcome.ADMITTED)).hasValue(1);
    }

    @Test
    void anExpiredWaitIs429WithRetryAfterAndHoldsNothing() throws Exception {
        AdmissionController ac = controller(4, 1, Duration.ofMillis(300), 10);
        Ticket held = admitted(ac.tryAdmit("a", 1));
        long start = System.nanoTime();
        Rejection r = rejected(ac.tryAdmit("a", 1));
        assertThat(System.nanoTime() - start).as("waited before refusing")
                .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.code()).isEqualTo("client_upload_limit");
        assertThat(r.message()).contains("none freed within");
        assertThat(r.retryAfter()).isNotNull();
        assertThat(ac.queued()).isZero();
        held.close();
        assertIdle(ac);
        assertThat(waits.get(AdmissionController.WaitOutcome.EXPIRED)).hasValue(1);
    }

    @Test
    void overTheGlobalSlotsAnExpiredWaitIs503SlotsExhausted() {
        AdmissionController ac = controller(1, 1, Duration.ofMillis(200), 10);
        Ticket held = admitted(ac.tryAdmit("a", 1));
        Rejection r = rejected(ac.tryAdmit("b", 1));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("upload_slots_exhausted");
        assertThat(r.retryAfter()).isNotNull();
        held.close();
        assertIdle(ac);
    }

    @Test
    void aFullQueueAndAClientsFullPartOfItAreRefusedAtOnce() throws Exception {
        // Share 1, so one client may queue 2 (QUEUED_SHARES_PER_CLIENT x share); the whole queue holds 3.
        AdmissionController ac = controller(2, 1, Duration.ofSeconds(30), 3);
        Ticket a = admitted(ac.tryAdmit("a", 1));
        Ticket b = admitted(ac.tryAdmit("b", 1));
        List<Future<Decision>> waiting = new ArrayList<>();
        waiting.add(threads.submit(() -> ac.tryAdmit("a", 1)));
        waiting.add(threads.submit(() -> ac.tryAdmit("a", 1)));
        awaitQueued(ac, 2);
        long start = System.nanoTime();
        Rejection own = rejected(ac.tryAdmit("a", 1));
        assertThat(own.status()).isEqualTo(429);
        assertThat(own.code()).isEqualTo("client_upload_limit");
        assertThat(own.message()).contains("the most one client may queue");
        waiting.add(threads.submit(() -> ac.tryAdmit("b", 1)));
        awaitQueued(ac, 3);
        Rejection full = rejected(ac.tryAdmit("c", 1));
        assertThat(full.status()).isEqualTo(503);
        assertThat(full.code()).isEqualTo("upload_slots_exhausted");
        assertThat(full.message()).contains("queue of 3 waiting uploads is full");
        assertThat(System.nanoTime() - start).as("refused without waiting")
                .isLessThan(TimeUnit.SECONDS.toNanos(10));
        a.close();
        b.close();
        for (Future<Decision> f : waiting) {
            admitted(f.get(20, TimeUnit.SECONDS)).close();
        }
        assertIdle(ac);
    }

    @Test
    void aFreedSlotGoesRoundRobinAcrossClientsNotToTheFlooder() throws Exception {
        // One slot. A queues 4 first, then B one: B must be served second, not fifth.
        AdmissionController ac = controller(1, 1, Duration.ofSeconds(30), 20);
        Ticket first = admitted(ac.tryAdmit("a", 1));
        List<String> order = new CopyOnWriteArrayList<>();
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            all.add(threads.submit(() -> runOne(ac, "a", order)));
            awaitQueued(ac, i + 1);
        }
        all.add(threads.submit(() -> runOne(ac, "b", order)));
        awaitQueued(ac, 3);
        first.close();
        for (Future<?> f : all) {
            f.get(20, TimeUnit.SECONDS);
        }
        assertThat(order).containsExactly("a", "b", "a");
        assertIdle(ac);
    }

    private static void runOne(AdmissionController ac, String client, List<String> order) {
        Ticket t = admitted(ac.tryAdmit(client, 1));
        order.add(client);
        t.close();
    }

    @Test
    void aClientAtItsShareDoesNotBlockAnotherClientsWaiterBehindIt() throws Exception {
        // 2 slots, share 1: A holds one, queues a second (blocked by its share), B queues behind on the global
        // limit. When C's slot frees, A's waiter is not eligible; B's is, and gets it.
        AdmissionController ac = controller(2, 1, Duration.ofSeconds(30), 10);
        Ticket a = admitted(ac.tryAdmit("a", 1));
        Ticket c = admitted(ac.tryAdmit("c", 1));
        Future<Decision> aWaits = threads.submit(() -> ac.tryAdmit("a", 1));
        awaitQueued(ac, 1);
        Future<Decision> bWaits = threads.submit(() -> ac.tryAdmit("b", 1));
        awaitQueued(ac, 2);
        c.close();
        Ticket b = admitted(bWaits.get(10, TimeUnit.SECONDS));
        assertThat(aWaits).isNotDone();
        a.close();
        admitted(aWaits.get(10, TimeUnit.SECONDS)).close();
        b.close();
        assertIdle(ac);
    }

    @Test
    void drainAnswersEveryWaiter503DrainingAtOnce() throws Exception {
        AdmissionController ac = controller(1, 1, Duration.ofSeconds(30), 10);
        Ticket held = admitted(ac.tryAdmit("a", 1));
        List<Future<Decision>> waiting = new ArrayList<>();
        for (String c : List.of("a", "b", "c")) {
            waiting.add(threads.submit(() -> ac.tryAdmit(c, 1)));
        }
        awaitQueued(ac, 3);
        ac.drain();
        for (Future<Decision> f : waiting) {
            Rejection r = rejected(f.get(5, TimeUnit.SECONDS));
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.code()).isEqualTo("draining");
        }
        assertThat(shedding.state()).isEqualTo(LoadState.DRAINING);
        assertThat(ac.queued()).isZero();
        // In-flight work keeps its slot until it ends; nothing new is handed out.
        assertThat(ac.activeUploads()).isEqualTo(1);
        held.close();
        assertIdle(ac);
        assertThat(rejected(ac.tryAdmit("d", 1)).code()).isEqualTo("draining");
    }

    /**
     * A request expecting 100-continue gives up after {@link AdmissionController#EXPECT_CONTINUE_WAIT}, before its
     * client's own timer sends the body unasked; one without it, queued beside it, keeps waiting for its slot.
     */
    @Test
    void aRequestExpectingContinueWaitsOnlyBrieflyWhileOthersWaitTheirFullTime() throws Exception {
        AdmissionController ac = controller(1, 1, Duration.ofSeconds(30), 10);
        Ticket held = admitted(ac.tryAdmit("a", 1));
        Future<Decision> plain = threads.submit(() -> ac.tryAdmit("b", 1, ClientWatch.NONE, false));
        Future<Decision> expecting = threads.submit(() -> ac.tryAdmit("c", 1, ClientWatch.NONE, true));
        awaitQueued(ac, 2);
        Rejection r = rejected(expecting.get(10, TimeUnit.SECONDS));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("upload_slots_exhausted");
        assertThat(r.message()).contains("none freed within 1s");
        assertThat(r.retryAfter()).isNotNull();
        assertThat(plain).as("the request without Expect still waits for its 30 s").isNotDone();
        assertThat(ac.queued()).isEqualTo(1);
        held.close();
        admitted(plain.get(10, TimeUnit.SECONDS)).close();
        assertIdle(ac);
        assertThat(waits.get(AdmissionController.WaitOutcome.EXPIRED)).hasValue(1);
    }

    @Test
    void aWaiterWhoseClientIsGoneLeavesTheQueue() throws Exception {
        AdmissionController ac = controller(1, 1, Duration.ofSeconds(30), 10);
        Ticket held = admitted(ac.tryAdmit("a", 1));
        AtomicBoolean gone = new AtomicBoolean();
        Future<Decision> waiter = threads.submit(() -> ac.tryAdmit("b", 1, gone::get, false));
        awaitQueued(ac, 1);
        gone.set(true);
        assertThat(waiter.get(10, TimeUnit.SECONDS)).isInstanceOf(Decision.Abandoned.class);
        assertThat(ac.queued()).isZero();
        held.close();
        assertIdle(ac);
        assertThat(waits.get(AdmissionController.WaitOutcome.ABANDONED)).hasValue(1);
    }

    /**
     * Many clients racing for few slots with waits that expire around the moment slots free: every request ends
     * admitted or refused, every admitted ticket is closed once, and afterwards nothing is held.
     */
    @RepeatedTest(3)
    void underRacingGrantsAndTimeoutsNothingLeaks() throws Exception {
        AdmissionController ac = controller(3, 2, Duration.ofMillis(30), 40);
        AtomicInteger admitted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger maxActive = new AtomicInteger();
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            String client = "c" + (i % 5);
            all.add(threads.submit(() -> {
                switch (ac.tryAdmit(client, 1)) {
                    case Decision.Admitted(Ticket t) -> {
                        admitted.incrementAndGet();
                        maxActive.accumulateAndGet(ac.activeUploads(), Math::max);
                        try {
                            Thread.sleep(1);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        t.close();
                    }
                    case Decision.Rejected r -> refused.incrementAndGet();
                    case Decision.Abandoned a -> throw new AssertionError("nobody abandoned");
                }
            }));
        }
        for (Future<?> f : all) {
            f.get(30, TimeUnit.SECONDS);
        }
        assertThat(admitted.get() + refused.get()).isEqualTo(400);
        assertThat(admitted.get()).isPositive();
        assertThat(maxActive.get()).isLessThanOrEqualTo(3);
        assertIdle(ac);
    }

    private static void awaitQueued(AdmissionController ac, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ac.queued() != n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("queued " + ac.queued() + ", expected " + n);
            }
            Thread.sleep(5);
        }
    }

    private void assertIdle(AdmissionController ac) {
        assertThat(ac.activeUploads()).isZero();
        assertThat(ac.clientsHoldingSlots()).isZero();
        assertThat(ac.queued()).isZero();
        assertThat(pool.outstanding()).isZero();
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
