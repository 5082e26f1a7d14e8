package io.sluice.upload;

import java.time.Instant;

/**
 * Why {@link ResumableService} refused a request, in the service's own terms: no status codes, no header names.
 * Each protocol adapter turns every variant into its answer in one exhaustive {@code switch}, so a new variant does
 * not compile until every protocol says how it answers it. Thrown inside a {@link ResumableException}.
 */
public sealed interface ResumableFailure {

    /** No such upload (never created, terminated, or consumed by a concatenation). */
    record NotFound(String id) implements ResumableFailure {
    }

    /** The upload expired at {@code at}; its bytes are (or are about to be) removed. */
    record Expired(String id, Instant at) implements ResumableFailure {
    }

    /** Another request holds the upload and did not let go within the lock wait. */
    record Locked() implements ResumableFailure {
    }

    /** The client's offset is not the upload's: it resumes from {@code offset}. */
    record OffsetMismatch(long offset) implements ResumableFailure {
    }

    /** A final concatenation is complete when created and takes no appends. */
    record FinalImmutable() implements ResumableFailure {
    }

    /** Bytes arrived for an upload that is already complete at {@code length}. */
    record BeyondLength(long length) implements ResumableFailure {
    }

    /** The append that completes the upload ends at {@code end}, not at its declared {@code length}. */
    record InconsistentLength(long length, long end) implements ResumableFailure {
    }

    /** The length is already {@code length}; {@code requested} would change it. */
    record LengthAlreadySet(long length, long requested) implements ResumableFailure {
    }

    /** The declared {@code length} is below the {@code offset} bytes already received. */
    record LengthBelowOffset(long length, long offset) implements ResumableFailure {
    }

    /** The upload's length is above the caller's size {@code limit}. */
    record TooLarge(long limit) implements ResumableFailure {
    }

    /** A zero-byte file cannot become an upload. */
    record EmptyFile(String filename) implements ResumableFailure {
    }

    /** The append's bytes do not match the digest the client sent; nothing of them was kept. */
    record ChecksumMismatch(String algorithm, long offset) implements ResumableFailure {
    }

    /** A creation that carries the whole upload brought {@code received} bytes for a {@code length}-byte upload. */
    record LengthMismatch(long received, long length) implements ResumableFailure {
    }

    /** A final concatenation that lists no partial upload. */
    record NoPartials() implements ResumableFailure {
    }

    /** A final concatenation that lists a partial upload twice. */
    record RepeatedPartial() implements ResumableFailure {
    }

    /** A final concatenation that lists an unknown (or expired, or someone else's) partial upload. */
    record UnknownPartial(String id) implements ResumableFailure {
    }

    /** A final concatenation that lists an upload not created as partial. */
    record NotPartial(String id) implements ResumableFailure {
    }

    /** A final concatenation that lists a partial upload still at {@code offset} of {@code length} (or deferred). */
    record UnfinishedPartial(String id, long offset, long length) implements ResumableFailure {
    }

    /**
     * The finished (or early-judged) file was refused by the rules every upload obeys: its type, the pipeline it
     * names, that pipeline's precheck. The upload was removed. {@code refusal} is those rules' own error, which a
     * direct upload gets too: adapters throw it as is.
     */
    record FileRefused(RuntimeException refusal) implements ResumableFailure {
    }
}
