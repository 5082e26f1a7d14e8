package io.sluice.api;

/** A blocking request handler. Throw {@link ApiException} for client errors; the router renders them. */
@FunctionalInterface
public interface Route {
    void handle(Exchange exchange) throws Exception;
}
