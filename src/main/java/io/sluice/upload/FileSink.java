package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.hooks.Allowed;
import io.sluice.storage.BlobWriter;
import io.sluice.storage.DiskFullException;
import io.sluice.storage.DiskLedger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

/**
 * One file of an upload on its way to storage, through the request's two pooled buffers (see
 * {@link StreamPipeline}); SHA-256 is computed from the same buffers while they are written. The type is decided
 * on the first hand-off, before anything reaches the disk, so a disallowed or lying file is refused after one
 * buffer rather than after its last byte.
 *
 * <p>Every buffer is covered by the upload's {@link DiskLedger.Reservation} before it is handed to the disk: a body
 * longer than what was reserved (an unknown length) grows the reservation step by step, and one that no longer
 * fits fails with {@link DiskFullException} before its bytes are written.
 *
 * <p>Used by one request thread. {@link #close()} aborts the staged blob unless {@link UploadService#commit} took
 * it.
 */
public final class FileSink implements AutoCloseable {

    private final String id;
    private final String filename;
    private final BlobWriter writer;
    private final StreamPipeline pipeline;
    private final long maxFileSize;
    private final TypeDetector types;
    private final DiskLedger.Reservation disk;
    /** Bytes of earlier files of the same request under the same reservation (multipart). */
    private final long before;
    private final MessageDigest sha256;
    private String contentType;
    private boolean finished;
    private String sha256Hex;
    /** What the preCreate hook changed about this file (its pipeline, metadata), applied at commit. */
    private Allowed hooked = Allowed.AS_ASKED;

    FileSink(String id, String filename, BlobWriter writer, ByteBuffer buffer, ByteBuffer other, long maxFileSize,
             TypeDetector types, DiskLedger.Reservation disk, long before) {
        this.id = id;
        this.filename = filename;
        this.writer = writer;
        this.maxFileSize = maxFileSize;
        this.types = types;
        this.disk = disk;
        this.before = before;
        this.sha256 = Digests.sha256();
        this.pipeline = new StreamPipeline(id, writer::write, sha256, buffer, other, this::beforeHandOff);
    }

    /** Consumes all remaining bytes of {@code src}. */
    public void write(ByteBuffer src) throws IOException {
        if (pipeline.accepted() + src.remaining() > maxFileSize) {
            throw fileTooLarge(maxFileSize);
        }
        pipeline.write(src);
    }

    /** Writes what is buffered; the file is complete but not yet committed. */
    void finish() throws IOException {
        if (finished) {
            return;
        }
        pipeline.finish();
        finished = true;
        if (size() == 0) {
            throw ErrorCode.EMPTY_FILE.error("'" + filename + "' is empty");
        }
    }

    private void beforeHandOff(ByteBuffer full, long drainedSoFar) throws DiskFullException {
        if (contentType == null) {
            contentType = types.detect(full.duplicate(), filename);
        }
        disk.advance(before + drainedSoFar, before + drainedSoFar + full.remaining());
    }

    static ApiException fileTooLarge(long max) {
        return ErrorCode.FILE_TOO_LARGE.error("the file is larger than the limit of " + max + " bytes",
                Map.of("limit", max));
    }

    /** The id the file is stored and recorded under. */
    public String id() {
        return id;
    }

    public String filename() {
        return filename;
    }

    public long size() {
        return pipeline.accepted();
    }

    String contentType() {
        return contentType;
    }

    /** Once finished; kept, because {@code digest()} resets the digest (the preFinish hook asks before commit). */
    String sha256Hex() {
        if (sha256Hex == null) {
            sha256Hex = HexFormat.of().formatHex(sha256.digest());
        }
        return sha256Hex;
    }

    Allowed hooked() {
        return hooked;
    }

    FileSink hooked(Allowed allowed) {
        this.hooked = allowed;
        return this;
    }

    BlobWriter writer() {
        return writer;
    }

    @Override
    public void close() {
        // The staged file and the pooled buffers must not be released under a write still running.
        pipeline.close();
        writer.close();
    }
}
