package io.sluice.admission;

import java.nio.ByteBuffer;

/**
 * An admitted upload: holds one upload slot, the client's share and one pooled buffer until closed.
 * Closing is idempotent, so both the normal path and every failure path may close it.
 */
public interface Ticket extends AutoCloseable {

    /** The pooled buffer this upload streams through. Valid until {@link #close()}. */
    ByteBuffer buffer();

    @Override
    void close();
}
