package io.sluice.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;

/**
 * Committed blobs in one store (object storage) and resumable blobs growing in another that has them (local
 * disk); {@link #promote} copies the finished bytes across through a {@link BlobWriter} and then removes the
 * resumable blob. This serves resumable uploads on a store that has no {@link ResumableStore} of its own, at the
 * price that an unfinished upload can only be resumed on the node that holds its bytes.
 *
 * <p>Promotion stays idempotent (the {@link ResumableStore} contract): when the resumable blob is gone and the
 * committed one exists, it returns quietly; a copy interrupted by a crash left nothing committed (the writer
 * never committed) and the resumable blob intact, so repeating it starts over.
 */
public final class CopyOnPromoteStore implements BlobStore, ResumableStore, AutoCloseable {

    private static final int COPY_BUFFER = 64 * 1024;

    private final BlobStore blobs;
    private final ResumableStore resumable;

    public CopyOnPromoteStore(BlobStore blobs, ResumableStore resumable) {
        this.blobs = blobs;
        this.resumable = resumable;
    }

    /** Where committed blobs live. */
    public BlobStore blobs() {
        return blobs;
    }

    @Override
    public BlobWriter create(String key) throws IOException {
        return blobs.create(key);
    }

    @Override
    public ReadableByteChannel openRange(String key, long offset, long length) throws IOException {
        return blobs.openRange(key, offset, length);
    }

    @Override
    public long size(String key) throws IOException {
        return blobs.size(key);
    }

    @Override
    public boolean delete(String key) throws IOException {
        return blobs.delete(key);
    }

    @Override
    public int sweepStaged() throws IOException {
        return blobs.sweepStaged();
    }

    @Override
    public int stagedCount() {
        return blobs.stagedCount();
    }

    @Override
    public long usableSpace() throws IOException {
        return blobs.usableSpace();
    }

    @Override
    public boolean probeWritable() {
        return blobs.probeWritable();
    }

    @Override
    public void createResumable(String key) throws IOException {
        resumable.createResumable(key);
    }

    @Override
    public ResumableWriter openAppend(String key, long offset) throws IOException {
        return resumable.openAppend(key, offset);
    }

    @Override
    public long resumableLength(String key) throws IOException {
        return resumable.resumableLength(key);
    }

    @Override
    public ReadableByteChannel openResumable(String key, long offset, long length) throws IOException {
        return resumable.openResumable(key, offset, length);
    }

    @Override
    public void promote(String key) throws IOException {
        long length = resumable.resumableLength(key);
        if (length < 0) {
            if (blobs.size(key) >= 0) {
                return;
            }
            throw new NoSuchFileException(key);
        }
        try (ReadableByteChannel in = resumable.openResumable(key, 0, length);
             BlobWriter out = blobs.create(key)) {
            ByteBuffer buf = ByteBuffer.allocate(COPY_BUFFER);
            while (out.written() < length) {
                buf.clear();
                if (in.read(buf) < 0) {
                    throw new IOException("resumable blob " + key + " ended after " + out.written() + " of "
                            + length + " bytes");
                }
                buf.flip();
                out.write(buf);
            }
            out.commit();
        }
        resumable.deleteResumable(key);
    }

    @Override
    public boolean deleteResumable(String key) throws IOException {
        return resumable.deleteResumable(key);
    }

    /** Closes the stores that hold resources (SDK clients). */
    @Override
    public void close() throws Exception {
        if (blobs instanceof AutoCloseable c) {
            c.close();
        }
    }
}
