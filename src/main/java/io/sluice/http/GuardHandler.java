package io.sluice.http;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Cheap refusals before any routing on the public port: connections past the cap (503) and requests for a host
 * that is not trusted (400). Health paths pass both, so probes keep answering under a flood and by pod IP.
 */
public final class GuardHandler extends Handler.Wrapper {

    private final ConnectionCap cap;
    private final List<String> trustedHosts;
    private final Duration retryAfter;

    public GuardHandler(Handler handler, ConnectionCap cap, List<String> trustedHosts, Duration retryAfter) {
        super(handler);
        this.cap = cap;
        this.trustedHosts = trustedHosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
        this.retryAfter = retryAfter;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = request.getHttpURI().getPath();
        boolean health = path != null && (path.equals("/health") || path.startsWith("/health/"));
        if (!health && cap.refuse(request.getConnectionMetaData().getConnection())) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            Router.writeError(request, response, callback, ErrorCode.TOO_MANY_CONNECTIONS.error(
                    "the server has " + cap.limit() + " connections open; retry later", Map.of(), retryAfter));
            return true;
        }
        // Probes address pods by IP, not by the public host name, so health is exempt here as well.
        if (!health && !trustedHosts.isEmpty()
                && !trusted(Request.getServerName(request), Request.getServerPort(request))) {
            Router.writeError(request, response, callback,
                    ErrorCode.UNTRUSTED_HOST.error("the Host header names a host this server does not serve"));
            return true;
        }
        return super.handle(request, response, callback);
    }

    /** Entries are {@code host[:port]}: without a port any port matches; a bracketed IPv6 literal has colons. */
    private boolean trusted(String host, int port) {
        if (host == null) {
            return false;
        }
        String h = host.toLowerCase(Locale.ROOT);
        for (String t : trustedHosts) {
            int colon = t.lastIndexOf(':');
            boolean hasPort = colon > t.lastIndexOf(']');
            String name = hasPort ? t.substring(0, colon) : t;
            if (hasPort && Integer.parseInt(t.substring(colon + 1)) != port) {
                continue;
            }
            if (name.equals(h) || (name.startsWith("*.") && h.endsWith(name.substring(1)))) {
                return true;
            }
        }
        return false;
    }
}
