package io.sluice.admission;

import io.sluice.storage.DiskLedger;

import java.nio.ByteBuffer;

/**
 * An admitted upload: holds one upload slot, the client's share, {@link AdmissionController#BUFFERS_PER_UPLOAD}
 * pooled buffers and its reservation on the {@link DiskLedger} until closed.
 * Closing is idempotent, so both the normal path and every failure path may close it.
 */
public interface Ticket extends AutoCloseable {

    /** The pooled buffer this upload streams through. Valid until {@link #close()}. */
    ByteBuffer buffer();

    /** The second pooled buffer: one fills from the network while the other is hashed and written. */
    ByteBuffer secondBuffer();

    /** The upload's disk reservation: its declared length (or a first step), grown by its writer as it goes. */
    DiskLedger.Reservation disk();

    @Override
    void close();
}
