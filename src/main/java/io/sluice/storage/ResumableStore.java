package io.sluice.storage;

import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;

/**
 * Optional capability of a {@link BlobStore}: blobs that grow over many requests (tus and the IETF resumable
 * upload draft), as tusd's {@code DataStore} with its writable {@code Upload}.
 *
 * <p>Contract:
 * <ul>
 *   <li>A resumable blob lives beside committed blobs under the same kind of key, but is invisible to
 *       {@link BlobStore#openRange}, {@link BlobStore#size} and {@link BlobStore#delete} until {@link #promote}.</li>
 *   <li>The store does not know how many bytes were acknowledged: the caller records the offset (in the database)
 *       after {@link ResumableWriter#sync} returns. The stored length may therefore exceed the recorded offset
 *       after a crash; {@link #openAppend} at the recorded offset discards that unacknowledged tail first.</li>
 *   <li>One writer per key at a time is the caller's duty (see {@code UploadLocks}); reads of bytes below the
 *       recorded offset are safe while a writer appends.</li>
 *   <li>Resumable blobs are not staged: {@link BlobStore#sweepStaged} leaves them alone. Expiry is the caller's.</li>
 * </ul>
 */
public interface ResumableStore {

    /** Creates an empty resumable blob, durably (a crash right after leaves it present and empty). */
    void createResumable(String key) throws IOException;

    /**
     * Opens the blob for appending at {@code offset}; bytes stored beyond it are cut off first.
     *
     * @throws NoSuchFileException when there is no resumable blob for the key
     * @throws IOException                       when fewer than {@code offset} bytes are stored
     */
    ResumableWriter openAppend(String key, long offset) throws IOException;

    /** Bytes stored for a resumable blob (durable or not), or -1 when there is none. */
    long resumableLength(String key) throws IOException;

    /** Reads {@code length} bytes of a resumable blob from {@code offset}. */
    ReadableByteChannel openResumable(String key, long offset, long length) throws IOException;

    /**
     * Turns a finished resumable blob into the committed blob of the same key, durably. Idempotent: when the
     * resumable blob is gone and the committed one exists, this returns quietly, so a completion interrupted by a
     * crash can simply be repeated.
     *
     * @throws NoSuchFileException when neither exists
     */
    void promote(String key) throws IOException;

    /** Removes a resumable blob durably; false when there was none. */
    boolean deleteResumable(String key) throws IOException;
}
