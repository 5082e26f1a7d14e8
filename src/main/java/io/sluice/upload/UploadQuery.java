package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One page request of {@code GET /api/v1/uploads}: who may be listed, the filters and the keyset position.
 *
 * <p>Every order is a keyset over an index ({@code V7__upload_listing.sql}): the sort column, then the id as the
 * tie-break, so a page is one index range scan however deep it is, and rows with equal names, sizes or creation
 * milliseconds are neither repeated nor skipped across pages. Filters ({@code q}, {@code type}) are applied while
 * walking that range; they narrow the rows returned, never the work done before the first row of the page.
 *
 * @param owner        only this API key's uploads; null for every upload (an admin)
 * @param nameContains lower-cased substring of the file name, or null
 * @param type         exact media type ({@code image/png}) or a top-level wildcard ({@code image/*}), or null
 * @param after        where the previous page ended, or null for the first page
 */
public record UploadQuery(String owner, String nameContains, String type, Sort sort, Cursor after) {

    public static final int MAX_QUERY_LENGTH = 200;
    private static final Pattern TYPE = Pattern.compile("[a-z0-9][a-z0-9!#$&^_.+-]*/(\\*|[a-z0-9][a-z0-9!#$&^_.+-]*)");

    /** The orders a keyset supports cleanly: each is one indexed column plus the id. */
    public enum Sort {
        NEWEST("-created", "id", true),
        OLDEST("created", "id", false),
        NAME("name", "filename", false),
        NAME_DESC("-name", "filename", true),
        SIZE("size", "size", false),
        SIZE_DESC("-size", "size", true);

        public final String token;
        final String column;
        final boolean descending;

        Sort(String token, String column, boolean descending) {
            this.token = token;
            this.column = column;
            this.descending = descending;
        }

        boolean byId() {
            return column.equals("id");
        }

        static Sort parse(String raw) {
            if (raw == null || raw.isEmpty()) {
                return NEWEST;
            }
            for (Sort s : values()) {
                if (s.token.equals(raw)) {
                    return s;
                }
            }
            throw ErrorCode.INVALID_SORT.error("sort must be one of -created, created, name, -name, size, -size");
        }
    }

    /**
     * The last row of a page: its sort value and id. On the wire: the bare id for the creation orders (the cursor
     * format before sorting existed, which clients may still hold), otherwise base64url of
     * {@code <sort>\n<id>\n<value>}, bound to its sort so it cannot be replayed under another.
     */
    public record Cursor(String id, String name, long size) {

        String encode(Sort sort) {
            if (sort.byId()) {
                return id;
            }
            String value = sort.column.equals("size") ? Long.toString(size) : name;
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    (sort.token + "\n" + id + "\n" + value).getBytes(StandardCharsets.UTF_8));
        }

        static Cursor decode(String raw, Sort sort) {
            if (raw == null) {
                return null;
            }
            if (sort.byId()) {
                if (!IdGenerator.looksLikeId(raw)) {
                    throw invalid();
                }
                return new Cursor(raw, null, 0);
            }
            String text;
            try {
                text = new String(Base64.getUrlDecoder().decode(raw), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw invalid();
            }
            String[] parts = text.split("\n", 3);
            if (parts.length != 3 || !parts[0].equals(sort.token) || !IdGenerator.looksLikeId(parts[1])) {
                throw invalid();
            }
            if (sort.column.equals("size")) {
                try {
                    return new Cursor(parts[1], null, Long.parseLong(parts[2]));
                } catch (NumberFormatException e) {
                    throw invalid();
                }
            }
            return new Cursor(parts[1], parts[2], 0);
        }

        private static ApiException invalid() {
            return ErrorCode.INVALID_CURSOR.error("cursor must be a value returned as nextCursor, with the same sort");
        }
    }

    /** Parses and checks the query parameters; 400 with a code for any bad one. */
    public static UploadQuery parse(String owner, String q, String type, String sort, String cursor) {
        Sort s = Sort.parse(sort);
        String name = null;
        if (q != null && !q.isEmpty()) {
            if (q.length() > MAX_QUERY_LENGTH) {
                throw ErrorCode.INVALID_QUERY.error("q must be at most " + MAX_QUERY_LENGTH + " characters");
            }
            name = q.toLowerCase(Locale.ROOT);
        }
        String t = null;
        if (type != null && !type.isEmpty()) {
            t = type.strip().toLowerCase(Locale.ROOT);
            if (!TYPE.matcher(t).matches()) {
                throw ErrorCode.INVALID_TYPE.error(
                        "type must be a media type such as image/png, or a wildcard such as image/*");
            }
        }
        return new UploadQuery(owner, name, t, s, Cursor.decode(cursor, s));
    }

    /** The cursor that continues after {@code last} in this query's order. */
    public String cursorAfter(Upload last) {
        return new Cursor(last.id(), last.filename(), last.size()).encode(sort);
    }
}
