package io.sluice.upload;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.Ticket;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Principal;
import io.sluice.api.Routes;
import io.sluice.hooks.Allowed;
import org.eclipse.jetty.http.ByteRange;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The direct upload API: multipart POST, raw PUT, metadata, content download, delete and list.
 *
 * <p>Order of checks on the upload paths, cheapest first, all before the body is read: request shape (content
 * type, boundary, filename), declared size against the limits (413), then admission (507, 429, 503). The body is
 * then streamed once, socket to storage, and the answer is sent after the bytes and the record are durable.
 */
public final class DirectUploadApi {

    public static final int DEFAULT_PAGE_SIZE = 50;
    public static final int MAX_PAGE_SIZE = 500;
    /** Download chunk: taken from Jetty's buffer pool, not the upload budget. */
    private static final int DOWNLOAD_BUFFER = 64 * 1024;
    /** Room for multipart framing and form fields around one file of a key's own (larger) size limit. */
    static final long MULTIPART_SLACK = 1024 * 1024;

    private final UploadService service;
    private final AdmissionController admission;
    private final DownloadRedirects redirects;

    /**
     * Where a finished upload's bytes can be fetched directly, bypassing Sluice ({@code storage.downloads:
     * redirect}, an S3 presigned GET).
     */
    @FunctionalInterface
    public interface DownloadRedirects {
        /**
         * A URL that serves the upload's bytes with these response headers, for a short while.
         *
         * @param contentDisposition the {@code Content-Disposition} the direct answer should carry
         */
        URI locate(Upload upload, String contentDisposition) throws IOException;
    }

    public DirectUploadApi(UploadService service, AdmissionController admission) {
        this(service, admission, null);
    }

    /** @param redirects when not null, content downloads answer 302 to the URL it gives instead of streaming */
    public DirectUploadApi(UploadService service, AdmissionController admission, DownloadRedirects redirects) {
        this.service = service;
        this.admission = admission;
        this.redirects = redirects;
    }

    public void register(Routes routes) {
        routes.add("POST", "/api/v1/uploads", this::postMultipart);
        routes.add("PUT", "/api/v1/uploads/{filename}", this::putRaw);
        routes.add("GET", "/api/v1/uploads", this::list);
        routes.add("GET", "/api/v1/uploads/{id}", this::metadata);
        routes.add("GET", "/api/v1/uploads/{id}/content", this::content);
        routes.add("HEAD", "/api/v1/uploads/{id}/content", this::content);
        routes.add("DELETE", "/api/v1/uploads/{id}", this::delete);
    }

