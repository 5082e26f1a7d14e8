package io.sluice.isolation;

/**
 * The contract between the worker and {@code sluice run-job}.
 *
 * <p>Stdout carries JSON lines only (anything else the processor prints is sent to stderr):
 * <ul>
 *   <li>{@code {"type":"progress","percent":40,"stage":"page 4 of 10","etaSeconds":3}} any number of times;</li>
 *   <li>then exactly one of {@code {"type":"result","summary":{...},"outputLines":12}} or
 *       {@code {"type":"failure","code":"encrypted_pdf","message":"...","retryable":false}}.</li>
 * </ul>
 * Exit codes: {@link #EXIT_OK} after a result line; {@link #EXIT_FAILED} after a failure line;
 * {@link #EXIT_BAD_SPEC} when the spec is unreadable or names an unknown processor (a failure line
 * {@code bad_spec} is printed when possible); {@link #EXIT_OUT_OF_MEMORY} when the heap ran out (the JVM's own
 * {@code -XX:+ExitOnOutOfMemoryError} code, also used when the child catches the error itself). Anything else is
 * a crash (a signal, a JVM abort).
 */
public final class ChildProtocol {

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_BAD_SPEC = 2;
    public static final int EXIT_OUT_OF_MEMORY = 3;
    /** The worker that started the child is gone: nobody can take its result, so it stops at once. */
    public static final int EXIT_ORPHANED = 4;

    public static final String PROGRESS = "progress";
    public static final String RESULT = "result";
    public static final String FAILURE = "failure";

    private ChildProtocol() {
    }
}
