package io.sluice.auth;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Guard;
import io.sluice.api.Principal;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What each route needs, decided from its pattern, and the check itself (installed on the public router).
 *
 * <ul>
 *   <li>Open to everyone: {@code /health} and {@code /health/ready} (probes), {@code OPTIONS} (tus discovery and
 *       CORS preflights, which never carry credentials), relays (the application's own public endpoints) and the
 *       static site / dashboard files.</li>
 *   <li>Admin key: {@code /health/detailed}, {@code /metrics} (both stay open on the admin port, which is never
 *       public), {@code /api/v1/keys...}, {@code /api/v1/tokens...} and the webhook deliveries.</li>
 *   <li>Any valid key: everything else. The event streams ({@code GET /api/v1/events},
 *       {@code GET /api/v1/jobs/{id}/events}) also take the key as {@code ?access_token=}, because a browser's
 *       EventSource cannot send headers; no other route does, so keys do not end up in logs and histories.</li>
 * </ul>
 *
 * <p>An application-signed upload token (a JWT, when {@code auth.jwt.*} is configured) is presented exactly as a
 * key is, and may use only {@link #tokenMayUse the routes of its own uploads and jobs}.
 *
 * <p>In open mode ({@link Authenticator#openMode()}) every request is {@link Principal#OPEN}. Refusals: 401
 * {@code unauthorized} with {@code WWW-Authenticate: Bearer} (no, malformed, unknown or revoked key), 401
 * {@code invalid_token} (an upload token that does not verify, with the reason), 403 {@code forbidden} (a non-admin
 * key on an admin route, a token on a route tokens may not use), 429 {@code rate_limited} with {@code Retry-After}.
 */
public final class AccessPolicy implements Guard {

    enum Access { PUBLIC, KEY, KEY_OR_TOKEN, ADMIN }

    /**
     * Open to anyone: probes, the application's relays, the dashboard's files (the page must load to ask for a key),
     * the API description, and the two presign routes that carry their own credential (a signed URL; the storage's
     * event token).
     */
    private static final Set<String> PUBLIC_PATTERNS = Set.of("/health", "/health/ready", "/relay/{name}", "/",
            "/dashboard", "/dashboard/", "/dashboard/{file}", "/api/openapi.json", "/api/v1/presigned/{id}",
            "/api/v1/storage/events");
    private static final Set<String> ADMIN_PATTERNS = Set.of("/health/detailed", "/metrics");
    private static final Set<String> EVENT_STREAMS = Set.of("/api/v1/events", "/api/v1/jobs/{id}/events");
    static final String ACCESS_TOKEN = "access_token";
    /**
     * The {@code /api/} routes an upload token may use: its uploads (create, read, download, delete, presign), its
     * jobs (read, output, events, cancel), its limits and unfinished uploads, and the event stream. Every route
     * outside {@code /api/} that is not public or admin is the tus/IETF protocol (its own base path), also allowed.
     */
    private static final Set<String> TOKEN_ROUTES = Set.of("POST /api/v1/uploads", "PUT /api/v1/uploads/{filename}",
            "GET /api/v1/uploads", "GET /api/v1/uploads/{id}", "GET /api/v1/uploads/{id}/content",
            "HEAD /api/v1/uploads/{id}/content", "DELETE /api/v1/uploads/{id}", "POST /api/v1/uploads/presign",
            "POST /api/v1/uploads/{id}/complete", "GET /api/v1/jobs", "GET /api/v1/jobs/{id}",
            "GET /api/v1/jobs/{id}/output", "GET /api/v1/jobs/{id}/events", "POST /api/v1/jobs/{id}/cancel",
            "GET /api/v1/events", "GET /api/v1/limits", "GET /api/v1/resumable");

    private final Authenticator auth;
    private final RateLimiter rates;

    public AccessPolicy(Authenticator auth, RateLimiter rates) {
        this.auth = auth;
        this.rates = rates;
    }

    static Access access(String method, String pattern) {
        if (pattern == null || "OPTIONS".equals(method) || PUBLIC_PATTERNS.contains(pattern)) {
            return Access.PUBLIC;
        }
        if (ADMIN_PATTERNS.contains(pattern) || pattern.startsWith("/api/v1/keys") || pattern.startsWith("/api/v1/tokens")
                || pattern.startsWith("/api/v1/webhooks/")) {
            return Access.ADMIN;
        }
        if ("GET".equals(method) && EVENT_STREAMS.contains(pattern)) {
            return Access.KEY_OR_TOKEN;
        }
        return Access.KEY;
    }

    @Override
    public Principal check(Request request, Response response, String pattern) {
        Access access = access(request.getMethod(), pattern);
        try {
            if (auth.openMode()) {
                return Principal.OPEN;
            }
            if (access == Access.PUBLIC) {
                return publicCaller(request);
            }
            String token = bearer(request);
            if (token == null && access == Access.KEY_OR_TOKEN) {
                token = Request.extractQueryParameters(request).getValue(ACCESS_TOKEN);
            }
            if (token == null) {
                throw unauthorized(response, "this endpoint needs an API key: send 'Authorization: Bearer <key>'");
            }
            Principal p = caller(response, token);
            if (access == Access.ADMIN && !p.admin()) {
                throw ErrorCode.FORBIDDEN.error("this endpoint needs an admin key");
            }
            if (p.grant() != null && !tokenMayUse(request.getMethod(), pattern)) {
                throw ErrorCode.FORBIDDEN.error("an upload token may only create, read and delete its own "
                        + "uploads and jobs; this endpoint needs an API key");
            }
            if (p.ratePerSecond() != null) {
                Duration wait = rates.acquire(p.keyId(), p.ratePerSecond());
                if (wait != null) {
                    throw ErrorCode.RATE_LIMITED.error("this key may make " + p.ratePerSecond()
                            + " requests per second", Map.of("limit", p.ratePerSecond()), wait);
                }
            }
            return p;
        } catch (SQLException e) {
            throw ErrorCode.UNAVAILABLE.error("cannot check the API key right now; retry",
                    Map.of(), Duration.ofSeconds(1));
        }
    }

    private Principal caller(Response response, String token) throws SQLException {
        if (auth.isToken(token)) {
            try {
                return auth.authenticateToken(token);
            } catch (TokenVerifier.Refused e) {
                response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"sluice\", error=\"invalid_token\"");
                throw ErrorCode.INVALID_TOKEN.error(e.getMessage());
            }
        }
        Optional<Principal> found = auth.authenticate(token);
        if (found.isEmpty()) {
            throw unauthorized(response, "the API key is not valid (unknown, revoked or mistyped)");
        }
        return found.get();
    }

    static boolean tokenMayUse(String method, String pattern) {
        return !pattern.startsWith("/api/") || TOKEN_ROUTES.contains(method + " " + pattern);
    }

    /**
     * Who calls an open route. {@code OPTIONS} that carries a valid key is that key, so tus discovery reports the
     * key's own {@code Tus-Max-Size}; a preflight carries none, and a bad key is ignored rather than refused (the
     * route needs no key). Other open routes are anonymous whatever they carry.
     */
    private Principal publicCaller(Request request) throws SQLException {
        if ("OPTIONS".equals(request.getMethod())) {
            String token = bearer(request);
            if (token != null) {
                if (auth.isToken(token)) {
                    try {
                        return auth.authenticateToken(token);
                    } catch (TokenVerifier.Refused e) {
                        return Principal.ANONYMOUS;
                    }
                }
                return auth.authenticate(token).orElse(Principal.ANONYMOUS);
            }
        }
        return Principal.ANONYMOUS;
    }

    /** The token of {@code Authorization: Bearer <token>}, or null. */
    static String bearer(Request request) {
        String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (h == null) {
            return null;
        }
        String v = h.strip();
        if (v.length() < 7 || !v.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return null;
        }
        String token = v.substring(7).strip();
        return token.isEmpty() ? null : token;
    }

    private static ApiException unauthorized(Response response, String message) {
        response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"sluice\"");
        return ErrorCode.UNAUTHORIZED.error(message);
    }
}
