package io.sluice.client;

/**
 * A request the server refused or could not be asked: the message is meant for the person at the terminal.
 *
 * @see #status() the HTTP status, or 0 when no answer came
 */
public final class ClientException extends Exception {

    private final int status;
    private final String code;

    public ClientException(int status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    public ClientException(String message, Throwable cause) {
        super(message, cause);
        this.status = 0;
        this.code = null;
    }

    /** The HTTP status, 0 when the server was not reached. */
    public int status() {
        return status;
    }

    /** The JSON {@code error.code}, or null. */
    public String code() {
        return code;
    }
}
