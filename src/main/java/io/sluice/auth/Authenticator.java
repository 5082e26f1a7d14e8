package io.sluice.auth;

import io.sluice.api.Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.SQLException;
import io.sluice.config.JwtConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Turns a presented key into a {@link Principal}, and decides open mode.
 *
 * <p>Keys are looked up by the id inside the key and cached for {@link #CACHE_TTL}, so a busy client costs one
 * database read per period, and a revocation (by the CLI in another process, or the API) takes effect within it.
 *
 * <p>Open mode: no key was ever created and the server is bound to a loopback address. Then every request is an
 * admin without a key ({@link Principal#OPEN}), which keeps the single-user laptop setup working with no
 * configuration. Creating the first key ends open mode within {@link #CACHE_TTL}; a server bound to any other
 * address is never open, and neither is one that accepts upload tokens ({@code auth.jwt}): a token's claims would
 * mean nothing if a page could simply leave the token out.
 */
public final class Authenticator {

    private static final Logger log = LoggerFactory.getLogger(Authenticator.class);
    /** How long a key lookup (and the "are there keys" answer) is reused. */
    public static final Duration CACHE_TTL = Duration.ofSeconds(2);
    /** A bound on cached lookups: unknown ids presented by a scanner must not grow memory without limit. */
    static final int MAX_CACHED = 10_000;

    private record Cached(Optional<ApiKey> key, long loadedAtNanos) {
    }

    private final ApiKeys keys;
    private final TokenVerifier tokens;
    private final TokenRevocations revocations;
    private final boolean loopback;
    private final LongSupplier nanos;
    private final Map<String, Cached> byId = new ConcurrentHashMap<>();
    private volatile long anyCheckedAt;
    private volatile boolean anyKeys;
    private volatile boolean anyChecked;
    private volatile Boolean announcedOpen;

    /** @param host {@code server.host}: open mode needs it to be a loopback address */
    public Authenticator(ApiKeys keys, String host, LongSupplier nanos) {
        this(keys, null, null, host, nanos);
    }

    /**
     * @param tokens      verifies application-signed upload tokens; null or not {@link TokenVerifier#enabled()}:
     *                    JWTs are not accepted (a JWT bearer is then an unknown key)
     * @param revocations the subjects' revocations (needed with {@code tokens})
     */
    public Authenticator(ApiKeys keys, TokenVerifier tokens, TokenRevocations revocations, String host,
                         LongSupplier nanos) {
        this.keys = keys;
        this.tokens = tokens != null && tokens.enabled() ? tokens : null;
        this.revocations = revocations;
        this.loopback = isLoopback(host);
        this.nanos = nanos;
    }

    /** Whether a bearer is to be verified as an upload token rather than looked up as an API key. */
    public boolean isToken(String presented) {
        return tokens != null && TokenVerifier.looksLikeJwt(presented);
    }

    /** The caller an upload token stands for, or why it is refused (bad signature, expired, revoked, ...). */
    public Principal authenticateToken(String presented) throws TokenVerifier.Refused, SQLException {
        Principal p = tokens.verify(presented);
        if (revocations.revoked(p.grant())) {
            throw new TokenVerifier.Refused("the tokens of this subject issued before "
                    + "its last revocation are refused; the application must sign a new one");
        }
        return p;
    }

    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Whether requests need no key now; logs the mode at the first call and whenever it changes. */
    public boolean openMode() throws SQLException {
        long now = nanos.getAsLong();
        if (!anyChecked || now - anyCheckedAt > CACHE_TTL.toNanos()) {
            if (!anyKeys) {
                // Once a key exists it always will (revoked keys keep their row): no need to ask again.
                anyKeys = keys.any();
            }
            anyCheckedAt = now;
            anyChecked = true;
        }
        boolean open = loopback && !anyKeys && tokens == null;
        announce(open);
        return open;
    }

    private void announce(boolean open) {
        Boolean before = announcedOpen;
        if (before != null && before == open) {
            return;
        }
        announcedOpen = open;
        if (open) {
            // INFO, not WARN: this is the default single-user setup, and nothing but loopback can reach it.
            log.info("Open mode: no API keys exist and the server is bound to loopback, so every request is served "
                    + "as admin without a key. Create one with 'sluice keys create --name NAME --admin' to require keys.");
        } else if (tokens != null && !anyKeys) {
            log.info("Upload tokens configured (auth.jwt), so open mode is off: requests need an upload token or an "
                    + "API key (health probes, relays and static files stay open). No API key exists yet: create an "
                    + "admin key with 'sluice keys create --name NAME --admin'.");
        } else if (loopback || anyKeys) {
            log.info("API keys required: requests need 'Authorization: Bearer <key>' (health probes, relays and "
                    + "static files stay open)");
        } else {
            log.warn("API keys required but none exist, and the server is not bound to loopback: every request but "
                    + "health probes, relays and static files is refused with 401. Create a key with "
                    + "'sluice keys create --name NAME --admin'.");
        }
    }

    /** The caller a presented key stands for; empty for a malformed, unknown or revoked key. */
    public Optional<Principal> authenticate(String presented) throws SQLException {
        Optional<String> id = KeySecret.idOf(presented);
        if (id.isEmpty()) {
            return Optional.empty();
        }
        Optional<ApiKey> key = lookup(id.get());
        if (key.isEmpty() || key.get().revoked() || !KeySecret.matches(presented, key.get().hash())) {
            return Optional.empty();
        }
        return Optional.of(key.get().principal());
    }

    /**
     * Whether the caller of a request that is still running (an event stream) may go on: its key still exists and
     * is not revoked. Asked about once a second per stream, answered through the same cache as
     * {@link #authenticate}, so a revocation by another process or node is seen within {@link #CACHE_TTL} and a
     * thousand streams of one key cost one database read per period. A caller without a key (open mode, a public
     * route) has nothing to revoke. When the database cannot be read the caller goes on: a short database outage
     * must not cut every stream at once, and the next check decides.
     */
    public boolean stillValid(Principal caller) {
        if (caller.grant() != null) {
            return stillValidToken(caller);
        }
        if (caller.keyId() == null) {
            return true;
        }
        try {
            Optional<ApiKey> key = lookup(caller.keyId());
            return key.isPresent() && !key.get().revoked();
        } catch (SQLException e) {
            log.debug("could not re-check key {}: {}", caller.keyId(), e.toString());
            return true;
        }
    }

    /** A token's stream goes on until the token expires (with the skew) or its subject is revoked. */
    private boolean stillValidToken(Principal caller) {
        if (!caller.grant().expiresAt().plus(JwtConfig.CLOCK_SKEW).isAfter(Instant.now())) {
            return false;
        }
        try {
            return !revocations.revoked(caller.grant());
        } catch (SQLException e) {
            log.debug("could not re-check the revocation of a token: {}", e.toString());
            return true;
        }
    }

    private Optional<ApiKey> lookup(String id) throws SQLException {
        long now = nanos.getAsLong();
        Cached c = byId.get(id);
        if (c != null && now - c.loadedAtNanos() <= CACHE_TTL.toNanos()) {
            return c.key();
        }
        Optional<ApiKey> key = keys.find(id);
        if (byId.size() >= MAX_CACHED) {
            byId.clear();
        }
        byId.put(id, new Cached(key, now));
        if (key.isPresent() && !key.get().revoked()) {
            try {
                keys.touch(id);
            } catch (SQLException e) {
                log.debug("could not record the use of key {}: {}", id, e.toString());
            }
        }
        return key;
    }

    /** Forgets cached lookups, so a change made through this process (revoke, create) applies at once. */
    public void invalidate() {
        byId.clear();
        anyChecked = false;
    }
}
