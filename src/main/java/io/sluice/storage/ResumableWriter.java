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

    /** Releases the file; never throws. */
    @Override
    void close();
}
