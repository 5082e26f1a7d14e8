package io.sluice.cli;

/** Exit codes of the client commands (upload, jobs, status). */
final class ClientExit {
    /** Everything worked (for status: the server is ready). */
    static final int OK = 0;
    /** An upload or a job failed, the server refused, or could not be reached (for status: not ready). */
    static final int FAILED = 1;
    /** A usage mistake: a bad option, a missing file. */
    static final int USAGE = 2;

    private ClientExit() {
    }
}
