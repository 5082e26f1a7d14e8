package io.sluice.admission;

import io.sluice.api.ErrorCode;
import io.sluice.config.AdmissionConfig;
import io.sluice.config.Units;
import io.sluice.storage.DiskFullException;
import io.sluice.storage.DiskLedger;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;

/**
 * Decides whether a new upload may start, before any of its body is read.
 *
 * <p>Checks, cheapest first: draining; room on the disk, reserved on the {@link DiskLedger} for the declared length
 * (507); the client's own share and the global slots, where a
 * request over either waits in a bounded fair queue for up to {@code admission.queueTimeout} before it is refused
 * (429/503); the buffer budget; memory pressure projected with this upload's cost ({@link MemoryPressure}). Memory
 * and disk refusals are immediate: waiting does not make memory or disk free. Memory is read from a periodically
 * refreshed snapshot, never per request.
 *
 * <p>The queue: one FIFO per client, the clients in a round-robin ring. A freed slot goes to the head waiter of the
 * first client in the ring that is under its share, and that client moves to the back of the ring, so a client
 * that floods the queue gets one turn per round like everyone else. Slots are handed over under the lock, to the
 * waiter itself: a request arriving meanwhile never takes a slot an eligible waiter was due (none is free while
 * one waits). A waiter that runs out of time or loses its client gives its place up under the same lock, so it
 * either holds a granted slot (and goes on with it, to be closed like any ticket) or holds nothing.
 *
 * <p>Thread-safe. Every admitted {@link Ticket} must be closed; closing returns its slot, share, buffers and what
 * its disk reservation did not use.
 */
public final class AdmissionController {

    /** Jetty's own per-request buffers and objects, beyond our pooled buffers. Conservative. */
    public static final long PER_UPLOAD_OVERHEAD = 64 * 1024;
    /** One buffer fills from the network while the other is hashed and written (see FileSink). */
    public static final int BUFFERS_PER_UPLOAD = 2;
    /** How often a waiter looks at its client and the drain state between wake-ups. */
    static final long WATCH_MILLIS = 200;
    /**
     * The longest a request that sent {@code Expect: 100-continue} waits. Such a client waits only so long for our
     * {@code 100} or final answer before it sends its body anyway: 1 s for curl, Go's default transport and .NET,
     * 3 s for Apache HttpClient, 5 s for java.net.http (JDK 24+). java.net.http then misreads an answer that comes
     * later still: the 429 after a 5 s wait became "parsing HTTP/1.1 status line" or a request timeout on a third of
     * the benchmark's refusals. Answering within the shortest of those timers keeps every such client on its
     * intended path, where a refusal costs it no body bytes.
     */
    public static final Duration EXPECT_CONTINUE_WAIT = Duration.ofSeconds(1);

    /** How a wait ended, for the wait metric. */
    public enum WaitOutcome { ADMITTED, EXPIRED, ABANDONED, DRAINING }

    private final AdmissionConfig config;
    private final BufferPool pool;
    private final MemoryPressure memory;
    private final DiskLedger disk;
    private final SheddingTracker shedding;
    private final BiConsumer<WaitOutcome, Duration> onWait;

    private final ReentrantLock lock = new ReentrantLock();
    // Written under the lock only; atomic/concurrent so that gauges and /health read them without it.
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger queued = new AtomicInteger();
    private final ConcurrentHashMap<String, Integer> perClient = new ConcurrentHashMap<>();
    /** Per-client FIFOs; iteration order is the round-robin ring (a served client is re-inserted at the end). */
    private final LinkedHashMap<String, ArrayDeque<Waiter>> queues = new LinkedHashMap<>();
    private boolean draining;

    /** With a ledger of its own over {@code usableDisk} (tests; the server shares one ledger among all writers). */
    public AdmissionController(AdmissionConfig config, BufferPool pool, MemoryPressure memory,
                               LongSupplier usableDisk, long diskReserve, SheddingTracker shedding) {
        this(config, pool, memory, new DiskLedger(usableDisk, diskReserve, config.retryAfter(), 0), shedding,
                (outcome, waited) -> {
                });
    }

