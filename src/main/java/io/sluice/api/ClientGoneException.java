package io.sluice.api;

import java.io.IOException;

/**
 * The client went away: it stopped sending mid-body, or stopped receiving mid-response (disconnect, reset).
 * Nobody is left to answer; the router only logs it.
 */
public final class ClientGoneException extends IOException {
    public ClientGoneException(Throwable cause) {
        super("client went away: " + cause, cause);
    }
}
