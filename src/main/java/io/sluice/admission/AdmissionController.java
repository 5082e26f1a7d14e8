package io.sluice.admission;

import io.sluice.config.AdmissionConfig;
import io.sluice.storage.DiskLedger;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Decides whether a new upload may start, before any of its body is read.
 *
 * <p>Checks, cheapest first: draining; the client's own share (429); global slots; the buffer budget; memory
 * pressure projected with this upload's cost ({@link MemoryPressure}). Before all of these but draining, the
 * upload reserves its declared length on the {@link DiskLedger} (507 when it does not fit), so a disk refusal is
 * immediate and never waits behind the others. Memory is read from a periodically refreshed snapshot, never per
 * request.
 *
 * <p>Thread-safe. Every admitted {@link Ticket} must be closed; closing returns its slot, share, buffers and what
 * its disk reservation did not use.
 */
public final class AdmissionController {

    /** Jetty's own per-request buffers and objects, beyond our pooled buffers. Conservative. */
    public static final long PER_UPLOAD_OVERHEAD = 64 * 1024;
    /** One buffer fills from the socket while the other is hashed and written (see FileSink). */
    public static final int BUFFERS_PER_UPLOAD = 2;

    private final AdmissionConfig config;
    private final BufferPool pool;
    private final MemoryPressure memory;
    private final DiskLedger disk;
    private final SheddingTracker shedding;
    private final AtomicInteger active = new AtomicInteger();
    private final ConcurrentHashMap<String, Integer> perClient = new ConcurrentHashMap<>();

    /** With a ledger of its own over {@code usableDisk} (tests; the server shares one ledger among all writers). */
    public AdmissionController(AdmissionConfig config, BufferPool pool, MemoryPressure memory,
                               LongSupplier usableDisk, long diskReserve, SheddingTracker shedding) {
        this(config, pool, memory, new DiskLedger(usableDisk, diskReserve, config.retryAfter(), 0), shedding);
    }

    public AdmissionController(AdmissionConfig config, BufferPool pool, MemoryPressure memory, DiskLedger disk,
                               SheddingTracker shedding) {
        this.config = config;
        this.pool = pool;
        this.memory = memory;
        this.disk = disk;
        this.shedding = shedding;
    }

    /**
     * Asks to start one upload.
     *
     * @param client         the client's key (API key id or remote address)
     * @param declaredLength bytes the client announced, or -1 when unknown (chunked)
     */
    public Decision tryAdmit(String client, long declaredLength) {
        if (shedding.state() == LoadState.DRAINING) {
            return reject(503, "draining", "the server is shutting down", true);
        }
        DiskLedger.Reservation reservation;
        try {
            reservation = disk.reserveStream(declaredLength);
        } catch (io.sluice.storage.DiskFullException e) {
            return reject(507, "insufficient_storage", e.getMessage(), true);
        }
        Decision decision = admitSlot(client);
        return switch (decision) {
            case Decision.Admitted(AdmittedTicket t) -> new Decision.Admitted(t.holding(reservation));
            default -> {
                reservation.close();
                yield decision;
            }
        };
    }

    /** Everything after the disk: the client's share, a global slot, buffers and memory. */
    private Decision admitSlot(String client) {
        // merge()/computeIfPresent() keep the count and the entry's removal atomic per client.
        int mine = perClient.merge(client, 1, Integer::sum);
        if (mine > config.maxUploadsPerClient()) {
            releaseClient(client);
            return reject(429, "client_upload_limit",
                    "this client already has " + config.maxUploadsPerClient() + " uploads in progress", false);
        }
        if (active.incrementAndGet() > config.maxConcurrentUploads()) {
            active.decrementAndGet();
            releaseClient(client);
            return reject(503, "upload_slots_exhausted",
                    "all " + config.maxConcurrentUploads() + " upload slots are busy", true);
        }
        String pressure = memory.check(PER_UPLOAD_OVERHEAD, (long) BUFFERS_PER_UPLOAD * pool.bufferSize());
        ByteBuffer buffer = pressure == null ? pool.tryAcquire() : null;
        ByteBuffer second = buffer == null ? null : pool.tryAcquire();
        if (buffer != null && second == null) {
            pool.release(buffer);
            buffer = null;
        }
        if (buffer == null) {
            active.decrementAndGet();
            releaseClient(client);
            return pressure != null
                    ? reject(503, "memory_pressure", pressure, true)
                    : reject(503, "memory_budget_exhausted",
                    "the upload buffer budget (" + pool.capacity() + " x " + pool.bufferSize() + " bytes) is in use",
                    true);
        }
        return new Decision.Admitted(new AdmittedTicket(client, buffer, second));
    }

    private Decision reject(int status, String code, String message, boolean retry) {
        shedding.recordRejection(code);
        return new Decision.Rejected(new Rejection(status, code, message, retry || status == 429 ? retryAfter() : null));
    }

    /** Base plus up to the same again of jitter, so refused clients do not all come back in the same second. */
    private Duration retryAfter() {
        long base = Math.max(1, config.retryAfter().toSeconds());
        return Duration.ofSeconds(base + ThreadLocalRandom.current().nextLong(base + 1));
    }

    private void releaseClient(String client) {
        perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
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

    /** The disk-space ledger admission reserves on. */
    public DiskLedger disk() {
        return disk;
    }

    public BufferPool bufferPool() {
        return pool;
    }

    /** Clients currently holding at least one slot (for tests: a leaked share shows up here). */
    public int clientsHoldingSlots() {
        return perClient.size();
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
                active.decrementAndGet();
                releaseClient(client);
            }
        }
    }
}