    /**
     * @param disk   the data disk's ledger, shared with every other writer
     * @param onWait told how every wait in the queue ended and how long it took, on the waiting thread (metrics);
     *               must be cheap and must not throw
     */
    public AdmissionController(AdmissionConfig config, BufferPool pool, MemoryPressure memory, DiskLedger disk,
                               SheddingTracker shedding, BiConsumer<WaitOutcome, Duration> onWait) {
        this.config = config;
        this.pool = pool;
        this.memory = memory;
        this.disk = disk;
        this.shedding = shedding;
        this.onWait = onWait;
    }

    /** Asks to start one upload whose client cannot be watched while it waits. */
    public Decision tryAdmit(String client, long declaredLength) {
        return tryAdmit(client, declaredLength, ClientWatch.NONE, false);
    }

    /**
     * Asks to start one upload, waiting (blocking this thread, a virtual one) up to {@code admission.queueTimeout}
     * when the client's share or the global slots are taken.
     *
     * @param client         the client's key (API key id or remote address)
     * @param declaredLength bytes the client announced, or -1 when unknown (chunked)
     * @param watch          polled while waiting; once it says the client is gone the wait ends with
     *                       {@link Decision.Abandoned}
     * @param expectsContinue the request sent {@code Expect: 100-continue}: it waits at most
     *                        {@link #EXPECT_CONTINUE_WAIT}
     */
    public Decision tryAdmit(String client, long declaredLength, ClientWatch watch, boolean expectsContinue) {
        if (isDraining()) {
            return rejectDraining();
        }
        // Before the queue: waiting does not make disk free, so a refusal for space is immediate.
        DiskLedger.Reservation reservation;
        try {
            reservation = disk.reserveStream(declaredLength);
        } catch (DiskFullException e) {
            return reject(ErrorCode.INSUFFICIENT_STORAGE, e.getMessage(), true);
        }
        Decision decision = admitSlot(client, watch, expectsContinue);
        return switch (decision) {
            case Decision.Admitted(AdmittedTicket t) -> new Decision.Admitted(t.holding(reservation));
            default -> {
                reservation.close();
                yield decision;
            }
        };
    }

    /** Everything after the disk: the client's share and a global slot (waiting for them), buffers and memory. */
    private Decision admitSlot(String client, ClientWatch watch, boolean expectsContinue) {
        Waiter waiter;
        lock.lock();
        try {
            if (draining) {
                return rejectDraining();
            }
            if (fits(client)) {
                take(client);
                waiter = null;
            } else {
                Rejection full = queueFull(client);
                if (full != null) {
                    return reject(full);
                }
                waiter = new Waiter(client, lock.newCondition());
                queues.computeIfAbsent(client, c -> new ArrayDeque<>()).addLast(waiter);
                queued.incrementAndGet();
            }
        } finally {
            lock.unlock();
        }
        if (waiter != null) {
            Duration patience = expectsContinue && config.queueTimeout().compareTo(EXPECT_CONTINUE_WAIT) > 0
                    ? EXPECT_CONTINUE_WAIT : config.queueTimeout();
            Decision refused = await(waiter, watch, patience);
            if (refused != null) {
                return refused;
            }
        }
        return withBuffers(client);
    }

    /** The slot is held: memory and buffers, refused at once (and the slot handed on) when short. */
    private Decision withBuffers(String client) {
        String pressure = memory.check(PER_UPLOAD_OVERHEAD, (long) BUFFERS_PER_UPLOAD * pool.bufferSize());
        ByteBuffer buffer = pressure == null ? pool.tryAcquire() : null;
        ByteBuffer second = buffer == null ? null : pool.tryAcquire();
        if (buffer != null && second == null) {
            pool.release(buffer);
            buffer = null;
        }
        if (buffer == null) {
            release(client);
            return pressure != null
                    ? reject(ErrorCode.MEMORY_PRESSURE, pressure, true)
                    : reject(ErrorCode.MEMORY_BUDGET_EXHAUSTED,
                    "the upload buffer budget (" + pool.capacity() + " x " + pool.bufferSize() + " bytes) is in use",
                    true);
        }
        return new Decision.Admitted(new AdmittedTicket(client, buffer, second));
    }

