package io.sluice.upload;

/**
 * A {@link ResumableFailure} on its way out of {@link ResumableService}. Unchecked, like the refusals it replaces:
 * it is thrown from inside write hooks and transactions, and the clean-up that runs on any runtime failure (cut
 * back to the recorded offset, delete a blob that no record owns) must run for it as well.
 */
public final class ResumableException extends RuntimeException {

    private final transient ResumableFailure failure;

    public ResumableException(ResumableFailure failure) {
        super(failure.toString(), null, false, false);
        this.failure = failure;
    }

    public ResumableFailure failure() {
        return failure;
    }
}
