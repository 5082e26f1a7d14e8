package io.sluice.auth;

import io.sluice.db.Database;
import io.sluice.upload.IdGenerator;

import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code api_keys} table. Used by the server (through {@link Authenticator}'s cache) and by the
 * {@code sluice keys} command, which works on the database directly, with or without a running server.
 */
public final class ApiKeys {

    private static final String COLUMNS = "id, name, hash, prefix, admin, max_file_size, quota_bytes, "
            + "rate_per_second, created_at, revoked_at, last_used_at";

    private final Database db;
    private final IdGenerator ids;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public ApiKeys(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
        this.ids = new IdGenerator(clock);
    }

    /** Creates a key; the returned secret is the only copy of the key. */
    public ApiKey.Created create(ApiKey.Spec spec) throws SQLException {
        String id = ids.next();
        String secret = KeySecret.generate(id, random);
        ApiKey key = new ApiKey(id, spec.name(), KeySecret.displayPrefix(secret), spec.admin(), spec.maxFileSize(),
                spec.quotaBytes(), spec.ratePerSecond(), clock.instant().truncatedTo(ChronoUnit.MILLIS),
                null, null, KeySecret.hash(secret));
        db.write(tx -> {
            try (PreparedStatement ps = tx.prepareStatement("INSERT INTO api_keys (" + COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)")) {
                ps.setString(1, key.id());
                ps.setString(2, key.name());
                ps.setString(3, key.hash());
                ps.setString(4, key.prefix());
                ps.setInt(5, key.admin() ? 1 : 0);
                setLong(ps, 6, key.maxFileSize());
                setLong(ps, 7, key.quotaBytes());
                if (key.ratePerSecond() == null) {
                    ps.setNull(8, Types.INTEGER);
                } else {
                    ps.setInt(8, key.ratePerSecond());
                }
                ps.setLong(9, key.createdAt().toEpochMilli());
                ps.executeUpdate();
            }
            return null;
        });
        return new ApiKey.Created(key, secret);
    }

    /** Every key, revoked ones included, oldest first. */
    public List<ApiKey> list() throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys ORDER BY id");
                 ResultSet rs = ps.executeQuery()) {
                List<ApiKey> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(map(rs));
                }
                return out;
            }
        });
    }

    public Optional<ApiKey> find(String id) throws SQLException {
        if (!IdGenerator.looksLikeId(id)) {
            return Optional.empty();
        }
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys WHERE id = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(map(rs)) : Optional.empty();
                }
            }
        });
    }

    /**
     * Revokes a key: it stops working within {@link Authenticator#CACHE_TTL}. Returns the key, empty when there is
     * no such key. Revoking a revoked key changes nothing.
     */
    public Optional<ApiKey> revoke(String id) throws SQLException {
        if (!IdGenerator.looksLikeId(id)) {
            return Optional.empty();
        }
        long now = clock.millis();
        db.write(tx -> {
            try (PreparedStatement ps = tx.prepareStatement(
                    "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
                ps.setLong(1, now);
                ps.setString(2, id);
                return ps.executeUpdate();
            }
        });
        return find(id);
    }

    /** Whether any key was ever created (revoked ones count: revoking every key must not reopen the server). */
    public boolean any() throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM api_keys LIMIT 1");
                 ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        });
    }

    /** Records that the key was used now (called at most once per cache period per key). */
    void touch(String id) throws SQLException {
        long now = clock.millis();
        db.write(tx -> {
            try (PreparedStatement ps = tx.prepareStatement("UPDATE api_keys SET last_used_at = ? WHERE id = ?")) {
                ps.setLong(1, now);
                ps.setString(2, id);
                return ps.executeUpdate();
            }
        });
    }

    private static void setLong(PreparedStatement ps, int i, Long v) throws SQLException {
        if (v == null) {
            ps.setNull(i, Types.BIGINT);
        } else {
            ps.setLong(i, v);
        }
    }

    private static Long getLong(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    private static Instant getInstant(ResultSet rs, String column) throws SQLException {
        Long v = getLong(rs, column);
        return v == null ? null : Instant.ofEpochMilli(v);
    }

    private static ApiKey map(ResultSet rs) throws SQLException {
        Long rate = getLong(rs, "rate_per_second");
        return new ApiKey(rs.getString("id"), rs.getString("name"), rs.getString("prefix"), rs.getInt("admin") != 0,
                getLong(rs, "max_file_size"), getLong(rs, "quota_bytes"), rate == null ? null : rate.intValue(),
                getInstant(rs, "created_at"), getInstant(rs, "revoked_at"), getInstant(rs, "last_used_at"),
                rs.getString("hash"));
    }

}