    /**
     * Parks until the waiter is granted a slot, the server drains, the client goes or the time is up.
     *
     * @return null when the waiter now holds a slot, else the decision to answer
     */
    private Decision await(Waiter waiter, ClientWatch watch, Duration patience) {
        long start = System.nanoTime();
        long deadline = start + patience.toNanos();
        boolean gone = false;
        boolean interrupted = false;
        WaitOutcome outcome;
        lock.lock();
        try {
            while (true) {
                if (waiter.state == Waiter.State.GRANTED) {
                    // Also when the deadline or the client's end came at the same moment: the slot is this
                    // request's now, and the ticket it becomes is closed like any other.
                    outcome = WaitOutcome.ADMITTED;
                    break;
                }
                if (waiter.state == Waiter.State.DRAINED) {
                    outcome = WaitOutcome.DRAINING;
                    break;
                }
                long left = deadline - System.nanoTime();
                if (gone || interrupted || left <= 0) {
                    leave(waiter);
                    outcome = gone || interrupted ? WaitOutcome.ABANDONED : WaitOutcome.EXPIRED;
                    break;
                }
                try {
                    waiter.wakeUp.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(WATCH_MILLIS)));
                } catch (InterruptedException e) {
                    interrupted = true;
                    continue;
                }
                if (waiter.state == Waiter.State.WAITING) {
                    // Outside the lock: polling the client reads from its connection.
                    lock.unlock();
                    try {
                        gone = watch.gone();
                    } catch (RuntimeException e) {
                        // A connection that cannot even be read from has no client left to answer; leaving the
                        // queue here keeps the waiter from staying in it (and later holding a slot) for nobody.
                        gone = true;
                    }
                    try {
                        if (shedding.state() == LoadState.DRAINING) {
                            drain();
                        }
                    } finally {
                        lock.lock();
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        onWait.accept(outcome, Duration.ofNanos(System.nanoTime() - start));
        return switch (outcome) {
            case ADMITTED -> null;
            case DRAINING -> rejectDraining();
            case ABANDONED -> new Decision.Abandoned();
            case EXPIRED -> reject(expired(waiter.client, patience));
        };
    }

    /** Under the lock: whether {@code client} may take a slot now. */
    private boolean fits(String client) {
        return perClient.getOrDefault(client, 0) < config.maxUploadsPerClient()
                && active.get() < config.maxConcurrentUploads();
    }

    /** Under the lock. */
    private void take(String client) {
        active.incrementAndGet();
        perClient.merge(client, 1, Integer::sum);
    }

    /** Under the lock: why the queue takes no more from {@code client}, or null when it does. */
    private Rejection queueFull(String client) {
        boolean overShare = perClient.getOrDefault(client, 0) >= config.maxUploadsPerClient();
        if (!config.queueing()) {
            return overShare ? shareRefusal("") : slotsRefusal("");
        }
        ArrayDeque<Waiter> mine = queues.get(client);
        if (mine != null && mine.size() >= config.maxQueuedPerClient()) {
            return shareRefusal(" and " + mine.size() + " more waiting, the most one client may queue");
        }
        if (queued.get() >= config.maxQueued()) {
            String why = " and the queue of " + config.maxQueued() + " waiting uploads is full";
            return overShare ? shareRefusal(why) : slotsRefusal(why);
        }
        return null;
    }

    /** Why a wait ran out: the client's own share when that is what it still waits for, else the slots. */
    private Rejection expired(String client, Duration waited) {
        String why = " and none freed within " + Units.formatDuration(waited);
        return perClient.getOrDefault(client, 0) >= config.maxUploadsPerClient()
                ? shareRefusal(why) : slotsRefusal(why);
    }

    private Rejection shareRefusal(String why) {
        return new Rejection(ErrorCode.CLIENT_UPLOAD_LIMIT, "this client already has " + config.maxUploadsPerClient()
                + " uploads in progress" + why, retryAfter());
    }

    private Rejection slotsRefusal(String why) {
        return new Rejection(ErrorCode.UPLOAD_SLOTS_EXHAUSTED, "all " + config.maxConcurrentUploads()
                + " upload slots are busy" + why, retryAfter());
    }

    /** Under the lock: takes an ungranted waiter out of the queue. */
    private void leave(Waiter waiter) {
        ArrayDeque<Waiter> q = queues.get(waiter.client);
        if (q != null && q.remove(waiter)) {
            queued.decrementAndGet();
            if (q.isEmpty()) {
                queues.remove(waiter.client);
            }
        }
        waiter.state = Waiter.State.LEFT;
    }

    /**
     * Under the lock: hands free slots to waiters, one per client in ring order, skipping clients at their share.
     * A served client goes to the back of the ring.
     */
    private void grant() {
        while (active.get() < config.maxConcurrentUploads() && !queues.isEmpty()) {
            String next = null;
            for (String client : queues.keySet()) {
                if (perClient.getOrDefault(client, 0) < config.maxUploadsPerClient()) {
                    next = client;
                    break;
                }
            }
            if (next == null) {
                return;
            }
            ArrayDeque<Waiter> q = queues.remove(next);
            Waiter w = q.pollFirst();
            if (!q.isEmpty()) {
                queues.put(next, q);
            }
            queued.decrementAndGet();
            take(next);
            w.state = Waiter.State.GRANTED;
            w.wakeUp.signal();
        }
    }

    /** Returns one slot and share, and hands it on. */
    private void release(String client) {
        lock.lock();
        try {
            active.decrementAndGet();
            perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
            if (!draining) {
                grant();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops admitting for good (SIGTERM): readiness turns DRAINING, every waiting request is answered
     * {@code 503 draining} at once, and in-flight uploads keep their slots until they finish.
     */
    public void drain() {
        shedding.drain();
        lock.lock();
        try {
            draining = true;
            for (ArrayDeque<Waiter> q : queues.values()) {
                for (Waiter w : q) {
                    w.state = Waiter.State.DRAINED;
                    w.wakeUp.signal();
                }
            }
            queues.clear();
            queued.set(0);
        } finally {
            lock.unlock();
        }
    }

    private boolean isDraining() {
        return shedding.state() == LoadState.DRAINING;
    }

    private Decision rejectDraining() {
        return reject(ErrorCode.DRAINING, "the server is shutting down", true);
    }

    private Decision reject(ErrorCode error, String message, boolean retry) {
        return reject(new Rejection(error, message, retry || error.status() == 429 ? retryAfter() : null));
    }

    private Decision reject(Rejection r) {
        shedding.recordRejection(r.code());
        return new Decision.Rejected(r);
    }

    /** Base plus up to the same again of jitter, so refused clients do not all come back in the same second. */
    private Duration retryAfter() {
        long base = Math.max(1, config.retryAfter().toSeconds());
        return Duration.ofSeconds(base + ThreadLocalRandom.current().nextLong(base + 1));
    }

    public int activeUploads() {
        return active.get();
    }

    public int slotsTotal() {
        return config.maxConcurrentUploads();
    }

    public int slotsAvailable() {
        return Math.max(0, config.maxConcurrentUploads() - active.get());
    }

    public BufferPool bufferPool() {
        return pool;
    }

    /** The disk-space ledger admission reserves on. */
    public DiskLedger disk() {
        return disk;
    }

    /** Requests waiting in the queue now. */
    public int queued() {
        return queued.get();
    }

    /** Clients currently holding at least one slot (for tests: a leaked share shows up here). */
    public int clientsHoldingSlots() {
        return perClient.size();
    }

    /** A request in the queue. {@link #state} changes under the controller's lock only. */
    private static final class Waiter {
        enum State { WAITING, GRANTED, DRAINED, LEFT }

        final String client;
        final Condition wakeUp;
        State state = State.WAITING;

        Waiter(String client, Condition wakeUp) {
            this.client = client;
            this.wakeUp = wakeUp;
        }
    }

    private final class AdmittedTicket implements Ticket {
        private final String client;
        private final ByteBuffer buffer;
        private final ByteBuffer second;
        private final AtomicBoolean closed = new AtomicBoolean();

        private DiskLedger.Reservation reservation;

        AdmittedTicket(String client, ByteBuffer buffer, ByteBuffer second) {
            this.client = client;
            this.buffer = buffer;
            this.second = second;
        }

        AdmittedTicket holding(DiskLedger.Reservation r) {
            this.reservation = r;
            return this;
        }

        @Override
        public DiskLedger.Reservation disk() {
            return reservation;
        }

        @Override
        public ByteBuffer buffer() {
            return buffer;
        }

        @Override
        public ByteBuffer secondBuffer() {
            return second;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                pool.release(buffer);
                pool.release(second);
                if (reservation != null) {
                    reservation.close();
                }
                release(client);
            }
        }
    }
}
