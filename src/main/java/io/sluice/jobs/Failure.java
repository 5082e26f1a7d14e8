package io.sluice.jobs;

/**
 * How a throwable from a handler is recorded: error code, message, and whether another attempt may help.
 * Errors are classified rather than rethrown: a handler's {@link OutOfMemoryError} fails its attempt, not the
 * process (the heap it filled is garbage once the handler's stack unwinds).
 */
record Failure(String code, String message, boolean retryable) {

    static Failure of(Throwable t) {
        return switch (t) {
            case JobFailedException e -> new Failure(e.code(), e.getMessage(), e.retryable());
            // Memory may have been short because of other jobs; the retry waits for memory admission.
            case OutOfMemoryError e -> new Failure("out_of_memory", describe(e), true);
            // The same input recurses the same way again.
            case StackOverflowError e -> new Failure("stack_overflow", "the processor recursed too deeply", false);
            case InterruptedException e -> new Failure("interrupted", describe(e), true);
            case CancelledException e -> new Failure("interrupted", describe(e), true);
            case Exception e -> new Failure("processor_error", describe(e), true);
            default -> new Failure("processor_error", describe(t), false);
        };
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + m;
    }
}
