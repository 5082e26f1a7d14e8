package io.sluice.http;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.db.Database;
import io.sluice.api.ClientGoneException;
import io.sluice.api.Exchange;
import io.sluice.api.Guard;
import io.sluice.api.Principal;
import io.sluice.api.Json;
import io.sluice.api.Route;
import io.sluice.api.Routes;
import io.sluice.storage.DiskFullException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.QuietException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.URIUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Matches method and path to a {@link Route} and runs it as a blocking call on the request's virtual thread.
 *
 * <p>Owns the error contract: an {@link ApiException} becomes its JSON error with its status (and
 * {@code Retry-After}); a full data disk ({@link DiskFullException#of}: the ledger's refusal or the filesystem's
 * ENOSPC) becomes {@code 507 insufficient_storage} with {@code Retry-After}; anything else is logged with the
 * request id and answered as a JSON 500. A handler never
 * leaves a connection hanging: the callback is completed on every path.
 */
public final class Router extends Handler.Abstract implements Routes {

    private static final Logger log = LoggerFactory.getLogger(Router.class);
    /** When a write the database refused for want of disk space is worth trying again: an operator frees space. */
    static final Duration DATABASE_DISK_FULL_RETRY_AFTER = Duration.ofSeconds(30);

    private record Entry(String method, String pattern, String[] segments, Route route) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Function<Request, String> clientKey;
    private final Duration diskFullRetryAfter;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile Route fallback;
    private volatile Guard guard;

    /** @param clientKey who a request is from, for per-client admission */
    public Router(Function<Request, String> clientKey) {
        this(clientKey, Duration.ofSeconds(30));
    }

    /** @param diskFullRetryAfter the {@code Retry-After} of a 507 the filesystem caused (ENOSPC) */
    public Router(Function<Request, String> clientKey, Duration diskFullRetryAfter) {
        super(InvocationType.BLOCKING);
        this.clientKey = clientKey;
        this.diskFullRetryAfter = diskFullRetryAfter;
    }

    @Override
    public void add(String method, String pattern, Route route) {
        entries.add(new Entry(method, pattern, split(pattern), route));
    }

    /**
     * Runs {@code route} for GET and HEAD requests that no route matches (the static site): routes always win,
     * so the site can never shadow an endpoint. Other methods on unmatched paths stay 404.
     */
    public void fallback(Route route) {
        this.fallback = route;
    }

    /**
     * Runs {@code guard} before every route and the fallback: it authenticates the caller (stored for
     * {@link Exchange#principal()}) or refuses the request. Without one every caller is {@link Principal#OPEN}.
     */
    public void guard(Guard guard) {
        this.guard = guard;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        inFlight.incrementAndGet();
        try {
            String path = request.getHttpURI().getCanonicalPath();
            String[] segments = split(path == null ? "/" : path);
            Set<String> allowed = new LinkedHashSet<>();
            for (Entry e : entries) {
                Map<String, String> params = match(e.segments, segments);
                if (params == null) {
                    continue;
                }
                if (!e.method.equals(request.getMethod())) {
                    allowed.add(e.method);
                    continue;
                }
                run(e.pattern, e.route, request, response, callback, params);
                return true;
            }
            if (!allowed.isEmpty()) {
                response.getHeaders().put(HttpHeader.ALLOW, String.join(", ", allowed));
                writeError(request, response, callback, ErrorCode.METHOD_NOT_ALLOWED.error(
                        request.getMethod() + " is not supported here; allowed: " + String.join(", ", allowed)));
            } else if (fallback != null && ("GET".equals(request.getMethod()) || "HEAD".equals(request.getMethod()))) {
                run(null, fallback, request, response, callback, Map.of());
            } else {
                writeError(request, response, callback, ApiException.notFound("path " + path));
            }
            return true;
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private void run(String pattern, Route route, Request request, Response response, Callback callback,
                     Map<String, String> params) {
        String client = clientKey.apply(request);
        Guard g = guard;
        if (g != null) {
            try {
                Principal p = g.check(request, response, pattern);
                request.setAttribute(Principal.ATTRIBUTE, p);
                if (p.keyId() != null) {
                    client = "key:" + p.keyId(); // admission counts per key, not per address, once keys are used
                }
            } catch (ApiException e) {
                answer(request, response, callback, e);
                return;
            }
        }
        Exchange ex = new Exchange(request, response, params, RequestIds.get(request), client);
        try {
            route.handle(ex);
            callback.succeeded();
        } catch (ApiException e) {
            answer(request, response, callback, e);
        } catch (ClientGoneException e) {
            log.debug("request {}: {}", ex.requestId(), e.getMessage());
            // Jetty's own failure (an EofException), not our wrapper: Jetty recognises it as the connection's
            // end and stays quiet, where a foreign exception makes it log a WARN and stack trace per disconnect.
            // A connection we closed ourselves (a stalled upload told to let go) fails reads with a
            // ClosedChannelException, which is not quiet: it is wrapped so that it is treated the same.
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            callback.failed(cause instanceof QuietException ? cause : new EofException(cause));
        } catch (Throwable e) {
            var full = DiskFullException.of(e, diskFullRetryAfter);
            if (full.isPresent() || Database.isDiskFull(e)) {
                // Not a server bug but a state of the disk: the writer already removed or cut back what it wrote (a
                // database write committed nothing); one line, and an answer that tells the client to come back.
                ApiException answer = full.map(Router::insufficientStorage).orElseGet(() ->
                        ErrorCode.INSUFFICIENT_STORAGE.error("the data disk is full: the change cannot be recorded now; "
                                + "retry once space is freed", Map.of(), DATABASE_DISK_FULL_RETRY_AFTER));
                log.warn("request {} {} {}: {}", ex.requestId(), request.getMethod(), request.getHttpURI().getPath(),
                        answer.getMessage());
                answer(request, response, callback, answer);
                return;
            }
            log.error("request {} {} {} failed", ex.requestId(), request.getMethod(), request.getHttpURI().getPath(), e);
            answer(request, response, callback,
                    ErrorCode.INTERNAL_ERROR.error("unexpected server error; quote request id " + ex.requestId()));
        }
    }

    /** The answer to a full data disk. */
    static ApiException insufficientStorage(DiskFullException e) {
        return ErrorCode.INSUFFICIENT_STORAGE.error(e.getMessage(), Map.of(), e.retryAfter());
    }

    /**
     * Writes {@code e} as the JSON error response and, when the request's body was not read to its end, discards
     * what follows for a moment ({@link LingeringClose}) so that the answer reaches the client before the
     * connection closes. Only on the request's own virtual thread: it blocks.
     */
    private static void answer(Request request, Response response, Callback callback, ApiException e) {
        // Not Request.consumeAvailable(): what it cannot read at once it fails, and the drain would read nothing.
        if (response.isCommitted() || LingeringClose.readAvailable(request)) {
            writeError(request, response, callback, e);
            return;
        }
        Callback.Completable written = new Callback.Completable();
        write(request, response, written, e, true);
        try {
            written.get();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            callback.failed(ie);
            return;
        } catch (Exception failed) {
            callback.failed(failed.getCause() != null ? failed.getCause() : failed);
            return;
        }
        LingeringClose.drain(request, LingeringClose.MAX_TIME, LingeringClose.MAX_BYTES);
        callback.succeeded();
    }

    /** Writes {@code e} as the JSON error response, or aborts when a response is already under way. */
    static void writeError(Request request, Response response, Callback callback, ApiException e) {
        write(request, response, callback, e, !response.isCommitted() && !request.consumeAvailable());
    }

    /** @param bodyLeft the request's body was not read to its end: the connection closes after this answer */
    private static void write(Request request, Response response, Callback callback, ApiException e,
                              boolean bodyLeft) {
        if (response.isCommitted()) {
            callback.failed(e);
            return;
        }
        // Keep headers a route set for the error itself (Allow, Content-Range) but drop content headers.
        response.getHeaders().remove(HttpHeader.CONTENT_LENGTH);
        response.getHeaders().remove(HttpHeader.CONTENT_DISPOSITION);
        response.getHeaders().remove(HttpHeader.ETAG);
        response.setStatus(e.status());
        if (e.retryAfter() != null) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Math.max(1, e.retryAfter().toSeconds()));
        }
        // A refusal is often sent before the request body was read. Jetty closes a connection whose body was not
        // consumed, after this response; say so in it, or a keep-alive client sends its next request into a
        // connection that is about to close (what Jetty's own Response.writeError does too).
        if (bodyLeft && request.getConnectionMetaData().getHttpVersion().getVersion() <= 11) {
            response.getHeaders().ensureField(HttpFields.CONNECTION_CLOSE);
        }
        byte[] body = Json.error(e.code(), e.getMessage(), e.details(), RequestIds.get(request));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    /**
     * Every registered route as {@code "METHOD /pattern"} (the pattern as registered, {@code {name}} segments
     * included), in registration order. Read-only: for the OpenAPI check and diagnostics.
     */
    public List<String> routes() {
        return entries.stream().map(e -> e.method + " /" + String.join("/", e.segments)).toList();
    }

    /** Requests currently inside a route (shutdown waits for them to finish their cleanup). */
    public int inFlight() {
        return inFlight.get();
    }

    private static String[] split(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.isEmpty() ? new String[0] : p.split("/", -1);
    }

    private static Map<String, String> match(String[] pattern, String[] path) {
        if (pattern.length != path.length) {
            return null;
        }
        Map<String, String> params = null;
        for (int i = 0; i < pattern.length; i++) {
            String p = pattern[i];
            if (p.startsWith("{") && p.endsWith("}")) {
                if (path[i].isEmpty()) {
                    return null;
                }
                if (params == null) {
                    params = new HashMap<>();
                }
                // Jetty's canonical path keeps percent-escapes inside segments; routes get them decoded, as
                // Routes promises. An encoded '/' never gets here: Jetty refuses ambiguous separators.
                params.put(p.substring(1, p.length() - 1), URIUtil.decodePath(path[i]));
            } else if (!p.equals(path[i])) {
                return null;
            }
        }
        return params == null ? Map.of() : params;
    }
}
