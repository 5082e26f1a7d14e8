package io.sluice.storage;

import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;

/**
 * Where upload bytes live. One implementation per package ({@code storage.local}, {@code storage.s3}).
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #create} stages a new blob that nobody else can see. Bytes written to the returned {@link BlobWriter}
 *       become visible under their key only when {@link BlobWriter#commit} returns, and then they are durable
 *       (fsync'd, including the directory entry). A writer that is aborted, or never committed, leaves nothing
 *       behind.</li>
 *   <li>A key is chosen by the caller and is never derived from a client-supplied name. Committing a key that
 *       already holds a committed blob replaces it atomically: a reader sees the old bytes or the new, never a
 *       mix, and the old blob is gone once {@link BlobWriter#commit} returns. Uploads never rely on this (each
 *       upload's key is a fresh id, committed once); job outputs do ({@code out-<jobId>} is committed again when
 *       a retried attempt publishes, see {@code jobs.StoredJobOutputs}).</li>
 *   <li>{@link #sweepStaged} is called once at start-up, before any writer exists, to remove what a crash left
 *       staged.</li>
 *   <li>All methods are safe to call from many threads at once.</li>
 * </ul>
 * Optional capabilities (resumable writes at an offset, assembly of parts, presigned URLs, key listing, local
 * paths) are separate interfaces, as in tusd's datastore; each backend states which it offers once, in its
 * {@link ComposedStore}, and callers ask that instead of testing a store's class.
 */
public interface BlobStore {

    /** Stages a new blob for {@code key}. */
    BlobWriter create(String key) throws IOException;

    /**
     * Opens {@code length} bytes of a committed blob from {@code offset}.
     *
     * @throws NoSuchFileException when the key does not exist
     */
    ReadableByteChannel openRange(String key, long offset, long length) throws IOException;

    /** Size of a committed blob, or -1 when it does not exist. */
    long size(String key) throws IOException;

    /** Deletes a committed blob durably; returns false when it did not exist. */
    boolean delete(String key) throws IOException;

    /** Removes staged blobs left by an earlier process; returns how many were removed. */
    int sweepStaged() throws IOException;

    /** Number of blobs currently staged by this process (for tests and health: orphans show up here). */
    int stagedCount();

    /** Bytes usable on the storage's volume, or -1 when unknown (e.g. remote object storage). */
    long usableSpace() throws IOException;

    /** Writes and removes a small probe blob; true when the store accepts writes. */
    boolean probeWritable();
}
