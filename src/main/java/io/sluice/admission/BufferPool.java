package io.sluice.admission;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fixed-size direct buffers, at most {@link #capacity()} of them at once.
 *
 * <p>The capacity comes from the memory budget at start-up, never from a hard-coded count; buffers are allocated
 * lazily on first use (a seed pre-allocated 1.4 GB at start and then refused every upload) and kept for reuse.
 * Direct buffers because every write goes to a {@code FileChannel}: a heap buffer would be copied into a
 * per-thread temporary direct buffer, and with one virtual thread per upload that cache does not bound anything.
 */
public final class BufferPool {

    private final int bufferSize;
    private final int capacity;
    private final ConcurrentLinkedDeque<ByteBuffer> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger outstanding = new AtomicInteger();
    private final AtomicInteger allocated = new AtomicInteger();

    public BufferPool(int bufferSize, long budgetBytes) {
        if (bufferSize <= 0) {
            throw new IllegalArgumentException("bufferSize must be positive");
        }
        this.bufferSize = bufferSize;
        this.capacity = (int) Math.max(1, Math.min(Integer.MAX_VALUE, budgetBytes / bufferSize));
    }

    /** A cleared buffer, or null when {@link #capacity()} buffers are already out. */
    public ByteBuffer tryAcquire() {
        while (true) {
            int n = outstanding.get();
            if (n >= capacity) {
                return null;
            }
            if (outstanding.compareAndSet(n, n + 1)) {
                break;
            }
        }
        ByteBuffer b = idle.pollFirst();
        if (b == null) {
            allocated.incrementAndGet();
            b = ByteBuffer.allocateDirect(bufferSize);
        }
        return b.clear();
    }

    /** Returns a buffer taken from {@link #tryAcquire()}. */
    public void release(ByteBuffer buffer) {
        idle.offerFirst(buffer.clear());
        outstanding.decrementAndGet();
    }

    public int bufferSize() {
        return bufferSize;
    }

    public int capacity() {
        return capacity;
    }

    public int outstanding() {
        return outstanding.get();
    }

    /** Bytes of direct memory this pool holds, idle or not. */
    public long allocatedBytes() {
        return (long) allocated.get() * bufferSize;
    }

    /** Bytes allocated but idle: counted by the JVM as direct memory in use, yet available to the next upload. */
    public long idleBytes() {
        return (long) idle.size() * bufferSize;
    }
}
