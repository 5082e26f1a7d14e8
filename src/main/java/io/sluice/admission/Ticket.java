package io.sluice.admission;

import java.nio.ByteBuffer;

/**
 * An admitted upload: holds one upload slot, the client's share and {@link AdmissionController#BUFFERS_PER_UPLOAD}
 * pooled buffers until closed.
 * Closing is idempotent, so both the normal path and every failure path may close it.
 */
public interface Ticket extends AutoCloseable {

    /** The pooled buffer this upload streams through. Valid until {@link #close()}. */
    ByteBuffer buffer();

    /** The second pooled buffer: one fills from the network while the other is hashed and written. */
    ByteBuffer secondBuffer();

    @Override
    void close();
}
