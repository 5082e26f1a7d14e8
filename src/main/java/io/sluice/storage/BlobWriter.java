package io.sluice.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A staged blob being written. Single-threaded: one request owns it.
 *
 * <p>{@link #close} without {@link #commit} aborts: the staged bytes are removed. Closing after commit keeps the blob
 * (and releases what the commit kept until the caller had recorded it), so {@code try-with-resources} around the
 * whole upload, its record included, is the intended use.
 */
public interface BlobWriter extends AutoCloseable {

    /** Appends all remaining bytes of {@code buffer}, blocking until written. */
    void write(ByteBuffer buffer) throws IOException;

    /** Bytes written so far. */
    long written();

    /** Makes the blob durable and visible under its key; afterwards the writer accepts nothing more. */
    void commit() throws IOException;

    /** Aborts (if not committed) and removes the staged bytes. Never throws. */
    @Override
    void close();
}
