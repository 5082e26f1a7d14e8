package io.sluice.processors;

/**
 * A processor failure meant for the user: the file is malformed, encrypted, too large for the pipeline's guards.
 * The job fails with {@link #code()} and the message; {@link #retryable()} says whether another attempt could
 * succeed (a bad file will not get better, so the default is false).
 */
public class ProcessorException extends Exception {

    private final String code;
    private final boolean retryable;

    public ProcessorException(String code, String message) {
        this(code, message, false, null);
    }

    public ProcessorException(String code, String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.retryable = retryable;
    }

    public String code() {
        return code;
    }

    public boolean retryable() {
        return retryable;
    }
}
