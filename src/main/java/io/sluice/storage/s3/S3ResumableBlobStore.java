package io.sluice.storage.s3;

import io.sluice.storage.Assembler;
import io.sluice.storage.BlobStore;
import io.sluice.storage.BlobWriter;
import io.sluice.storage.KeyListing;
import io.sluice.storage.Presigner;
import io.sluice.storage.ResumableStore;
import io.sluice.storage.ResumableWriter;

import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.time.Duration;
import java.util.List;

/**
 * The whole S3 store for {@code storage.type: s3}: committed blobs and presigning from {@link S3BlobStore},
 * resumable blobs and concatenation from {@link S3ResumableStore}, both over the same client and bucket. Every
 * piece of state is in the bucket, so any node can resume what another started. Closing closes the blob store
 * (which owns the SDK clients).
 */
public final class S3ResumableBlobStore implements BlobStore, KeyListing, ResumableStore, Assembler, Presigner, AutoCloseable {

    private final S3BlobStore blobs;
    private final S3ResumableStore resumable;

    public S3ResumableBlobStore(S3BlobStore blobs, S3ResumableStore resumable) {
        this.blobs = blobs;
        this.resumable = resumable;
    }

    /** Resumable blobs over {@code blobs}' client and settings, spooling beside its part files. */
    public static S3ResumableBlobStore over(S3BlobStore blobs) throws IOException {
        return new S3ResumableBlobStore(blobs,
                new S3ResumableStore(blobs.client(), blobs.settings(), blobs.spoolDirectory()));
    }

    public S3BlobStore blobs() {
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
    public void forEachKey(String prefix, KeyVisitor visitor) throws IOException {
        blobs.forEachKey(prefix, visitor);
    }

    /** Spool files of both halves; multipart uploads of resumable blobs are never swept (their expiry is the caller's). */
    @Override
    public int sweepStaged() throws IOException {
        return resumable.sweepSpools() + blobs.sweepStaged();
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
        resumable.promote(key);
    }

    @Override
    public boolean deleteResumable(String key) throws IOException {
        return resumable.deleteResumable(key);
    }

    @Override
    public void assemble(String key, List<String> sources) throws IOException {
        resumable.assemble(key, sources);
    }

    @Override
    public PresignedRequest presignPut(String key, long size, String contentType, Duration ttl) throws IOException {
        return blobs.presignPut(key, size, contentType, ttl);
    }

    @Override
    public PresignedRequest presignGet(String key, Duration ttl) throws IOException {
        return blobs.presignGet(key, ttl);
    }

    @Override
    public void close() {
        blobs.close();
    }
}
