package io.sluice.upload;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An upload that arrives over many requests (tus, the IETF resumable-upload draft).
 *
 * @param length      declared total length, or {@link #DEFERRED} while the client has not said
 * @param offset      bytes acknowledged: durable in storage and recorded; never more than storage holds
 * @param metadata    decoded client metadata (tus {@code Upload-Metadata}); a key sent without a value maps to ""
 * @param rawMetadata the metadata header exactly as received, echoed by tus {@code HEAD}
 * @param concat      what role it plays in a concatenation
 * @param partials    for a final concatenation: the partial uploads' ids, in order; otherwise empty
 * @param expiresAt   when an unfinished upload is swept; null once finished
 * @param owner       the API key that created it; null in open mode
 */
public record Resumable(
        String id,
        long length,
        long offset,
        String filename,
        Map<String, String> metadata,
        String rawMetadata,
        Concat concat,
        List<String> partials,
        State state,
        String client,
        Instant expiresAt,
        Instant createdAt,
        String owner) {

    public static final long DEFERRED = -1;

    public enum State {
        /** Accepting appends. */
        ACTIVE,
        /**
         * Every byte is durable and recorded (offset = length), and the upload record, its job and
         * {@link #COMPLETED} are being committed; a crash leaves it here for recovery to finish. Never expires.
         */
        FINISHING,
        /** All bytes are in; a non-partial upload also has its {@link Upload} record. */
        COMPLETED,
        /** Swept after {@link #expiresAt}; kept as a tombstone so clients get 410 rather than 404. */
        EXPIRED
    }

    public enum Concat { NONE, PARTIAL, FINAL }

    public Resumable {
        metadata = metadata == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        partials = List.copyOf(partials);
    }

    public boolean lengthDeferred() {
        return length == DEFERRED;
    }

    public boolean isComplete() {
        return state == State.COMPLETED;
    }

    Resumable withOffset(long newOffset) {
        return new Resumable(id, length, newOffset, filename, metadata, rawMetadata, concat, partials, state, client,
                expiresAt, createdAt, owner);
    }

    Resumable withLength(long newLength) {
        return new Resumable(id, newLength, offset, filename, metadata, rawMetadata, concat, partials, state, client,
                expiresAt, createdAt, owner);
    }

    Resumable with(State newState, Instant newExpiresAt) {
        return new Resumable(id, length, offset, filename, metadata, rawMetadata, concat, partials, newState, client,
                newExpiresAt, createdAt, owner);
    }
}
