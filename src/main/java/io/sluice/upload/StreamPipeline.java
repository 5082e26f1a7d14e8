package io.sluice.upload;

import io.sluice.util.Uninterruptibles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * The copy loop every upload body goes through: network bytes are copied into one of two pooled buffers, and a
 * full buffer is handed to a drain thread that hashes and writes it while the other one fills. The number of
 * write syscalls therefore does not depend on how the network slices the body, and socket reads overlap with
 * hashing and the disk.
 *
 * <p>Used by one request thread. The previous drain is always joined before a buffer is touched again, so
 * hashing stays in order, one thread writes at a time, and a buffer is never refilled (or returned to the pool)
 * under a running write. {@link #close()} must be called before the buffers go back to the pool.
 */
final class StreamPipeline implements AutoCloseable {

    /** Where full buffers go. Called on the drain thread, one call at a time. */
    @FunctionalInterface
    interface Output {
        void write(ByteBuffer full) throws IOException;
    }

    /**
     * Runs on the request thread before a full buffer is handed off, once every earlier buffer has been written.
     *
     * @param full       the bytes about to be written (read them through a duplicate; do not move its position)
     * @param drainedSoFar bytes written before this buffer
     */
    @FunctionalInterface
    interface HandOffHook {
        void beforeHandOff(ByteBuffer full, long drainedSoFar) throws IOException;
    }

    private final String name;
    private final Output output;
    /** Null when the caller does not hash this stream. */
    private final MessageDigest digest;
    private final HandOffHook hook;
    private ByteBuffer buffer;
    private ByteBuffer other;
    private Thread drain;
    private volatile Throwable drainFailure;
    private long accepted;
    private long drained;
    private long pending;

    StreamPipeline(String name, Output output, MessageDigest digest, ByteBuffer buffer, ByteBuffer other,
                   HandOffHook hook) {
        this.name = name;
        this.output = output;
        this.digest = digest;
        this.buffer = buffer.clear();
        this.other = other.clear();
        this.hook = hook;
    }

    /** Consumes all remaining bytes of {@code src}. */
    void write(ByteBuffer src) throws IOException {
        accepted += src.remaining();
        while (src.hasRemaining()) {
            if (!buffer.hasRemaining()) {
                flush();
            }
            int take = Math.min(src.remaining(), buffer.remaining());
            int limit = src.limit();
            src.limit(src.position() + take);
            buffer.put(src);
            src.limit(limit);
        }
    }

    /** Bytes given to {@link #write} so far. */
    long accepted() {
        return accepted;
    }

    /** Writes everything buffered and waits for it: afterwards every accepted byte reached the output. */
    void finish() throws IOException {
        flush();
        awaitDrain();
    }

    private void flush() throws IOException {
        buffer.flip();
        awaitDrain();
        if (buffer.hasRemaining()) {
            hook.beforeHandOff(buffer, drained);
            ByteBuffer full = buffer;
            // Taken here, before the write can move the buffer's position.
            ByteBuffer forHash = full.duplicate();
            pending = full.remaining();
            drain = Thread.ofVirtual().name("sluice-drain-" + name).start(() -> {
                // Hash and write are independent reads of the same buffer: overlap them too.
                Thread hasher = digest == null ? null : Thread.ofVirtual().start(() -> digest.update(forHash));
                try {
                    output.write(full);
                } catch (Throwable t) {
                    drainFailure = t;
                } finally {
                    if (hasher != null) {
                        Uninterruptibles.join(hasher);
                    }
                }
            });
            buffer = other;
            other = full;
        }
        buffer.clear();
    }

    /** Waits for the drain thread, uninterruptibly, and rethrows what it failed with. */
    private void awaitDrain() throws IOException {
        Thread t = drain;
        if (t == null) {
            return;
        }
        Uninterruptibles.join(t);
        drain = null;
        Throwable f = drainFailure;
        if (f != null) {
            drainFailure = null;
            switch (f) {
                case IOException io -> throw io;
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IOException(f);
            }
        }
        drained += pending;
        pending = 0;
    }

    /** Waits for a write still running; never throws (the caller is already failing or finished). */
    @Override
    public void close() {
        try {
            awaitDrain();
        } catch (IOException | RuntimeException e) {
            // already failing: what the caller does next (abort, keep the recorded offset) is all that is left
        }
    }
}
