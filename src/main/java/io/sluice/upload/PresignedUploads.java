package io.sluice.upload;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.sluice.api.Json;
import io.sluice.db.Database;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code presigned_uploads} table. Every change to a pending row that involves its blob is made under the
 * row's lock ({@link #tryLock}), which works across processes: a conditional UPDATE that exactly one caller wins.
 */
final class PresignedUploads {

    private static final String COLUMNS = "id, filename, size, content_type, pipeline, storage, state, client, "
            + "job_id, lock_owner, lock_until, expires_at, created_at, completed_at, owner, metadata";

    private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {
    };

    private final Database db;

    PresignedUploads(Database db) {
        this.db = Objects.requireNonNull(db, "db");
    }

    void insert(PresignedUpload p) throws SQLException {
        db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO presigned_uploads (" + COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, p.id());
                ps.setString(2, p.filename());
                ps.setLong(3, p.size());
                ps.setString(4, p.contentType());
                ps.setString(5, p.pipeline());
                ps.setString(6, p.storage().dbValue());
                ps.setString(7, p.state().dbValue());
                ps.setString(8, p.client());
                ps.setString(9, p.jobId());
                ps.setString(10, p.lockOwner());
                ps.setObject(11, millis(p.lockUntil()), Types.BIGINT);
                ps.setLong(12, p.expiresAt().toEpochMilli());
                ps.setLong(13, p.createdAt().toEpochMilli());
                ps.setObject(14, millis(p.completedAt()), Types.BIGINT);
                ps.setString(15, p.owner());
                ps.setString(16, p.metadata().isEmpty() ? null
                        : new String(Json.bytes(p.metadata()), StandardCharsets.UTF_8));
                return ps.executeUpdate();
            }
        });
    }

    Optional<PresignedUpload> find(String id) throws SQLException {
        return db.read(c -> query(c, "WHERE id = ?", ps -> ps.setString(1, id)).stream().findFirst());
    }

    /**
     * Takes the lock of a pending row for {@code owner} until {@code until}: true for exactly one caller while the
     * row is pending and unlocked (or its lock ran out).
     */
    boolean tryLock(String id, String owner, Instant now, Instant until) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE presigned_uploads SET lock_owner = ?, "
                    + "lock_until = ? WHERE id = ? AND state = 'pending' AND (lock_until IS NULL OR lock_until < ?)")) {
                ps.setString(1, owner);
                ps.setLong(2, until.toEpochMilli());
                ps.setString(3, id);
                ps.setLong(4, now.toEpochMilli());
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Gives up {@code owner}'s lock (a no-op when the row is completed, gone, or locked by someone else). */
    void unlock(String id, String owner) throws SQLException {
        db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE presigned_uploads SET lock_owner = NULL, "
                    + "lock_until = NULL WHERE id = ? AND lock_owner = ?")) {
                ps.setString(1, id);
                ps.setString(2, owner);
                return ps.executeUpdate();
            }
        });
    }

    /** pending → completed inside {@code tx}, only while {@code owner} holds the lock. False when fenced out. */
    boolean complete(Connection tx, String id, String owner, String jobId, Instant now) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("UPDATE presigned_uploads SET state = 'completed', "
                + "job_id = ?, completed_at = ?, lock_owner = NULL, lock_until = NULL "
                + "WHERE id = ? AND state = 'pending' AND lock_owner = ?")) {
            ps.setString(1, jobId);
            ps.setLong(2, now.toEpochMilli());
            ps.setString(3, id);
            ps.setString(4, owner);
            return ps.executeUpdate() == 1;
        }
    }

    /** Pending rows whose URL expired, oldest first. */
    List<PresignedUpload> expired(Instant now, int limit) throws SQLException {
        return db.read(c -> query(c, "WHERE state = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?", ps -> {
            ps.setLong(1, now.toEpochMilli());
            ps.setInt(2, limit);
        }));
    }

    /** Deletes a row {@code owner} holds locked. */
    boolean deleteLocked(String id, String owner) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM presigned_uploads "
                    + "WHERE id = ? AND lock_owner = ?")) {
                ps.setString(1, id);
                ps.setString(2, owner);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /** Deletes completed rows completed before {@code cutoff} (their uploads live on as upload records). */
    int pruneCompleted(Instant cutoff) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM presigned_uploads "
                    + "WHERE state = 'completed' AND completed_at < ?")) {
                ps.setLong(1, cutoff.toEpochMilli());
                return ps.executeUpdate();
            }
        });
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private static List<PresignedUpload> query(Connection c, String where, Binder binder) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM presigned_uploads " + where)) {
            binder.bind(ps);
            List<PresignedUpload> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new PresignedUpload(rs.getString("id"), rs.getString("filename"), rs.getLong("size"),
                            rs.getString("content_type"), rs.getString("pipeline"),
                            PresignedUpload.Storage.fromDb(rs.getString("storage")),
                            PresignedUpload.State.fromDb(rs.getString("state")), rs.getString("client"),
                            rs.getString("job_id"), rs.getString("lock_owner"), instant(rs, "lock_until"),
                            Instant.ofEpochMilli(rs.getLong("expires_at")),
                            Instant.ofEpochMilli(rs.getLong("created_at")), instant(rs, "completed_at"),
                            rs.getString("owner"), metadata(rs)));
                }
            }
            return out;
        }
    }

    /** The row's metadata; null (a row made before the column existed) is none. */
    private static Map<String, String> metadata(ResultSet rs) throws SQLException {
        String json = rs.getString("metadata");
        try {
            return json == null ? Map.of() : Json.mapper().readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new SQLException("corrupt metadata for presigned upload " + rs.getString("id"), e);
        }
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(v);
    }

    private static Long millis(Instant i) {
        return i == null ? null : i.toEpochMilli();
    }
}
