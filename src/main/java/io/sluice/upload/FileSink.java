package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.admission.Rejection;
import io.sluice.storage.BlobWriter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * One file of an upload on its way to storage: network bytes are copied into one of the request's two pooled
 * buffers and written out a full buffer at a time, so the number of syscalls does not depend on how the network
 * slices the body; SHA-256 is computed from the same buffer while it is written. The type is decided on the first flush, before anything reaches the
 * disk, so a disallowed or lying file is refused after one buffer rather than after its last byte.
 *
 * <p>Used by one request thread; it hands full buffers to a drain thread of its own (see {@link #flush()}).
 * {@link #close()} aborts the staged blob unless {@link UploadService#commit} took it.
 */
public final class FileSink implements AutoCloseable {

    /** Free disk is re-checked each time this many more bytes have been written. */
    static final long DISK_CHECK_INTERVAL = 64L * 1024 * 1024;

    private final String id;
    private final String filename;
    private final BlobWriter writer;
    /** The buffer being filled from the network, and the one being hashed and written meanwhile. */
    private ByteBuffer buffer;
    private ByteBuffer other;
    /** Hashes and writes {@link #other}; joined before that buffer is touched again. */
    private Thread drain;
    private volatile Throwable drainFailure;
    private final long maxFileSize;
    private final TypeDetector types;
    private final LongFunction<Rejection> diskCheck;
    private final MessageDigest sha256;
    private long size;
    private long nextDiskCheck = DISK_CHECK_INTERVAL;
    private String contentType;
    private boolean finished;

    FileSink(String id, String filename, BlobWriter writer, ByteBuffer buffer, ByteBuffer other, long maxFileSize,
             TypeDetector types, LongFunction<Rejection> diskCheck) {
        this.id = id;
        this.filename = filename;
        this.writer = writer;
        this.buffer = buffer.clear();
        this.other = other.clear();
        this.maxFileSize = maxFileSize;
        this.types = types;
        this.diskCheck = diskCheck;
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Consumes all remaining bytes of {@code src}. */
    public void write(ByteBuffer src) throws IOException {
        int n = src.remaining();
        if (size + n > maxFileSize) {
            throw fileTooLarge(maxFileSize);
        }
        size += n;
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

    /** Writes what is buffered; the file is complete but not yet committed. */
    void finish() throws IOException {
        if (finished) {
            return;
        }
        flush();
        awaitDrain();
        finished = true;
        if (size == 0) {
            throw ApiException.badRequest("empty_file", "'" + filename + "' is empty");
        }
    }

    /**
     * Hands the full buffer to a drain thread that hashes and writes it, and goes on filling the other one: socket
     * reads overlap with hashing and the file write instead of alternating with them. The previous drain is joined
     * first, so hashing stays in order, one thread writes at a time, and a buffer is never refilled while in use.
     */
    private void flush() throws IOException {
        buffer.flip();
        if (contentType == null && buffer.hasRemaining()) {
            contentType = types.detect(buffer, filename);
        }
        awaitDrain();
        if (buffer.hasRemaining()) {
            ByteBuffer full = buffer;
            // Taken here, before the write can move the buffer's position.
            ByteBuffer forHash = full.duplicate();
            drain = Thread.ofVirtual().name("sluice-drain-" + id).start(() -> {
                // Hash and write are independent reads of the same buffer: overlap them too.
                Thread hasher = Thread.ofVirtual().start(() -> sha256.update(forHash));
                try {
                    writer.write(full);
                } catch (Throwable t) {
                    drainFailure = t;
                } finally {
                    joinQuietly(hasher);
                }
            });
            buffer = other;
            other = full;
        }
        buffer.clear();
        if (writer.written() >= nextDiskCheck) {
            nextDiskCheck += DISK_CHECK_INTERVAL;
            Rejection r = diskCheck.apply(0);
            if (r != null) {
                throw new ApiException(r.status(), r.code(), r.message(), Map.of(), r.retryAfter());
            }
        }
    }

    /** Joins {@code t} even if interrupted meanwhile (a buffer must never be reused under a running thread). */
    private static void joinQuietly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the drain thread, uninterruptibly, and rethrows what it failed with. */
    private void awaitDrain() throws IOException {
        Thread t = drain;
        if (t == null) {
            return;
        }
        joinQuietly(t);
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
    }

    static ApiException fileTooLarge(long max) {
        return new ApiException(413, "file_too_large", "the file is larger than the limit of " + max + " bytes",
                Map.of("limit", max), null);
    }

    /** The id the file is stored and recorded under. */
    public String id() {
        return id;
    }

    public String filename() {
        return filename;
    }

    public long size() {
        return size;
    }

    String contentType() {
        return contentType;
    }

    String sha256Hex() {
        return HexFormat.of().formatHex(sha256.digest());
    }

    BlobWriter writer() {
        return writer;
    }

    @Override
    public void close() {
        try {
            // The staged file and the pooled buffers must not be released under a write still running.
            awaitDrain();
        } catch (IOException | RuntimeException e) {
            // already failing: the abort below is all that is left to do
        }
        writer.close();
    }
}
