package io.sluice.auth;

import io.sluice.api.Grant;
import io.sluice.db.Database;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The {@code token_revocations} table: per subject, the instant before which (inclusive) its tokens are refused.
 * Looked up per subject and cached for {@link Authenticator#CACHE_TTL}, like keys, so a revocation made on another
 * node (PostgreSQL) takes effect within that period, and at once on the node that made it.
 */
public final class TokenRevocations {

    private record Cached(Optional<Instant> revokedAt, long loadedAtNanos) {
    }

    private final Database db;
    private final Clock clock;
    private final LongSupplier nanos;
    private final Map<String, Cached> bySubject = new ConcurrentHashMap<>();

    public TokenRevocations(Database db, Clock clock, LongSupplier nanos) {
        this.db = db;
        this.clock = clock;
        this.nanos = nanos;
    }

    /** Refuses every token of {@code subject} issued up to now; returns the instant recorded. */
    public Instant revoke(String subject) throws SQLException {
        Instant now = clock.instant();
        long millis = now.toEpochMilli();
        db.write(tx -> {
            int updated;
            try (PreparedStatement ps = tx.prepareStatement(
                    "UPDATE token_revocations SET revoked_at = ? WHERE subject = ? AND revoked_at < ?")) {
                ps.setLong(1, millis);
                ps.setString(2, subject);
                ps.setLong(3, millis);
                updated = ps.executeUpdate();
            }
            if (updated == 0) {
                try (PreparedStatement ps = tx.prepareStatement("INSERT INTO token_revocations (subject, revoked_at)"
                        + " VALUES (?, ?) ON CONFLICT (subject) DO NOTHING")) {
                    ps.setString(1, subject);
                    ps.setLong(2, millis);
                    ps.executeUpdate();
                }
            }
            return null;
        });
        bySubject.remove(subject);
        return Instant.ofEpochMilli(millis);
    }

    /** Whether the token of {@code grant} was issued no later than its subject's last revocation. */
    public boolean revoked(Grant grant) throws SQLException {
        Optional<Instant> at = revokedAt(grant.subject());
        return at.isPresent() && !grant.issuedAt().isAfter(at.get());
    }

    private Optional<Instant> revokedAt(String subject) throws SQLException {
        long now = nanos.getAsLong();
        Cached c = bySubject.get(subject);
        if (c != null && now - c.loadedAtNanos() <= Authenticator.CACHE_TTL.toNanos()) {
            return c.revokedAt();
        }
        Optional<Instant> at = db.read(conn -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT revoked_at FROM token_revocations WHERE subject = ?")) {
                ps.setString(1, subject);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(Instant.ofEpochMilli(rs.getLong(1))) : Optional.<Instant>empty();
                }
            }
        });
        if (bySubject.size() >= Authenticator.MAX_CACHED) {
            bySubject.clear();
        }
        bySubject.put(subject, new Cached(at, now));
        return at;
    }
}
