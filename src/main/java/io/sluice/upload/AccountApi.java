package io.sluice.upload;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Principal;
import io.sluice.api.Routes;
import io.sluice.db.Database;
import org.eclipse.jetty.server.Request;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What a caller needs to know before and around its uploads: the limits that apply to it ({@code GET
 * /api/v1/limits}, so a client can refuse a file before sending a byte) and its unfinished resumable uploads
 * ({@code GET /api/v1/resumable}, so they can be resumed elsewhere or removed with the tus {@code DELETE}).
 */
public final class AccountApi {

    private final UploadService uploads;
    private final Database db;
    private final String tusBasePath;

    /** @param tusBasePath where resumable uploads live ({@code /files/}): each listed one's URL is this plus its id */
    public AccountApi(UploadService uploads, Database db, String tusBasePath) {
        this.uploads = uploads;
        this.db = db;
        this.tusBasePath = tusBasePath.endsWith("/") ? tusBasePath : tusBasePath + "/";
    }

    public void register(Routes routes) {
        routes.add("GET", "/api/v1/limits", this::limits);
        routes.add("GET", "/api/v1/resumable", this::resumable);
    }

    /**
     * @param maxFileSize       the largest file this caller may store (its key's own limit when it has one)
     * @param allowedTypes      media types or {@code type/*} wildcards accepted after detection; empty: any
     * @param key               the caller's key limits and usage; absent without a key (open mode)
     */
    record Limits(long maxFileSize, long serverMaxFileSize, int maxFilesPerRequest, long maxRequestSize,
                  List<String> allowedTypes, KeyLimits key) {
    }

    /**
     * @param maxFileSize    the key's own file size limit, null when the server's applies
     * @param quotaBytes     null without a quota
     * @param remainingBytes null without a quota
     */
    record KeyLimits(String id, @JsonInclude(JsonInclude.Include.ALWAYS) Long maxFileSize,
                     @JsonInclude(JsonInclude.Include.ALWAYS) Long quotaBytes, long usedBytes,
                     @JsonInclude(JsonInclude.Include.ALWAYS) Long remainingBytes) {
    }

    void limits(Exchange ex) throws Exception {
        Principal caller = ex.principal();
        var limits = uploads.limits();
        KeyLimits key = null;
        if (caller.owner() != null) {
            // One indexed SUM per call (Usage): cheap enough for a page load.
            long used = uploads.usage().of(caller.owner());
            key = new KeyLimits(caller.owner(), caller.maxFileSize(), caller.quotaBytes(), used,
                    caller.quotaBytes() == null ? null : Math.max(0, caller.quotaBytes() - used));
        }
        ex.json(200, new Limits(caller.maxFileSize(limits.maxFileSize()), limits.maxFileSize(),
                limits.maxFilesPerRequest(), limits.maxRequestSize(), limits.allowedTypes(), key));
    }

    /**
     * An unfinished resumable upload.
     *
     * @param length null while the client deferred it
     * @param url    the tus URL: HEAD resumes, DELETE removes it
     * @param owner  the owning key, in an admin's list only
     */
    record Partial(String id, String filename, long offset, @JsonInclude(JsonInclude.Include.ALWAYS) Long length,
                   boolean partial, Instant createdAt, Instant expiresAt, String url, String owner) {
    }

    record Page(List<Partial> uploads, @JsonInclude(JsonInclude.Include.ALWAYS) String nextCursor) {
    }

    void resumable(Exchange ex) throws Exception {
        var query = Request.extractQueryParameters(ex.request());
        int limit = DirectUploadApi.pageSize(query.getValue("limit"));
        String cursor = query.getValue("cursor");
        if (cursor != null && !IdGenerator.looksLikeId(cursor)) {
            throw ErrorCode.INVALID_CURSOR.error("cursor must be a value returned as nextCursor");
        }
        Principal caller = ex.principal();
        String owner = caller.admin() ? null : caller.owner();
        // Only uploads still accepting bytes: finishing ones complete by themselves, completed ones are uploads.
        String sql = "SELECT id, filename, upload_offset, upload_length, concat, created_at, expires_at, owner "
                + "FROM resumable_uploads WHERE state = 'active'" + (owner != null ? " AND owner = ?" : "")
                + (cursor != null ? " AND id < ?" : "") + " ORDER BY id DESC LIMIT ?";
        List<Partial> rows = db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (owner != null) {
                    ps.setString(i++, owner);
                }
                if (cursor != null) {
                    ps.setString(i++, cursor);
                }
                ps.setInt(i, limit + 1);
                List<Partial> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long length = rs.getLong("upload_length");
                        Long len = rs.wasNull() ? null : length;
                        long expires = rs.getLong("expires_at");
                        Instant expiresAt = rs.wasNull() ? null : Instant.ofEpochMilli(expires);
                        String id = rs.getString("id");
                        out.add(new Partial(id, rs.getString("filename"), rs.getLong("upload_offset"), len,
                                "partial".equals(rs.getString("concat")),
                                Instant.ofEpochMilli(rs.getLong("created_at")), expiresAt, tusBasePath + id,
                                caller.admin() ? rs.getString("owner") : null));
                    }
                }
                return out;
            }
        });
        boolean more = rows.size() > limit;
        List<Partial> items = more ? rows.subList(0, limit) : rows;
        ex.json(200, new Page(items, more ? items.getLast().id() : null));
    }
}
