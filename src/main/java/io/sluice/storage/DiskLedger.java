package io.sluice.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The one account of space on the data disk that Sluice's writers have promised themselves but not yet written.
 *
 * <p>Contract. Every writer of the data disk (upload bodies of every protocol, concatenation, presigned PUTs, S3
 * spool files, local copies of S3 blobs, job attempts) takes a {@link Reservation} before it writes: the length it
 * declared, or, when the length is unknown, {@link #STEP} bytes at a time as it goes. A reservation is granted only
 * while {@code free - reserved - diskReserve >= bytes}, where {@code free} is what the filesystem reports now and
 * {@code reserved} the sum of every open reservation's unwritten remainder, all under one lock: concurrent
 * writers cannot each see the same free space and overshoot the reserve together. A writer reports bytes it wrote
 * ({@link Reservation#advance}): those now show in {@code free}, so they leave {@code reserved}. Closing a
 * reservation returns what was not written. A refusal is a {@link DiskFullException}.
 *
 * <p>A stream whose bytes only pass through this disk (S3 spool files) is {@link #reserveStream capped} at what it
 * can hold here at once, and keeps that for its whole life (its spool files come and go, so written bytes do not
 * stay in {@code free}).
 *
 * <p>When the filesystem cannot say how much is free ({@code usable} answers below 0), nothing is refused. The
 * figure is only as good as the filesystem's: another process may still fill the disk, and writers answer that
 * ENOSPC as a {@link DiskFullException} too ({@link DiskFullException#of}).
 *
 * <p>Thread-safe.
 */
public final class DiskLedger {

    /** How much a writer of unknown length reserves at a time. */
    public static final long STEP = 8L * 1024 * 1024;

    private final LongSupplier usable;
    private final long diskReserve;
    private final Duration retryAfter;
    private final long streamCap;
    private long reserved;

    /**
     * @param usable      free bytes of the data disk now (below 0 when unknown)
     * @param diskReserve {@code limits.diskReserve}: free bytes Sluice never writes into
     * @param retryAfter  the {@code Retry-After} of a refusal
     * @param streamCap   bytes one upload stream can hold on this disk at once: unlimited when the data disk is the
     *                    storage, a writer's spool files when it is not
     */
    public DiskLedger(LongSupplier usable, long diskReserve, Duration retryAfter, long streamCap) {
        this.usable = usable;
        this.diskReserve = Math.max(0, diskReserve);
        this.retryAfter = retryAfter;
        this.streamCap = streamCap <= 0 ? Long.MAX_VALUE : streamCap;
    }

    /** A ledger over the filesystem holding {@code dir}. */
    public static DiskLedger of(Path dir, long diskReserve, Duration retryAfter, long streamCap) {
        return new DiskLedger(() -> usableSpace(dir), diskReserve, retryAfter, streamCap);
    }

    /** Free bytes of the filesystem holding {@code dir} now, or -1 when it cannot be read. */
    public static long usableSpace(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    /** Bytes reserved and not yet written, by every open reservation (read-only: for tests and metrics). */
    public synchronized long reserved() {
        return reserved;
    }

    public long diskReserve() {
        return diskReserve;
    }

    public Duration retryAfter() {
        return retryAfter;
    }

    /** Reserves {@code bytes} of a writer that stays on this disk. */
    public Reservation reserve(long bytes) throws DiskFullException {
        Reservation r = new Reservation(Long.MAX_VALUE);
        r.grow(Math.max(0, bytes));
        return r;
    }

    /**
     * Reserves for an upload stream that declared {@code declared} bytes (below 0: unknown, then {@link #STEP}):
     * all of it when the data disk is the storage, at most the stream cap when the bytes only pass through.
     */
    public Reservation reserveStream(long declared) throws DiskFullException {
        Reservation r = new Reservation(streamCap);
        r.grow(declared < 0 ? STEP : declared);
        return r;
    }

    /** As {@link #reserveStream}, null instead of the refusal. */
    public Reservation tryReserveStream(long declared) {
        try {
            return reserveStream(declared);
        } catch (DiskFullException e) {
            return null;
        }
    }

    private synchronized void take(long bytes) throws DiskFullException {
        if (bytes <= 0) {
            return;
        }
        long free = usable.getAsLong();
        if (free >= 0) {
            long left = free - reserved - diskReserve;
            if (left < bytes) {
                throw new DiskFullException("not enough free disk: " + free + " bytes free, " + reserved
                        + " promised to writes in progress, " + diskReserve + " kept free (limits.diskReserve); "
                        + bytes + " more needed", retryAfter);
            }
        }
        reserved += bytes;
    }

    private synchronized void give(long bytes) {
        reserved = Math.max(0, reserved - bytes);
    }

    /**
     * One writer's share. Used by one thread at a time (the request's); closing is idempotent.
     */
    public final class Reservation implements AutoCloseable {
        private final long cap;
        /** Bytes granted over this reservation's life. */
        private long granted;
        /** Bytes reported written; they no longer count in the ledger (a capped stream keeps its grant instead). */
        private long written;
        private boolean closed;

        private Reservation(long cap) {
            this.cap = cap;
        }

        private boolean capped() {
            return cap != Long.MAX_VALUE;
        }

        private long outstanding() {
            return capped() ? granted : Math.max(0, granted - written);
        }

        /**
         * Reports that {@code writtenSoFar} bytes (in total) are on the disk, and makes sure {@code needed} bytes
         * (in total, written ones included) are granted, growing by at least {@link #STEP} when it must.
         *
         * @throws DiskFullException when the growth does not fit; what was granted stays until {@link #close}
         */
        public void advance(long writtenSoFar, long needed) throws DiskFullException {
            if (closed) {
                throw new IllegalStateException("reservation closed");
            }
            if (!capped() && writtenSoFar > written) {
                long before = outstanding();
                written = writtenSoFar;
                give(before - outstanding());
            }
            long target = Math.min(needed, cap);
            if (target > granted) {
                long grow = Math.min(Math.max(target - granted, STEP), cap - granted);
                long before = outstanding();
                granted += grow;
                try {
                    take(outstanding() - before);
                } catch (DiskFullException e) {
                    granted -= grow;
                    throw e;
                }
            }
        }

        private void grow(long bytes) throws DiskFullException {
            long g = Math.min(bytes, cap);
            take(g);
            granted = g;
        }

        /** Bytes granted so far (for tests). */
        public long granted() {
            return granted;
        }

        /** Returns what was reserved and not written. */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                give(outstanding());
            }
        }
    }
}