    void postMultipart(Exchange ex) throws Exception {
        String contentType = ex.header(HttpHeader.CONTENT_TYPE);
        // getBaseType is null for a type Jetty does not know (multipart/mixed, application/x-foo): compare the
        // enum by identity so those are a 415 too, not a NullPointerException.
        if (contentType == null || MimeTypes.getBaseType(contentType) != MimeTypes.Type.MULTIPART_FORM_DATA) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error(
                    "POST needs Content-Type: multipart/form-data; use PUT /api/v1/uploads/{filename} for raw bodies");
        }
        String boundary = boundary(contentType);
        if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
            throw ErrorCode.MALFORMED_MULTIPART.error("the multipart Content-Type has no valid boundary");
        }
        Principal caller = ex.principal();
        long fileMax = caller.maxFileSize(service.limits().maxFileSize());
        // A key allowed files larger than the request limit must be able to send one of them.
        long maxRequest = Math.max(service.limits().maxRequestSize(),
                caller.maxFileSize() == null ? 0 : Math.addExact(fileMax, MULTIPART_SLACK));
        long declared = ex.request().getLength();
        if (declared > maxRequest) {
            throw requestTooLarge(maxRequest);
        }
        // The quota counts the whole request body (multipart framing included): checked before and while reading.
        long quotaLeft = service.usage().remaining(caller.owner(), caller.quotaBytes(), declared);
        service.tokenLimits().checkRoom(caller);
        long readLimit = Math.min(maxRequest, quotaLeft);
        List<Stored> uploads;
        try (Ticket ticket = admit(ex, declared);
             MultipartReceiver receiver = new MultipartReceiver(service, ticket.buffer(), ticket.secondBuffer(),
                     service.limits().maxFilesPerRequest(), fileMax, ticket.disk(), caller.owner(), ex.client(),
                     Request.getRemoteAddr(ex.request()))) {
            MultiPart.Parser parser = receiver.parser(boundary);
            ex.readBody(readLimit, () -> readLimit < maxRequest ? quotaExceeded(caller, quotaLeft)
                    : requestTooLarge(maxRequest), chunk -> {
                parser.parse(chunk);
                receiver.throwIfFailed();
            });
            List<FileSink> files = receiver.files();
            // The field may follow the files, so it is only known now; it also stays in the metadata.
            uploads = service.commit(files, caller.metadata(receiver.fields()), ex.client(), caller.owner(),
                    caller.pipeline(pipeline(receiver.fields().get(UploadProcessing.PIPELINE_FIELD))),
                    (tx, list) -> tokenLimits(tx, caller, list));
        }
        // Answered after the slot, share and buffer are back: a client that uploads its next file the moment it
        // sees 201 must find them free.
        created(ex, uploads);
    }

    void putRaw(Exchange ex) throws Exception {
        String filename = service.sanitize(ex.param("filename"));
        Principal caller = ex.principal();
        String pipeline = caller.pipeline(pipeline(Request.extractQueryParameters(ex.request())
                .getValue(UploadProcessing.PIPELINE_FIELD)));
        // Before admission and the body: a misspelt pipeline costs the client no upload.
        service.processing().checkName(pipeline);
        long max = caller.maxFileSize(service.limits().maxFileSize());
        long declared = ex.request().getLength();
        if (declared > max) {
            throw FileSink.fileTooLarge(max);
        }
        long quotaLeft = service.usage().remaining(caller.owner(), caller.quotaBytes(), declared);
        service.tokenLimits().checkRoom(caller);
        long readLimit = Math.min(max, quotaLeft);
        // Before admission and the body: a slow application holds no slot, and a refusal reads no byte.
        Allowed hook = HookCalls.preCreate(service.hooks(), filename, declared < 0 ? null : declared,
                ex.header(HttpHeader.CONTENT_TYPE), Map.of(), pipeline, caller.owner(), ex.client(),
                Request.getRemoteAddr(ex.request()));
        List<Stored> uploads;
        try (Ticket ticket = admit(ex, declared);
             FileSink sink = service.open(hook.filename(filename), ticket.buffer(), ticket.secondBuffer(), max,
                     ticket.disk()).hooked(hook)) {
            ex.readBody(readLimit, () -> readLimit < max ? quotaExceeded(caller, quotaLeft)
                    : FileSink.fileTooLarge(max), chunk -> sink.write(chunk.getByteBuffer()));
            uploads = service.commit(List.of(sink), caller.metadata(Map.of()), ex.client(), caller.owner(),
                    pipeline, (tx, list) -> tokenLimits(tx, caller, list));
        }
        created(ex, uploads);
    }

    /**
     * An upload token's type and count claims, checked in the transaction that records the uploads: a refusal
     * rolls it back and {@link UploadService#commit} removes the stored bytes.
     */
    private void tokenLimits(Connection tx, Principal caller, List<Upload> list) throws SQLException {
        for (Upload u : list) {
            TokenLimits.checkType(caller, u.contentType());
        }
        service.tokenLimits().count(tx, caller, list.size());
    }

    /** A pipeline name from a form field or query parameter; blank names none (an optional select left empty). */
    private static String pipeline(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    /**
     * The boundary parameter, its name matched case-insensitively as RFC 2045 requires (Jetty's
     * {@code MultiPart.extractBoundary} only finds a lower-case {@code boundary=}).
     */
    static String boundary(String contentType) {
        Map<String, String> params = new HashMap<>();
        HttpField.getValueParameters(contentType, params);
        for (Map.Entry<String, String> e : params.entrySet()) {
            if (e.getKey().trim().equalsIgnoreCase("boundary")) {
                return e.getValue() == null ? null : e.getValue().trim();
            }
        }
        return null;
    }

    private Ticket admit(Exchange ex, long declaredLength) throws ClientGoneException {
        return ex.admit(admission, declaredLength);
    }

    private static void created(Exchange ex, List<Stored> uploads) throws IOException {
        ex.json(201, Map.of("uploads", uploads.stream().map(s -> UploadView.of(s.upload(), s.job())).toList()));
    }

    /** 413 {@code quota_exceeded} for a body that turned out larger than the {@code left} bytes of its quota. */
    static ApiException quotaExceeded(Principal caller, long left) {
        return Usage.exceeded(caller.quotaBytes(), caller.quotaBytes() - left);
    }

    private static ApiException requestTooLarge(long max) {
        return ErrorCode.REQUEST_TOO_LARGE.error("the request is larger than the limit of " + max + " bytes",
                Map.of("limit", max));
    }

    void metadata(Exchange ex) throws Exception {
        ex.json(200, UploadView.of(require(ex, ex.param("id"))));
    }

    void delete(Exchange ex) throws Exception {
        require(ex, ex.param("id"));
        if (!service.delete(ex.param("id"))) {
            throw ApiException.notFound("upload " + ex.param("id"));
        }
        ex.empty(204);
    }

    void list(Exchange ex) throws Exception {
        var query = Request.extractQueryParameters(ex.request());
        int limit = pageSize(query.getValue("limit"));
        // An admin lists every upload, or one owner's (?owner=<key id> or sub:<token subject>); any other caller
        // only its own.
        Principal caller = ex.principal();
        UploadQuery q = UploadQuery.parse(caller.admin() ? ownerFilter(query.getValue("owner")) : caller.owner(),
                query.getValue("q"),
                query.getValue("type"), query.getValue("sort"), query.getValue("cursor"));
        List<Upload> page = service.search(q, limit + 1);
        boolean more = page.size() > limit;
        List<Upload> items = more ? page.subList(0, limit) : page;
        Map<String, QueuedJob> jobs = service.latestJobs(items.stream().map(Upload::id).toList());
        ex.json(200, new Page(items.stream().map(u -> UploadView.listed(u, jobs.get(u.id()), caller.admin())).toList(),
                more ? q.cursorAfter(items.getLast()) : null));
    }

    /** An admin's {@code owner} filter: null (every owner) when absent or empty. */
    public static String ownerFilter(String raw) {
        return raw == null || raw.isBlank() ? null : raw.strip();
    }

    /** The {@code limit} parameter of a listing: {@value #DEFAULT_PAGE_SIZE} when absent, 400 outside 1..max. */
    static int pageSize(String rawLimit) {
        if (rawLimit == null) {
            return DEFAULT_PAGE_SIZE;
        }
        int limit;
        try {
            limit = Integer.parseInt(rawLimit);
        } catch (NumberFormatException e) {
            limit = -1;
        }
        if (limit < 1 || limit > MAX_PAGE_SIZE) {
            throw ErrorCode.INVALID_LIMIT.error("limit must be between 1 and " + MAX_PAGE_SIZE);
        }
        return limit;
    }

    /**
     * One page of the list. {@code nextCursor} is written even when null (the last page): the shared mapper omits
     * nulls, and clients test {@code nextCursor === null} to stop paging.
     */
    record Page(List<UploadView> uploads, @JsonInclude(JsonInclude.Include.ALWAYS) String nextCursor) {
    }

    /**
     * Streams a finished upload's bytes (also serves tus {@code GET /files/{id}}): Range, ETag, If-None-Match; or,
     * with {@link DownloadRedirects}, answers 302 to where the storage serves them.
     */
    public void content(Exchange ex) throws Exception {
        Upload u = require(ex, ex.param("id"));
        if (redirects != null) {
            // Ranges and conditional requests go to the URL as they are: the storage answers them.
            var headers = ex.response().getHeaders();
            headers.put(HttpHeader.LOCATION, redirects.locate(u, contentDisposition(u.filename())).toString());
            headers.put(HttpHeader.CACHE_CONTROL, "private, no-store"); // the URL expires
            ex.empty(302);
            return;
        }
        String etag = "\"" + u.sha256() + "\"";
        var headers = ex.response().getHeaders();
        headers.put(HttpHeader.ETAG, etag);
        headers.put(HttpHeader.ACCEPT_RANGES, "bytes");
        headers.put("X-Content-Type-Options", "nosniff");
        headers.put(HttpHeader.CACHE_CONTROL, "private, no-cache");
        if (matches(ex.header(HttpHeader.IF_NONE_MATCH), etag)) {
            ex.empty(304);
            return;
        }
        long size = u.size();
        long offset = 0;
        long length = size;
        int status = 200;
        List<String> range = ex.request().getHeaders().getValuesList(HttpHeader.RANGE);
        String ifRange = ex.header(HttpHeader.IF_RANGE);
        // A unit other than bytes MUST be ignored and an invalid range set may be (RFC 9110 14.2): both get the whole
        // file. Jetty's parser reports either as unsatisfiable, so only a valid set reaches it, and 416 is left for a
        // valid set that lies outside the file.
        if (!range.isEmpty() && range.stream().allMatch(DirectUploadApi::isValidBytesRange)
                && (ifRange == null || ifRange.equals(etag))) {
            List<ByteRange> ranges = ByteRange.parse(range, size);
            if (ranges.isEmpty()) {
                headers.put(HttpHeader.CONTENT_RANGE, ByteRange.toNonSatisfiableHeaderValue(size));
                throw ErrorCode.RANGE_NOT_SATISFIABLE.error("the requested range is outside 0-" + (size - 1));
            }
            if (ranges.size() == 1) {
                ByteRange r = ranges.getFirst();
                offset = r.first();
                length = r.getLength();
                status = 206;
                headers.put(HttpHeader.CONTENT_RANGE, r.toHeaderValue(size));
            }
            // Several ranges: answer the whole file (allowed by RFC 9110) rather than build multipart/byteranges.
        }
        ex.response().setStatus(status);
        headers.put(HttpHeader.CONTENT_TYPE, u.contentType());
        headers.put(HttpHeader.CONTENT_LENGTH, length);
        headers.put(HttpHeader.CONTENT_DISPOSITION, contentDisposition(u.filename()));
        if (ex.method().equals("HEAD") || length == 0) {
            ex.write(true, null);
            return;
        }
        RetainableByteBuffer pooled = ex.request().getComponents().getByteBufferPool().acquire(DOWNLOAD_BUFFER, true);
        try (ReadableByteChannel in = service.openContent(u, offset, length)) {
            ByteBuffer buf = pooled.getByteBuffer();
            long remaining = length;
            while (remaining > 0) {
                buf.clear();
                int n = in.read(buf);
                if (n < 0) {
                    throw new IOException("blob of upload " + u.id() + " is shorter than recorded");
                }
                remaining -= n;
                buf.flip();
                ex.write(remaining == 0, buf);
            }
        } finally {
            pooled.release();
        }
    }

    /**
     * Whether {@code value} is a valid {@code bytes} ranges-specifier (RFC 9110 14.1.1): a non-empty list of
     * {@code first-last}, {@code first-} or {@code -suffix}, where {@code last} is not below {@code first}.
     */
    static boolean isValidBytesRange(String value) {
        if (!value.regionMatches(true, 0, "bytes=", 0, 6)) {
            return false;
        }
        boolean any = false;
        for (String element : value.substring(6).split(",", -1)) {
            String spec = element.strip();
            if (spec.isEmpty()) {
                continue; // an empty list element is allowed (RFC 9110 5.6.1)
            }
            Matcher m = RANGE_SPEC.matcher(spec);
            if (!m.matches()) {
                return false;
            }
            if (m.group(1) != null && !m.group(2).isEmpty()
                    && new BigInteger(m.group(2)).compareTo(new BigInteger(m.group(1))) < 0) {
                return false;
            }
            any = true;
        }
        return any;
    }

    /** first-pos "-" [last-pos], or "-" suffix-length. */
    private static final Pattern RANGE_SPEC = Pattern.compile("(?:([0-9]+)-([0-9]*))|(?:-([0-9]+))");

    /** The upload, or 404 when unknown or owned by another API key. */
    private Upload require(Exchange ex, String id) throws Exception {
        Upload u = service.find(id).orElseThrow(() -> ApiException.notFound("upload " + id));
        ex.requireVisible(u.owner(), "upload " + id);
        return u;
    }

    private static boolean matches(String ifNoneMatch, String etag) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String candidate : ifNoneMatch.split(",")) {
            String c = candidate.trim();
            if (c.equals("*") || c.equals(etag) || c.equals("W/" + etag)) {
                return true;
            }
        }
        return false;
    }

    /** ASCII fallback plus RFC 6266/5987 UTF-8 form, so every browser gets the right name and no header breaks. */
    static String contentDisposition(String filename) {
        StringBuilder ascii = new StringBuilder();
        for (char c : filename.toCharArray()) {
            ascii.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '_');
        }
        String encoded = URLEncoder.encode(filename, StandardCharsets.UTF_8).replace("+", "%20");
        return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
    }
}
