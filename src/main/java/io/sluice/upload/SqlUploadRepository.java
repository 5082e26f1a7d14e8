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
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** {@link UploadRepository} in plain SQL that both SQLite and PostgreSQL accept. */
public final class SqlUploadRepository implements UploadRepository {

    private static final String COLUMNS =
            "id, filename, size, sha256, content_type, created_at, storage_key, client, metadata, owner";
    private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {
    };

    private final Database db;

    public SqlUploadRepository(Database db) {
        this.db = db;
    }

    @Override
    public void insert(Connection tx, Upload u) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement(
                "INSERT INTO uploads (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, u.id());
            ps.setString(2, u.filename());
            ps.setLong(3, u.size());
            ps.setString(4, u.sha256());
            ps.setString(5, u.contentType());
            ps.setLong(6, u.createdAt().toEpochMilli());
            ps.setString(7, u.storageKey());
            ps.setString(8, u.client());
            ps.setString(9, u.metadata().isEmpty() ? null : new String(Json.bytes(u.metadata()),
                    StandardCharsets.UTF_8));
            ps.setString(10, u.owner());
            ps.executeUpdate();
        }
    }

    @Override
    public Optional<Upload> find(String id) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM uploads WHERE id = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(map(rs)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public void deleteIn(Connection tx, String id) throws SQLException {
        try (PreparedStatement ps = tx.prepareStatement("DELETE FROM uploads WHERE id = ?")) {
            ps.setString(1, id);
            ps.executeUpdate();
        }
    }

    @Override
    public Optional<Upload> delete(String id) throws SQLException {
        return db.write(c -> {
            Optional<Upload> found;
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM uploads WHERE id = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    found = rs.next() ? Optional.of(map(rs)) : Optional.empty();
                }
            }
            if (found.isPresent()) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM uploads WHERE id = ?")) {
                    ps.setString(1, id);
                    ps.executeUpdate();
                }
            }
            return found;
        });
    }

    @Override
    public List<Upload> listBefore(String before, int limit) throws SQLException {
        return list(null, before, limit);
    }

    @Override
    public List<Upload> listOwnedBefore(String owner, String before, int limit) throws SQLException {
        return list(Objects.requireNonNull(owner, "owner"), before, limit);
    }

    /** Newest first, below {@code before} when set, only {@code owner}'s when set. */
    private List<Upload> list(String owner, String before, int limit) throws SQLException {
        return db.read(c -> {
            List<String> where = new ArrayList<>();
            if (owner != null) {
                where.add("owner = ?");
            }
            if (before != null) {
                where.add("id < ?");
            }
            String sql = "SELECT " + COLUMNS + " FROM uploads" + (where.isEmpty() ? "" : " WHERE "
                    + String.join(" AND ", where)) + " ORDER BY id DESC LIMIT ?";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (owner != null) {
                    ps.setString(i++, owner);
                }
                if (before != null) {
                    ps.setString(i++, before);
                }
                ps.setInt(i, limit);
                List<Upload> out = new ArrayList<>();
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
    public List<Upload> search(UploadQuery q, int limit) throws SQLException {
        String sql = searchSql(q);
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (q.owner() != null) {
                    ps.setString(i++, q.owner());
                }
                if (q.after() != null) {
                    switch (q.sort().column) {
                        case "filename" -> ps.setString(i++, q.after().name());
                        case "size" -> ps.setLong(i++, q.after().size());
                        default -> { }
                    }
                    ps.setString(i++, q.after().id());
                }
                if (q.nameContains() != null) {
                    ps.setString(i++, "%" + likeEscape(q.nameContains()) + "%");
                }
                if (q.type() != null) {
                    ps.setString(i++, q.type().endsWith("/*")
                            ? likeEscape(q.type().substring(0, q.type().length() - 1)) + "%" : q.type());
                }
                ps.setInt(i, limit);
                List<Upload> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(map(rs));
                    }
                }
                return out;
            }
        });
    }

    /**
     * The page query: owner equality first and the keyset as a row-value comparison, so that both SQLite and
     * PostgreSQL turn it into one range scan of the matching index (uploads_owner_* or uploads_*), in index order.
     */
    static String searchSql(UploadQuery q) {
        UploadQuery.Sort sort = q.sort();
        List<String> where = new ArrayList<>();
        if (q.owner() != null) {
            where.add("owner = ?");
        }
        if (q.after() != null) {
            String op = sort.descending ? "<" : ">";
            where.add(sort.byId() ? "id " + op + " ?" : "(" + sort.column + ", id) " + op + " (?, ?)");
        }
        if (q.nameContains() != null) {
            where.add("LOWER(filename) LIKE ? ESCAPE '\\'");
        }
        if (q.type() != null) {
            where.add(q.type().endsWith("/*") ? "content_type LIKE ? ESCAPE '\\'" : "content_type = ?");
        }
        String dir = sort.descending ? " DESC" : "";
        String order = sort.byId() ? "id" + dir : sort.column + dir + ", id" + dir;
        return "SELECT " + COLUMNS + " FROM uploads" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                + " ORDER BY " + order + " LIMIT ?";
    }

    private static String likeEscape(String s) {
        return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
    }

    @Override
    public Map<String, QueuedJob> latestJobs(List<String> uploadIds) throws SQLException {
        if (uploadIds.isEmpty()) {
            return Map.of();
        }
        String marks = String.join(", ", Collections.nCopies(uploadIds.size(), "?"));
        return db.read(c -> {
            // Ascending ids: a later job (a re-run) overwrites an earlier one of the same upload.
            try (PreparedStatement ps = c.prepareStatement("SELECT id, upload_id, state FROM jobs WHERE upload_id IN ("
                    + marks + ") ORDER BY id")) {
                int i = 1;
                for (String id : uploadIds) {
                    ps.setString(i++, id);
                }
                Map<String, QueuedJob> out = new HashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString("upload_id"), QueuedJob.of(rs.getString("id"), rs.getString("state")));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public long count() throws SQLException {
        return db.read(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT COUNT(*) FROM uploads")) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    private static Upload map(ResultSet rs) throws SQLException {
        String meta = rs.getString("metadata");
        Map<String, String> metadata;
        try {
            metadata = meta == null ? Map.of() : Json.mapper().readValue(meta, MAP);
        } catch (JsonProcessingException e) {
            throw new SQLException("corrupt metadata for upload " + rs.getString("id"), e);
        }
        return new Upload(
                rs.getString("id"),
                rs.getString("filename"),
                rs.getLong("size"),
                rs.getString("sha256"),
                rs.getString("content_type"),
                Instant.ofEpochMilli(rs.getLong("created_at")),
                rs.getString("storage_key"),
                rs.getString("client"),
                metadata,
                rs.getString("owner"));
    }
}
