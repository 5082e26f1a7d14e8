package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Grant;
import io.sluice.api.Principal;
import io.sluice.config.JwtConfig;
import io.sluice.db.Database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The claims of an upload token that {@link Principal} cannot answer alone: its {@code allowedTypes} (which narrow
 * {@code limits.allowedTypes}, by the same {@link TypePatterns} rule) and its {@code maxUploads}, counted in the
 * {@code token_uploads} table per token id ({@link Grant#tokenId()}: its {@code jti}, else its SHA-256), so every
 * node sharing the database counts the same uploads. A caller without a token passes every check here.
 *
 * <p>Direct uploads count in the transaction that records them (a refused or failed upload costs nothing);
 * resumable and presigned uploads count when they are created, in a transaction of their own.
 */
public final class TokenLimits {

    private final Database db;
    private final Clock clock;

    public TokenLimits(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    /** 415 {@code type_not_allowed} when the caller's token does not allow files of {@code contentType}. */
    public static void checkType(Principal caller, String contentType) {
        Grant g = caller.grant();
        if (g == null || g.allowedTypes().isEmpty() || contentType == null) {
            return;
        }
        if (!new TypePatterns(g.allowedTypes()).accepts(contentType)) {
            throw ErrorCode.TYPE_NOT_ALLOWED.error("files of type " + contentType
                    + " are not accepted with this token", Map.of("detectedType", contentType,
                    "allowedTypes", g.allowedTypes()));
        }
    }

    /**
     * The metadata a resumable upload (tus, IETF draft) created by {@code caller} records: the token's values over
     * the client's, and the token's forced pipeline as the {@code pipeline} field the finish reads. The declared
     * {@code filetype} is checked against the token's types here, before any byte is sent; the types themselves
     * travel with the upload ({@link TokenTypes}), so that the type detected from its bytes is checked too.
     */
    public static Map<String, String> resumableMetadata(Principal caller, Map<String, String> clientMetadata) {
        Map<String, String> metadata = TokenTypes.strip(clientMetadata);
        Grant g = caller.grant();
        if (g == null) {
            return metadata;
        }
        Map<String, String> merged = new LinkedHashMap<>(caller.metadata(metadata));
        if (g.pipeline() != null) {
            merged.put(UploadProcessing.PIPELINE_FIELD, g.pipeline());
        }
        String declared = merged.get("filetype");
        if (declared != null && !declared.isBlank()) {
            checkType(caller, declared.strip());
        }
        return TokenTypes.carry(merged, g.allowedTypes());
    }

    /** 403 {@code forbidden} before any byte is read when the token has no upload left. */
    public void checkRoom(Principal caller) throws SQLException {
        Grant g = caller.grant();
        if (g == null || g.maxUploads() == null) {
            return;
        }
        int created = db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT created FROM token_uploads WHERE token_id = ?")) {
                ps.setString(1, g.tokenId());
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getInt(1) : 0;
                }
            }
        });
        if (created >= g.maxUploads()) {
            throw exhausted(g);
        }
    }

    /** Counts {@code n} uploads against the caller's token in its own transaction; 403 when they do not fit. */
    public void count(Principal caller, int n) throws SQLException {
        if (caller.grant() == null || caller.grant().maxUploads() == null) {
            return;
        }
        db.write(tx -> {
            count(tx, caller, n);
            return null;
        });
    }

    /** Counts {@code n} uploads against the caller's token in {@code tx}; 403 {@code forbidden} when over. */
    public void count(Connection tx, Principal caller, int n) throws SQLException {
        Grant g = caller.grant();
        if (g == null || g.maxUploads() == null) {
            return;
        }
        // Rows of expired tokens can no longer be asked about: dropped here (indexed), so the table holds only the
        // tokens that may still upload.
        try (PreparedStatement ps = tx.prepareStatement("DELETE FROM token_uploads WHERE expires_at < ?")) {
            ps.setLong(1, clock.instant().minus(JwtConfig.CLOCK_SKEW).toEpochMilli());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = tx.prepareStatement("INSERT INTO token_uploads (token_id, subject, created, "
                + "expires_at) VALUES (?, ?, 0, ?) ON CONFLICT (token_id) DO NOTHING")) {
            ps.setString(1, g.tokenId());
            ps.setString(2, g.subject());
            ps.setLong(3, g.expiresAt().toEpochMilli());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = tx.prepareStatement(
                "UPDATE token_uploads SET created = created + ? WHERE token_id = ? AND created + ? <= ?")) {
            ps.setInt(1, n);
            ps.setString(2, g.tokenId());
            ps.setInt(3, n);
            ps.setInt(4, g.maxUploads());
            if (ps.executeUpdate() == 0) {
                throw exhausted(g);
            }
        }
    }

    private static ApiException exhausted(Grant g) {
        return ErrorCode.FORBIDDEN.error("this token may create at most " + g.maxUploads()
                + " uploads (sluice.maxUploads)", Map.of("limit", g.maxUploads()));
    }
}
