package io.sluice.jobs;

import java.util.Objects;

/**
 * Thrown by a handler to fail its attempt with a specific error code, and to say whether another attempt could
 * succeed (a webhook target answered 503: yes; the file is not a spreadsheet: no). Any other exception fails the
 * attempt as {@code processor_error}, retryable.
 */
public class JobFailedException extends RuntimeException {

    private final String code;
    private final boolean retryable;

    public JobFailedException(String code, String message, boolean retryable) {
        this(code, message, retryable, null);
    }

    public JobFailedException(String code, String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
        this.retryable = retryable;
    }

    public String code() {
        return code;
    }

    public boolean retryable() {
        return retryable;
    }
}
