package io.sluice.api;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Decides who a request is from before its route runs (authentication, admin checks, per-key rate), from the
 * request and the route pattern it matched. Throws {@link ApiException} to refuse (401, 403, 429); the router
 * renders it like any route error.
 */
@FunctionalInterface
public interface Guard {

    /**
     * @param response for headers that go with a refusal ({@code WWW-Authenticate})
     * @param pattern the matched route's pattern ({@code /api/v1/uploads/{id}}), or null for the static-site
     *                fallback
     * @return the caller, stored for {@link Exchange#principal()}
     */
    Principal check(Request request, Response response, String pattern);
}
