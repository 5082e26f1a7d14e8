package io.sluice.api;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Every JSON error code the HTTP API answers, with its status and the README's "When" text: the one registry that
 * routes raise {@link ApiException}s from ({@code ErrorCode.FILE_TOO_LARGE.error("...")}), that the README's error
 * tables are generated from ({@link #referenceTable(Table)}) and that {@code docs/openapi.yaml}'s {@code Error.code}
 * enum must equal ({@code ErrorCodesDocTest} checks both).
 *
 * <p>A new code is one constant here, then the README tables regenerated. Order is the README's. Adjacent
 * constants with the same status and the same text share one README row. Not here: the codes a processor gives
 * when it refuses a file (its own namespace, {@link ApiException#refusedByProcessor}) and the failure codes stored
 * on jobs.
 */
public enum ErrorCode {
    INVALID_FILENAME(400, "Missing name, control or bidi-override characters, nothing left after dropping "
            + "directories."),
    EMPTY_FILE(400, "A file with no bytes."),
    NO_FILES(400, "A multipart request without a file part."),
    MALFORMED_MULTIPART(400, "No or bad boundary, body not matching it, truncated body, part without a name."),
    INVALID_LIMIT(400, Shared.LIST_PARAMETERS),
    INVALID_CURSOR(400, Shared.LIST_PARAMETERS),
    INVALID_STATE(400, Shared.LIST_PARAMETERS),
    INVALID_OFFSET(400, Shared.LIST_PARAMETERS),
    INVALID_SORT(400, Shared.LIST_FILTERS),
    INVALID_TYPE(400, Shared.LIST_FILTERS),
    INVALID_LAST_EVENT_ID(400, Shared.LIST_FILTERS),
    INVALID_QUERY(400, Shared.JOB_SEARCH),
    INVALID_TIME(400, Shared.JOB_SEARCH),
    INVALID_TIME_RANGE(400, Shared.JOB_SEARCH),
    INVALID_ACTION(400, Shared.JOB_BULK),
    INVALID_IDS(400, Shared.JOB_BULK),
    UNKNOWN_PIPELINE(400, "The upload names a pipeline that is not configured (`known` lists the names)."),
    UNTRUSTED_HOST(400, "`Host` not in `server.trustedHosts`."),
    BAD_REQUEST(400, "A request Jetty cannot parse (e.g. an encoded `/` in a path segment)."),
    INVALID_UPLOAD_LENGTH(400, Shared.TUS_LENGTH_HEADERS),
    INVALID_UPLOAD_DEFER_LENGTH(400, Shared.TUS_LENGTH_HEADERS),
    INVALID_UPLOAD_OFFSET(400, Shared.TUS_LENGTH_HEADERS),
    INVALID_METADATA(400, "`Upload-Metadata` with a value that is not base64 UTF-8, an empty, repeated or non-ASCII "
            + "key, or longer than `tus.maxMetadataSize`."),
    INVALID_CHECKSUM(400, Shared.CHECKSUM_HEADER),
    UNSUPPORTED_CHECKSUM_ALGORITHM(400, Shared.CHECKSUM_HEADER),
    INVALID_CONCAT(400, "`Upload-Concat` over unknown, unfinished, non-partial or foreign uploads (another key's, a "
            + "path outside the tus path, or an absolute URL whose host or port is not the request's), or with "
            + "`Upload-Length` or a body."),
    LENGTH_MISMATCH(400, "An upload created complete in one request (IETF draft, `Upload-Complete: ?1`) whose body is "
            + "not exactly its declared length; nothing is kept."),
    LENGTH_ALREADY_SET(400, Shared.LENGTH_CHANGES),
    INVALID_LENGTH(400, Shared.LENGTH_CHANGES),
    INCONSISTENT_LENGTH(400, Shared.LENGTH_CHANGES),
    UNSUPPORTED_INTEROP_VERSION(400, "An `Upload-Draft-Interop-Version` other than 5, 6 or 8 (`supported` lists "
            + "them)."),
    INVALID_UPLOAD_COMPLETE(400, "An IETF creation or append without `Upload-Complete`, or with a value other than "
            + "`?1` / `?0`."),
    UPLOAD_COMPLETED(400, "An IETF append to an upload that is already complete."),
    FINAL_UPLOAD_IMMUTABLE(403, "`PATCH` on a final concatenation."),
    HOOK_REFUSED(403, "403", "The application's upload hook refused the upload (see \"Upload hooks\"): the status is "
            + "the application's (any 4xx; 403 when it names none), the message too; nothing of the upload is kept."),
    PRESIGN_INVALID(403, "A presigned URL whose id, expiry or signature was changed, or a `Content-Type` other than "
            + "the signed one."),
    PRESIGN_EXPIRED(403, "A presigned URL used after its `expires`."),
    SIZE_MISMATCH(400, "400 / 413", "A presigned upload's body (or stored object) shorter (400) or longer (413) than "
            + "its declared `size`."),
    INVALID_SIZE(400, Shared.PRESIGN_REQUEST),
    INVALID_CONTENT_TYPE(400, Shared.PRESIGN_REQUEST),
    INVALID_JSON(400, Shared.PRESIGN_REQUEST),
    INVALID_KEY_SPEC(400, "`POST /api/v1/keys` with a missing or blank `name`, a field of the wrong JSON type (`name` "
            + "a string, `admin` a boolean, `maxFileSize` / `quota` a whole number or a size string, `rate` a whole "
            + "number), or a limit below 1."),
    INVALID_EVENT(400, "A storage event body that is not JSON with a `Records` array."),
    UNAUTHORIZED(401, Table.KEYS, "No key, a malformed, unknown or revoked key (`WWW-Authenticate: Bearer`), or `POST "
            + "/api/v1/storage/events` without the `presign.eventToken` bearer token (or with none configured)."),
    ALREADY_COMPLETED(409, "A second `PUT` to a presigned URL whose upload is already recorded."),
    NOT_UPLOADED(409, "`complete` of a presigned upload whose bytes have not arrived."),
    NOT_FOUND(404, "Unknown upload, job or path."),
    NO_OUTPUT(404, "The job has no output (yet): it has not succeeded."),
    METHOD_NOT_ALLOWED(405, "Known path, other method; `Allow` lists the methods."),
    REQUEST_TIMEOUT(408, "The body arrived slower than `server.minRequestDataRate` (or the connection is cut)."),
    OFFSET_MISMATCH(409, "`Upload-Offset` differs from the upload's offset (`offset` in the error)."),
    UPLOAD_UNFINISHED(409, "`GET /files/{id}` before the upload is finished."),
    JOB_FINISHED(409, "Cancel of a job that already ended."),
    JOB_NOT_RETRYABLE(409, "Retry of a job that is not failed or cancelled (or whose pipeline is no longer "
            + "configured)."),
    UPLOAD_EXPIRED(410, "The resumable upload expired (`tus.expiry`) and its bytes were removed."),
    UNSUPPORTED_TUS_VERSION(412, "`Tus-Resumable` missing or not `1.0.0`; `Tus-Version` lists what is supported."),
    EXCEEDS_LENGTH(413, "A `PATCH` body going beyond the upload's length; nothing of it is kept."),
    FILE_TOO_LARGE(413, "A file over `limits.maxFileSize`."),
    REQUEST_TOO_LARGE(413, "A request over `limits.maxRequestSize`."),
    TOO_MANY_FILES(413, Shared.FORM_LIMITS),
    TOO_MANY_FIELDS(413, Shared.FORM_LIMITS),
    FIELD_TOO_LARGE(413, Shared.FORM_LIMITS),
    URI_TOO_LONG(414, "A request line longer than `server.maxRequestHeaderSize`."),
    UNSUPPORTED_CONTENT_TYPE(415, "`POST` that is not `multipart/form-data`; a tus `PATCH` (or creation body) that is "
            + "not `application/offset+octet-stream`; an IETF append (version 6 on) that is not "
            + "`application/partial-upload`."),
    TYPE_NOT_ALLOWED(415, "Detected type not in `limits.allowedTypes`."),
    TYPE_MISMATCH(415, "The extension contradicts the bytes."),
    PIPELINE_TYPE_MISMATCH(415, "The named pipeline does not take the detected type (`acceptedTypes`, "
            + "`detectedType`)."),
    RANGE_NOT_SATISFIABLE(416, "A valid `bytes` range set entirely outside the file (`Content-Range: bytes "
            + "*/<size>`). An invalid `Range` (`bytes=abc`, `bytes=5-2`, `bytes=`) or another unit (`items=0-1`) is "
            + "ignored: `200` with the whole file (RFC 9110 14.2)."),
    UPLOAD_LOCKED(423, "Another request holds the upload and did not let go within 3 s. `Retry-After`."),
    CLIENT_UPLOAD_LIMIT(429, "This client already has `admission.maxUploadsPerClient` uploads in progress and none "
            + "finished within `admission.queueTimeout` (1 s at most with `Expect: 100-continue`), or its part of the "
            + "admission queue (two shares) or the whole queue is full (then at once). `Retry-After`."),
    HEADER_TOO_LARGE(431, "Request headers over `server.maxRequestHeaderSize`."),
    CHECKSUM_MISMATCH(460, "The body does not match `Upload-Checksum`; nothing of it is kept."),
    INTERNAL_ERROR(500, "A bug: logged with the request id, which the message quotes."),
    RELAY_FAILED(502, Shared.RELAY_ANSWER),
    RELAY_RESPONSE_TOO_LARGE(502, Shared.RELAY_ANSWER),
    UNSUPPORTED_TRANSFER_ENCODING(501, "A request body sent with a transfer coding other than `chunked` (e.g. "
            + "`Transfer-Encoding: gzip, chunked`): only `chunked` is decoded, so anything else would be stored still "
            + "encoded. `supported` lists `chunked`; the connection is closed. A coding list that does not end in "
            + "`chunked` has no length and is `400` (RFC 9112 6.3)."),
    UPLOAD_SLOTS_EXHAUSTED(503, "`admission.maxConcurrentUploads` uploads in progress and no slot freed within "
            + "`admission.queueTimeout` (1 s at most with `Expect: 100-continue`), or the admission queue "
            + "(`admission.maxQueued`) is full (then at once). `Retry-After`."),
    MEMORY_BUDGET_EXHAUSTED(503, "All upload buffers (`admission.memoryBudget`) in use. `Retry-After`."),
    MEMORY_PRESSURE(503, "Heap after GC, direct memory, container working set or host memory above "
            + "`admission.memoryHighWatermark`. `Retry-After`."),
    TOO_MANY_CONNECTIONS(503, "Over `server.maxConnections`; the connection is closed. `Retry-After`. (A connection "
            + "over `server.maxConnectionsPerClient` is closed at accept with no answer; one whose headers miss "
            + "`server.headerTimeout` is closed too.) `/health/ready` is `503` with `checks.connections: EXHAUSTED` "
            + "while every slot is taken."),
    DRAINING(503, "The server is shutting down (requests waiting in the admission queue get it at once). "
            + "`Retry-After`."),
    HOOK_UNAVAILABLE(503, "The application's upload hook did not decide: no answer within `hooks.timeout`, a status "
            + "other than 200, an answer that is not a decision, or no connection; not with `hooks.failOpen: true`, "
            + "which lets the upload through. A resumable upload refused so at its end stays unlisted (and its `HEAD` "
            + "answers this too) until a later `HEAD` or `PATCH` gets the application's answer. `Retry-After`."),
    RELAY_BUSY(503, "A relay route already has its `maxConnections` requests in flight. `Retry-After`."),
    UNAVAILABLE(503, "The API key cannot be checked right now (the database does not answer), or the server refused a "
            + "request for want of resources. `Retry-After`."),
    INSUFFICIENT_STORAGE(507, "The data disk has no room: every writer reserves its bytes (the declared length, or "
            + "steps of 8 MiB for an unknown one) on one ledger shared by all concurrent uploads, and one that would "
            + "take free space minus what the others reserved below `limits.diskReserve` is refused, before its body "
            + "is read when its length is known. Also when the disk fills anyway (ENOSPC from another program): a "
            + "direct upload's staged file is removed, a resumable upload is cut back to its last recorded offset "
            + "(what `HEAD` answers). A change (delete, key, job state, presign) that the database cannot record "
            + "because the data disk is full even with its headroom released is refused so too; nothing of it is "
            + "kept. `Retry-After`."),
    FORBIDDEN(403, Table.KEYS, "A non-admin key on an admin route; an upload token on a route tokens may not use, or "
            + "past its `sluice.maxUploads`."),
    QUOTA_EXCEEDED(413, Table.KEYS, "The key's quota would be exceeded."),
    RATE_LIMITED(429, Table.KEYS, "Over the key's request rate. `Retry-After`."),
    INVALID_TOKEN(401, Table.TOKENS, "An upload token that does not verify: bad signature or unknown `kid`, wrong "
            + "`iss`/`aud`, expired, longer-lived than `auth.jwt.maxLifetime`, missing `sub`/`exp`/`iat`, malformed "
            + "`sluice` claim, or a revoked subject. The reason is in the message.");


    /** Which README table lists a code: the general one under "Error codes", or the keys' or tokens' section. */
    public enum Table {
        GENERAL, KEYS, TOKENS
    }

    /** README texts that several adjacent codes share (one row); a holder class, as enum constants cannot see fields. */
    private static final class Shared {
        static final String LIST_PARAMETERS = "Bad list or output parameters.";
        static final String LIST_FILTERS = "A `sort` other than the six `GET /api/v1/uploads` knows, a `type` filter "
                + "that is neither `type/subtype` nor `type/*`, a `Last-Event-ID` (or `lastEventId`) that is not a "
                + "non-negative integer.";
        static final String JOB_SEARCH = "A jobs search (`q`) over 200 characters; `since` / `until` not an RFC 3339 "
                + "date-time, or `since` not before `until`.";
        static final String JOB_BULK = "A jobs bulk request whose `action` is not `retry` or `cancel`, or whose `ids` "
                + "is not an array of 1 to 500 strings.";
        static final String TUS_LENGTH_HEADERS = "tus headers that are missing or not non-negative integers (or both "
                + "`Upload-Length` and `Upload-Defer-Length`).";
        static final String CHECKSUM_HEADER = "A malformed `Upload-Checksum`, or an algorithm other than those in "
                + "`Tus-Checksum-Algorithm`.";
        static final String LENGTH_CHANGES = "Changing a known length, a length below the bytes received, an end that "
                + "does not match the length.";
        static final String PRESIGN_REQUEST = "A presign request without a `size` >= 1, with a `contentType` that is "
                + "not `type/subtype`, or a body that is not a JSON object.";
        static final String FORM_LIMITS = "Over `limits.maxFilesPerRequest`, 64 fields, 8 KiB per field.";
        static final String RELAY_ANSWER = "A relay route: no target answered, or the answer was over the route's "
                + "size limit (see \"Relay routes and the static site\").";

    }

    /** The README row a pipeline precheck's refusal gets: its code is the processor's, so not a constant here. */
    static final String PROCESSOR_ROW = "| " + ApiException.PROCESSOR_REFUSAL + " | *(the processor's)* | A pipeline's "
            + "precheck refused the stored file, e.g. a spreadsheet without its required columns; the upload is not "
            + "kept. |\n";

    private final String code;
    private final int status;
    private final String shownStatus;
    private final boolean statusVaries;
    private final Table table;
    private final String when;

    ErrorCode(int status, String when) {
        this(status, Integer.toString(status), false, Table.GENERAL, when);
    }

    ErrorCode(int status, Table table, String when) {
        this(status, Integer.toString(status), false, table, when);
    }

    /** A code answered with {@code status} by default and another status at some sites ({@link #error(int, String, Map)}). */
    ErrorCode(int status, String shownStatus, String when) {
        this(status, shownStatus, true, Table.GENERAL, when);
    }

    ErrorCode(int status, String shownStatus, boolean statusVaries, Table table, String when) {
        this.code = name().toLowerCase(Locale.ROOT);
        this.status = status;
        this.shownStatus = shownStatus;
        this.statusVaries = statusVaries;
        this.table = table;
        this.when = when;
    }

    /** The JSON {@code error.code}. */
    public String code() {
        return code;
    }

    /** The HTTP status it is answered with (the default one for a code whose status varies). */
    public int status() {
        return status;
    }

    public Table table() {
        return table;
    }

    /** The README's "When" text. */
    public String when() {
        return when;
    }

    public ApiException error(String message) {
        return new ApiException(this, status, message, Map.of(), null);
    }

    public ApiException error(String message, Map<String, Object> details) {
        return new ApiException(this, status, message, details, null);
    }

    public ApiException error(String message, Map<String, Object> details, Duration retryAfter) {
        return new ApiException(this, status, message, details, retryAfter);
    }

    /**
     * This code with another status than its default; only for the codes registered as varying (their README row
     * names the statuses), so that no other code drifts away from its documented status.
     */
    public ApiException error(int otherStatus, String message, Map<String, Object> details) {
        if (!statusVaries && otherStatus != status) {
            throw new IllegalArgumentException(code + " is always answered " + status + ", not " + otherStatus);
        }
        return new ApiException(this, otherStatus, message, details, null);
    }

    /**
     * The README's Markdown error table for {@code which} (status | code | when), generated from the constants so
     * that {@code ErrorCodesDocTest} can check the README against them; the general table also carries the
     * processors' 422 row, before the first status above it.
     */
    public static String referenceTable(Table which) {
        StringBuilder out = new StringBuilder("| Status | Code | When |\n|---|---|---|\n");
        ErrorCode[] all = values();
        boolean processorRow = which != Table.GENERAL;
        for (int i = 0; i < all.length; i++) {
            ErrorCode e = all[i];
            if (e.table != which) {
                continue;
            }
            if (!processorRow && e.status > ApiException.PROCESSOR_REFUSAL) {
                out.append(PROCESSOR_ROW);
                processorRow = true;
            }
            StringBuilder codes = new StringBuilder("`" + e.code + "`");
            while (i + 1 < all.length && all[i + 1].table == which && all[i + 1].shownStatus.equals(e.shownStatus)
                    && all[i + 1].when.equals(e.when)) {
                codes.append(", `").append(all[++i].code).append('`');
            }
            out.append("| ").append(e.shownStatus).append(" | ").append(codes).append(" | ").append(e.when)
                    .append(" |\n");
        }
        return out.toString();
    }
}
