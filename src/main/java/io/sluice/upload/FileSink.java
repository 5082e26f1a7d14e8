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
 * One file of an upload on its way to storage: network bytes are copied into the request's pooled buffer and
 * written out a full buffer at a time, so the number of syscalls does not depend on how the network slices the
 * body. SHA-256 is computed on the same pass. The type is decided on the first flush, before anything reaches the
 * disk, so a disallowed or lying file is refused after one buffer rather than after its last byte.
 *
 * <p>Single-threaded. {@link #close()} aborts the staged blob unless {@link UploadService#commit} took it.
 */
public final class FileSink implements AutoCloseable {

    /** Free disk is re-checked each time this many more bytes have been written. */
    static final long DISK_CHECK_INTERVAL = 64L * 1024 * 1024;

    private final String id;
    private final String filename;
    private final BlobWriter writer;
    private final ByteBuffer buffer;
    private final long maxFileSize;
    private final TypeDetector types;
    private final LongFunction<Rejection> diskCheck;
    private final MessageDigest sha256;
    private long size;
    private long nextDiskCheck = DISK_CHECK_INTERVAL;
    private String contentType;
    private boolean finished;

    FileSink(String id, String filename, BlobWriter writer, ByteBuffer buffer, long maxFileSize, TypeDetector types,
             LongFunction<Rejection> diskCheck) {
        this.id = id;
        this.filename = filename;
        this.writer = writer;
        this.buffer = buffer.clear();
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
        finished = true;
        if (size == 0) {
            throw ApiException.badRequest("empty_file", "'" + filename + "' is empty");
        }
    }

    private void flush() throws IOException {
        buffer.flip();
        if (contentType == null && buffer.hasRemaining()) {
            contentType = types.detect(buffer, filename);
        }
        if (buffer.hasRemaining()) {
            sha256.update(buffer.duplicate());
            writer.write(buffer);
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
        writer.close();
    }
}
