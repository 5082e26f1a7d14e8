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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@link ResumableRepository} in SQL both SQLite and PostgreSQL accept. A final concatenation stores its partials
 * as {@code final:<id> <id> ...} in the {@code concat} column.
 */
public final class SqlResumableRepository implements ResumableRepository {

    private static final String COLUMNS = "id, upload_length, upload_offset, filename, metadata, raw_metadata, concat, "
            + "state, client, expires_at, created_at, owner";
    private static final TypeReference<LinkedHashMap<String, String>> MAP = new TypeReference<>() {
    };

    private final Database db;

    public SqlResumableRepository(Database db) {
        this.db = db;
    }

    @Override
    public void insert(Connection tx, Resumable r) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("INSERT INTO resumable_uploads (" + COLUMNS
                + ", updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, r.id());
            setLength(ps, 2, r.length());
            ps.setLong(3, r.offset());
            ps.setString(4, r.filename());
            ps.setString(5, r.metadata().isEmpty() ? null : new String(Json.bytes(r.metadata()), StandardCharsets.UTF_8));
            ps.setString(6, r.rawMetadata());
            ps.setString(7, concatColumn(r));
            ps.setString(8, r.state().name().toLowerCase(Locale.ROOT));
            ps.setString(9, r.client());
            setInstant(ps, 10, r.expiresAt());
            ps.setLong(11, r.createdAt().toEpochMilli());
            ps.setString(12, r.owner());
            ps.setLong(13, System.currentTimeMillis());
            ps.executeUpdate();
        }
    }

    @Override
    public Optional<Resumable> find(String id) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM resumable_uploads WHERE id = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(map(rs)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public void update(Connection tx, Resumable r) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("UPDATE resumable_uploads SET upload_offset = ?, "
                + "upload_length = ?, state = ?, expires_at = ?, updated_at = ? WHERE id = ? AND upload_offset <= ?")) {
            ps.setLong(1, r.offset());
            setLength(ps, 2, r.length());
            ps.setString(3, r.state().name().toLowerCase(Locale.ROOT));
            setInstant(ps, 4, r.expiresAt());
            ps.setLong(5, System.currentTimeMillis());
            ps.setString(6, r.id());
            ps.setLong(7, r.offset());
            ps.executeUpdate();
        }
    }

    @Override
    public void delete(Connection tx, String id) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("DELETE FROM resumable_uploads WHERE id = ?")) {
            ps.setString(1, id);
            ps.executeUpdate();
        }
    }

    @Override
    public boolean complete(Connection tx, Resumable r) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("UPDATE resumable_uploads SET upload_offset = ?, "
                + "upload_length = ?, state = 'completed', expires_at = ?, updated_at = ? "
                + "WHERE id = ? AND state IN ('active', 'finishing')")) {
            ps.setLong(1, r.offset());
            setLength(ps, 2, r.length());
            setInstant(ps, 3, r.expiresAt());
            ps.setLong(4, System.currentTimeMillis());
            ps.setString(5, r.id());
            return ps.executeUpdate() == 1;
        }
    }

    @Override
    public List<Resumable> finishing(int limit) throws SQLException {
        return db.read(c -> {
            // Found through the (state, expires_at) index.
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM resumable_uploads "
                    + "WHERE state = 'finishing' ORDER BY created_at LIMIT ?")) {
                ps.setInt(1, limit);
                List<Resumable> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(map(rs));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public List<Resumable> expired(Instant now, int limit) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM resumable_uploads "
                    + "WHERE state IN ('active', 'completed') AND expires_at IS NOT NULL AND expires_at < ? "
                    + "ORDER BY expires_at LIMIT ?")) {
                ps.setLong(1, now.toEpochMilli());
                ps.setInt(2, limit);
                List<Resumable> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(map(rs));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public int pruneTombstones(Instant before) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM resumable_uploads WHERE state = 'expired' AND updated_at < ?")) {
                ps.setLong(1, before.toEpochMilli());
                return ps.executeUpdate();
            }
        });
    }

    private static String concatColumn(Resumable r) {
        return switch (r.concat()) {
            case NONE -> null;
            case PARTIAL -> "partial";
            case FINAL -> "final:" + String.join(" ", r.partials());
        };
    }

    private static void setLength(PreparedStatement ps, int i, long length) throws SQLException {
        if (length == Resumable.DEFERRED) {
            ps.setNull(i, Types.BIGINT);
        } else {
            ps.setLong(i, length);
        }
    }

    private static void setInstant(PreparedStatement ps, int i, Instant t) throws SQLException {
        if (t == null) {
            ps.setNull(i, Types.BIGINT);
        } else {
            ps.setLong(i, t.toEpochMilli());
        }
    }

    private static Resumable map(ResultSet rs) throws SQLException {
        long length = rs.getLong("upload_length");
        if (rs.wasNull()) {
            length = Resumable.DEFERRED;
        }
        String metadataJson = rs.getString("metadata");
        Map<String, String> metadata;
        try {
            metadata = metadataJson == null ? Map.of() : Json.mapper().readValue(metadataJson, MAP);
        } catch (JsonProcessingException e) {
            throw new SQLException("unreadable metadata of resumable upload " + rs.getString("id"), e);
        }
        String concat = rs.getString("concat");
        Resumable.Concat kind = Resumable.Concat.NONE;
        List<String> partials = List.of();
        if ("partial".equals(concat)) {
            kind = Resumable.Concat.PARTIAL;
        } else if (concat != null && concat.startsWith("final:")) {
            kind = Resumable.Concat.FINAL;
            partials = Arrays.asList(concat.substring("final:".length()).split(" "));
        }
        long expires = rs.getLong("expires_at");
        Instant expiresAt = rs.wasNull() ? null : Instant.ofEpochMilli(expires);
        return new Resumable(rs.getString("id"), length, rs.getLong("upload_offset"), rs.getString("filename"),
                metadata, rs.getString("raw_metadata"), kind, partials,
                Resumable.State.valueOf(rs.getString("state").toUpperCase(Locale.ROOT)), rs.getString("client"),
                expiresAt, Instant.ofEpochMilli(rs.getLong("created_at")), rs.getString("owner"));
    }
}
