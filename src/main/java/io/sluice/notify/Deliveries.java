package io.sluice.notify;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.sluice.api.Json;
import io.sluice.auth.Redaction;
import io.sluice.db.Database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The {@code webhook_deliveries} table. Times are this process's clock, in epoch millis. */
public final class Deliveries {

    public static final int MAX_ERROR_LENGTH = 500;
    /** Finished deliveries are kept this long, for the API. */
    public static final Duration RETENTION = Duration.ofDays(7);
    private static final String COLUMNS = "id, event_id, event_type, payload, urls, state, attempt, "
            + "next_attempt_at, last_url, last_status, last_error, delivered_at, created_at, updated_at";

    private final Database db;
    private final Clock clock;

    public Deliveries(Database db, Clock clock) {
        this.db = Objects.requireNonNull(db, "db");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    static void insert(Connection tx, long eventId, String type, String payload, String urlsJson, long now)
            throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("INSERT INTO webhook_deliveries (event_id, event_type, "
                + "payload, urls, state, attempt, next_attempt_at, created_at, updated_at) "
                + "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)")) {
            ps.setLong(1, eventId);
            ps.setString(2, type);
            ps.setString(3, payload);
            ps.setString(4, urlsJson);
            ps.setLong(5, now);
            ps.setLong(6, now);
            ps.setLong(7, now);
            ps.executeUpdate();
        }
    }

    /** Pending deliveries whose time has come and that no sender holds a claim on, oldest first. */
    public List<Delivery> due(int limit) throws SQLException {
        long now = clock.millis();
        return db.read(c -> query(c, "WHERE state = 'pending' AND next_attempt_at <= ? "
                + "AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?", ps -> {
            ps.setLong(1, now);
            ps.setLong(2, now);
            ps.setInt(3, limit);
        }));
    }

    /**
     * Claims the next attempt of {@code d} for {@code sender} until now + {@code duration}: true for exactly one
     * of several processes asking at once, and only while the delivery is still pending at the attempt that was
     * read and nobody else holds an unexpired claim. Only the claimant sends that attempt; a claim that ran out
     * (its process died while sending) can be taken again, which is the at-least-once case receivers dedupe.
     */
    public boolean claim(Delivery d, String sender, Duration duration) throws SQLException {
        long now = clock.millis();
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE webhook_deliveries SET claimed_by = ?, "
                    + "claimed_until = ? WHERE id = ? AND attempt = ? AND state = 'pending' "
                    + "AND (claimed_until IS NULL OR claimed_until < ?)")) {
                ps.setString(1, sender);
                ps.setLong(2, now + duration.toMillis());
                ps.setLong(3, d.id());
                ps.setInt(4, d.attempt());
                ps.setLong(5, now);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Newest first; {@code state} filters when not null; {@code before} is an exclusive id cursor (0: none). */
    public List<Delivery> list(Delivery.State state, long before, int limit) throws SQLException {
        return db.read(c -> query(c, "WHERE (? IS NULL OR state = ?) AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?",
                ps -> {
                    String s = state == null ? null : state.dbValue();
                    ps.setString(1, s);
                    ps.setString(2, s);
                    ps.setLong(3, before);
                    ps.setLong(4, before);
                    ps.setInt(5, limit);
                }));
    }

    public Optional<Delivery> find(long id) throws SQLException {
        return db.read(c -> query(c, "WHERE id = ?", ps -> ps.setLong(1, id)).stream().findFirst());
    }

    /** Gives up {@code sender}'s claim without counting an attempt (the sender is stopping mid-attempt). */
    public void unclaim(Delivery d, String sender) throws SQLException {
        db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE webhook_deliveries SET claimed_by = NULL, "
                    + "claimed_until = NULL WHERE id = ? AND claimed_by = ?")) {
                ps.setLong(1, d.id());
                ps.setString(2, sender);
                return ps.executeUpdate();
            }
        });
    }

    /**
     * Records one attempt: delivered (to {@code url}, with {@code status}), or failed for now and pending again at
     * {@code retryAt}, or failed for good when {@code retryAt} is null. Applies only to the attempt it counts
     * ({@code attempt} unchanged since it was read), so a redeliver during the attempt is not overwritten.
     */
    public boolean recordAttempt(Delivery d, boolean delivered, String url, Integer status, String error,
                                 Long retryAt) throws SQLException {
        long now = clock.millis();
        String state = delivered ? "delivered" : retryAt != null ? "pending" : "failed";
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE webhook_deliveries SET state = ?, "
                    + "attempt = attempt + 1, next_attempt_at = ?, last_url = ?, last_status = ?, last_error = ?, "
                    + "delivered_at = ?, updated_at = ?, claimed_by = NULL, claimed_until = NULL "
                    + "WHERE id = ? AND attempt = ? AND state = 'pending'")) {
                ps.setString(1, state);
                ps.setLong(2, retryAt != null ? retryAt : now);
                // The targets themselves stay in `urls` (needed to deliver); what records an attempt is masked.
                ps.setString(3, Redaction.redact(url));
                ps.setObject(4, status, Types.INTEGER);
                String masked = Redaction.redact(error);
                ps.setString(5, masked == null ? null
                        : masked.length() > MAX_ERROR_LENGTH ? masked.substring(0, MAX_ERROR_LENGTH) : masked);
                ps.setObject(6, delivered ? now : null, Types.BIGINT);
                ps.setLong(7, now);
                ps.setLong(8, d.id());
                ps.setInt(9, d.attempt());
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Makes a delivery pending again, due now, with a fresh series of attempts. Empty when there is no such id. */
    public Optional<Delivery> redeliver(long id) throws SQLException {
        long now = clock.millis();
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE webhook_deliveries SET state = 'pending', "
                    + "attempt = 0, next_attempt_at = ?, updated_at = ?, claimed_by = NULL, claimed_until = NULL "
                    + "WHERE id = ?")) {
                ps.setLong(1, now);
                ps.setLong(2, now);
                ps.setLong(3, id);
                ps.executeUpdate();
            }
            return query(c, "WHERE id = ?", ps -> ps.setLong(1, id)).stream().findFirst();
        });
    }

    /** Deletes delivered and failed deliveries last changed more than {@link #RETENTION} ago. */
    public int prune() throws SQLException {
        long cutoff = clock.millis() - RETENTION.toMillis();
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM webhook_deliveries "
                    + "WHERE state IN ('delivered', 'failed') AND updated_at < ?")) {
                ps.setLong(1, cutoff);
                return ps.executeUpdate();
            }
        });
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private static List<Delivery> query(Connection c, String where, Binder binder) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM webhook_deliveries " + where)) {
            binder.bind(ps);
            List<Delivery> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(map(rs));
                }
            }
            return out;
        }
    }

    private static Delivery map(ResultSet rs) throws SQLException {
        List<String> urls;
        try {
            urls = Json.mapper().readValue(rs.getString("urls"), new TypeReference<List<String>>() { });
        } catch (JsonProcessingException e) {
            throw new SQLException("delivery " + rs.getLong("id") + " has unreadable urls", e);
        }
        int status = rs.getInt("last_status");
        Integer lastStatus = rs.wasNull() ? null : status;
        long delivered = rs.getLong("delivered_at");
        Long deliveredAt = rs.wasNull() ? null : delivered;
        return new Delivery(rs.getLong("id"), rs.getLong("event_id"), rs.getString("event_type"),
                rs.getString("payload"), urls, Delivery.State.fromDb(rs.getString("state")), rs.getInt("attempt"),
                rs.getLong("next_attempt_at"), rs.getString("last_url"), lastStatus, rs.getString("last_error"),
                deliveredAt, rs.getLong("created_at"), rs.getLong("updated_at"));
    }
}
