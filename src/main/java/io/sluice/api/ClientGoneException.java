package io.sluice.api;

import java.io.IOException;

/** The client stopped sending mid-body (disconnect, reset). Nobody is left to answer; the router only logs it. */
public final class ClientGoneException extends IOException {
    public ClientGoneException(Throwable cause) {
        super("client went away: " + cause, cause);
    }
}
