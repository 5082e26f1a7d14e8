package io.sluice.processors.spreadsheet;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Reads a {@link GuardedInputStream} on a second thread, a few chunks ahead of the job's thread, which parses. The
 * inflating and the byte-level guards (size, ratio, budget, part limit, tag lengths) were about a fifth of the job
 * thread's CPU (0.33 s each per million inventory rows, of 3.3 s), in series with the XML parser; here they overlap
 * with it on the machine's other core. A bare streaming read does all of it in one thread.
 *
 * <p>Nothing a guard decides changes: the source's checks run on every byte as before, and what one of them threw
 * is handed over in order, after the bytes before it, so the parser sees the same bytes and then the same failure.
 * What depends on the parse stays on the parsing thread: the per-element limit ({@link #element}, set when the
 * parser reaches a row or a shared string) is checked against the bytes handed to the parser, and the source's
 * {@code tick} (the job's checkpoint, which looks at the job thread's interrupt) runs here, every
 * {@link GuardedInputStream#TICK_BYTES}, as it ran in the source.
 *
 * <p>Memory: {@link #CHUNKS} buffers of {@link #CHUNK_BYTES}. {@link #close()} stops the reading thread and waits
 * for it, before the caller closes the source.
 */
final class ReadAhead extends InputStream implements GuardedInput {

    static final int CHUNK_BYTES = 64 * 1024;
    /**
     * 1 MiB ahead, about 6 ms of parsing: with 4 chunks (under 2 ms) the parser starved whenever the reading thread
     * waited for a core on a busy machine.
     */
    static final int CHUNKS = 16;
    /** How long the reading thread waits for a free buffer before it looks at {@link #closed} again. */
    private static final long POLL_MILLIS = 20;
    /** Longest wait for the reading thread in {@link #close()} (it finishes its read of one chunk). */
    private static final long JOIN_MILLIS = 30_000;

    /** Bytes, or the end ({@code length} -1), or what reading threw. */
    private record Chunk(byte[] bytes, int length, Throwable failure) {
    }

    private static final Chunk END = new Chunk(null, -1, null);

    private final GuardedInputStream source;
    private final Runnable tick;
    private final ArrayBlockingQueue<byte[]> free = new ArrayBlockingQueue<>(CHUNKS);
    /** At most CHUNKS chunks of bytes and one last chunk: offering never finds it full. */
    private final ArrayBlockingQueue<Chunk> filled = new ArrayBlockingQueue<>(CHUNKS + 1);
    private final Thread reader;
    private volatile boolean closed;

    // The parsing thread's state.
    private Chunk current;
    private int offset;
    private long position;
    private long nextTick = GuardedInputStream.TICK_BYTES;
    private long elementEnd = Long.MAX_VALUE;
    private Supplier<SheetException> elementFailure;
    private IOException failure;
    /** What the checkpoint threw (a cancellation): {@link #throwIfTripped()} rethrows it. */
    private RuntimeException stop;
    /** A runtime failure of the source: rethrown by reads only, as the source's own would have propagated. */
    private RuntimeException broken;
    private boolean ended;

    ReadAhead(GuardedInputStream source, String entry) {
        this.source = source;
        this.tick = source.detachTick();
        for (int i = 0; i < CHUNKS; i++) {
            free.add(new byte[CHUNK_BYTES]);
        }
        this.reader = Thread.ofPlatform().daemon().name("xlsx-read-ahead " + entry).start(this::fill);
    }

    /** The reading thread: fills free buffers from the source until its end, a failure, or {@link #close()}. */
    private void fill() {
        try {
            while (!closed) {
                byte[] b = free.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (b == null) {
                    continue;
                }
                int n = 0;
                try {
                    while (n < b.length) {
                        int r = source.read(b, n, b.length - n);
                        if (r < 0) {
                            break;
                        }
                        n += r;
                    }
                } catch (Throwable e) {
                    // The bytes read before the failure first, as the source would have returned them.
                    if (n > 0) {
                        filled.add(new Chunk(b, n, null));
                    }
                    filled.add(new Chunk(null, 0, e));
                    return;
                }
                if (n > 0) {
                    filled.add(new Chunk(b, n, null));
                }
                if (n < b.length) {
                    filled.add(END);
                    return;
                }
            }
        } catch (InterruptedException e) {
            // nobody interrupts this thread; stop reading
            filled.add(new Chunk(null, 0, new InterruptedIOException("read-ahead interrupted")));
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (stop != null) {
            throw stop;
        }
        if (broken != null) {
            throw broken;
        }
        if (failure != null) {
            throw failure;
        }
        if (len == 0) {
            return 0;
        }
        if (current == null || offset == current.length()) {
            if (ended) {
                return -1;
            }
            nextChunk();
            if (ended) {
                return -1;
            }
        }
        int n = Math.min(len, current.length() - offset);
        System.arraycopy(current.bytes(), offset, b, off, n);
        offset += n;
        position += n;
        if (position > elementEnd) {
            failure = new GuardedInputStream.Tripped(elementFailure.get());
            throw failure;
        }
        if (position >= nextTick) {
            nextTick = position + GuardedInputStream.TICK_BYTES;
            runTick();
        }
        return n;
    }

    private void nextChunk() throws IOException {
        if (current != null && current.bytes() != null) {
            free.add(current.bytes());
        }
        current = null;
        offset = 0;
        Chunk c;
        try {
            c = filled.take();
        } catch (InterruptedException e) {
            // The job is being stopped: let its checkpoint say so, as it would have at the next tick.
            Thread.currentThread().interrupt();
            runTick();
            throw new InterruptedIOException("interrupted while reading " + reader.getName());
        }
        if (c.length() < 0) {
            ended = true;
            return;
        }
        if (c.failure() != null) {
            switch (c.failure()) {
                case IOException e -> failure = e;
                case RuntimeException e -> broken = e;
                case Error e -> throw e;
                default -> failure = new IOException(c.failure());
            }
            if (broken != null) {
                throw broken;
            }
            throw failure;
        }
        current = c;
    }

    private void runTick() {
        try {
            tick.run();
        } catch (RuntimeException e) {
            // A cancellation: remembered so that it survives a parser wrapping it.
            stop = e;
            throw e;
        }
    }

    @Override
    public ReadAhead element(long bytes, Supplier<SheetException> failure) {
        this.elementEnd = position + bytes;
        this.elementFailure = failure;
        return this;
    }

    @Override
    public void endElement() {
        this.elementEnd = Long.MAX_VALUE;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public void throwIfTripped() throws SheetException, IOException {
        if (stop != null) {
            throw stop;
        }
        if (failure instanceof GuardedInputStream.Tripped t) {
            throw t.refusal();
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Stops the reading thread and waits for it; the source stays open (its owner closes it after). */
    @Override
    public void close() {
        closed = true;
        current = null;
        ended = true;
        boolean interrupted = false;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(JOIN_MILLIS);
        // It finishes the chunk it is reading, then finds no free buffer (or the flag) and ends.
        while (reader.isAlive() && System.nanoTime() < deadline) {
            try {
                reader.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        filled.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
