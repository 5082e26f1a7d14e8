package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.db.Database;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;

/**
 * What an API key's quota counts: the bytes of its stored uploads plus, for its unfinished resumable uploads, the
 * declared length (or the bytes received so far while the length is deferred), and its finished partial uploads
 * (not yet concatenated, so not yet stored uploads).
 *
 * <p>Checked before bytes are stored; concurrent uploads of one key may together pass the check, so a key can go
 * over its quota by at most what its requests in flight carry.
 */
public final class Usage {

    private final Database db;

    public Usage(Database db) {
        this.db = db;
    }

    /** Bytes counted against {@code owner}'s quota now. */
    public long of(String owner) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT "
                    + "(SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner = ?) + "
                    + "(SELECT COALESCE(SUM(COALESCE(upload_length, upload_offset)), 0) FROM resumable_uploads "
                    + "WHERE owner = ? AND (state IN ('active', 'finishing') OR (state = 'completed' AND concat = 'partial')))")) {
                ps.setString(1, owner);
                ps.setString(2, owner);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    /**
     * Bytes {@code owner} may still store under {@code quota}; {@link Long#MAX_VALUE} without a quota. Throws 413
     * {@code quota_exceeded} when {@code declared} more bytes (-1: unknown) would not fit.
     */
    public long remaining(String owner, Long quota, long declared) throws SQLException {
        if (quota == null || owner == null) {
            return Long.MAX_VALUE;
        }
        long used = of(owner);
        long left = Math.max(0, quota - used);
        if (declared > left || left == 0) {
            throw exceeded(quota, used);
        }
        return left;
    }

    public static ApiException exceeded(long quota, long used) {
        return ErrorCode.QUOTA_EXCEEDED.error("this API key's quota of " + quota + " bytes would be "
                + "exceeded (" + used + " bytes in use)", Map.of("quota", quota, "used", used));
    }
}
