package io.sluice.http;

import org.eclipse.jetty.server.Request;

/** Where a request's id lives once {@link AccessLogHandler} assigned it. */
public final class RequestIds {

    static final String ATTRIBUTE = "sluice.requestId";

    private RequestIds() {
    }

    public static String get(Request request) {
        Object id = request.getAttribute(ATTRIBUTE);
        return id == null ? null : id.toString();
    }
}
