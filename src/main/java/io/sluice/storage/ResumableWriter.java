package io.sluice.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Appends to a resumable blob. Single-threaded, except that {@link #sync} may run on another thread while
 * {@link #write} goes on (a checkpoint of a long append): it then makes at least the bytes written before it
 * started durable.
 *
 * <p>Closing keeps what was written (unlike {@link BlobWriter}, nothing is aborted): whether it counts is decided
 * by the offset the caller records after a {@link #sync}.
 */
public interface ResumableWriter extends AutoCloseable {

    /** Appends all remaining bytes of {@code buffer}. */
    void write(ByteBuffer buffer) throws IOException;

    /** Bytes appended through this writer so far. */
    long written();

    /** Makes every byte written before this call durable. */
    void sync() throws IOException;

    /**
     * Tells the store that the caller recorded {@code offset} (counted from the start of the blob, not of this
     * writer) after a {@link #sync}: no later {@link ResumableStore#openAppend} will ask for less, so whatever a store
     * kept only to rebuild a smaller offset may go now. A store that keeps nothing of the kind ignores it (the
     * default). Never throws: a failure only leaves extra bytes for {@link ResumableStore#promote} or
     * {@link ResumableStore#deleteResumable} to remove.
     */
    default void acknowledged(long offset) {
    }

    /**
     * Cuts the blob back to {@code offset} (counted from the start of the blob), the offset the caller has
     * recorded, after an append failed: the bytes beyond it would never count, and on a full disk their space is
     * wanted now rather than at the next {@link ResumableStore#openAppend}. Only the first {@code offset} bytes
     * are kept; the writer accepts nothing more afterwards. A store whose unacknowledged bytes live only in
     * temporary files removed on {@link #close} needs nothing here (the default).
     */
    default void truncate(long offset) throws IOException {
    }

    /** Releases the file; never throws. */
    @Override
    void close();
}
