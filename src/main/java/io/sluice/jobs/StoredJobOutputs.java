package io.sluice.jobs;

import io.sluice.storage.BlobStore;
import io.sluice.storage.BlobWriter;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.KeyListing;
import io.sluice.upload.IdGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Job outputs in the shared {@link BlobStore} ({@code storage.type: s3}), so any API node serves what any worker
 * wrote. Temporaries and scratch directories stay on the worker's disk ({@link OutputStore}); {@link #publish}
 * commits the finished file as the blob {@code out-<jobId>} and nothing is kept under {@code outputs/<xy>/}.
 *
 * <p>Keys: {@code out-} plus a ULID can never be an upload's key (a bare ULID), so no upload path reads, lists or
 * sweeps these blobs. The store must replace a committed blob when the same key is committed again, atomically (S3
 * PutObject and CompleteMultipartUpload do): that is what makes a repeated publish harmless. A publish that crashes
 * before its commit leaves a staged blob, which the store's own start-up sweep removes (spool files, stale
 * multipart uploads). Outputs of pruned jobs are found by listing the {@code out-} keys ({@link KeyListing}).
 */
public final class StoredJobOutputs implements JobOutputs {

    private static final Logger log = LoggerFactory.getLogger(StoredJobOutputs.class);
    static final String KEY_PREFIX = "out-";
    private static final int COPY_BUFFER = 64 * 1024;

    private final OutputStore local;
    private final BlobStore store;
    private final KeyListing listing;

    /**
     * @param local temporaries and scratch directories of this worker
     * @param store where published outputs go
     * @throws IllegalArgumentException when the store cannot list keys (pruned jobs' outputs could not be found)
     */
    public StoredJobOutputs(OutputStore local, ComposedStore store) {
        this(local, store.blobs(), store.keyListing().orElseThrow(() -> new IllegalArgumentException(
                store.blobs().getClass().getSimpleName() + " cannot list keys")));
    }

    /**
     * @param store   where published outputs go
     * @param listing the keys of {@code store}, to find pruned jobs' outputs
     */
    public StoredJobOutputs(OutputStore local, BlobStore store, KeyListing listing) {
        this.local = Objects.requireNonNull(local, "local");
        this.store = Objects.requireNonNull(store, "store");
        this.listing = Objects.requireNonNull(listing, "listing");
    }

    /** The blob key of a job's output. */
    static String key(String jobId) {
        if (!IdGenerator.looksLikeId(jobId)) {
            throw new IllegalArgumentException("not a job id");
        }
        return KEY_PREFIX + jobId;
    }

    @Override
    public Path temporaryFile(String jobId, int attempt) {
        return local.temporaryFile(jobId, attempt);
    }

    @Override
    public Path workDir(String jobId, int attempt) {
        return local.workDir(jobId, attempt);
    }

    /**
     * Copies the file into a new blob and commits it (durable when commit returns). The temporary file stays; the
     * attempt removes it, as with the local store.
     */
    @Override
    public void publish(Path temporaryFile, String jobId) throws IOException {
        try (FileChannel in = FileChannel.open(temporaryFile, StandardOpenOption.READ);
             BlobWriter out = store.create(key(jobId))) {
            ByteBuffer buf = ByteBuffer.allocate(COPY_BUFFER);
            while (in.read(buf.clear()) >= 0) {
                out.write(buf.flip());
            }
            out.commit();
        }
    }

    @Override
    public Optional<Opened> open(String jobId) throws IOException {
        if (!IdGenerator.looksLikeId(jobId)) {
            return Optional.empty();
        }
        String key = key(jobId);
        long size = store.size(key);
        if (size < 0) {
            return Optional.empty();
        }
        try {
            ReadableByteChannel ch = store.openRange(key, 0, size);
            return Optional.of(new Opened(ch, size));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // removed since size looked
        }
    }

    @Override
    public boolean delete(String jobId) throws IOException {
        return store.delete(key(jobId));
    }

    @Override
    public int sweepTemporary(BiPredicate<String, Integer> attemptRunning) throws IOException {
        return local.sweepTemporary(attemptRunning);
    }

    /** Lists the {@code out-} blobs and deletes those whose job is gone. Other nodes may sweep at the same time. */
    @Override
    public int sweepOrphans(Predicate<String> jobExists) throws IOException {
        AtomicInteger removed = new AtomicInteger();
        listing.forEachKey(KEY_PREFIX, key -> {
            String id = key.substring(KEY_PREFIX.length());
            if (IdGenerator.looksLikeId(id) && !jobExists.test(id) && store.delete(key)) {
                removed.incrementAndGet();
            }
        });
        if (removed.get() > 0) {
            log.info("Removed {} job output(s) whose job was pruned from the store", removed.get());
        }
        return removed.get();
    }
}
