package io.sluice.tus;

import io.sluice.admission.Ticket;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.Exchange;
import io.sluice.api.Json;
import io.sluice.upload.QueuedJob;
import io.sluice.upload.Resumable;
import io.sluice.upload.ResumableService;
import io.sluice.upload.TokenLimits;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Blocker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * The IETF "Resumable Uploads for HTTP" draft on the tus resources, negotiated by
 * {@code Upload-Draft-Interop-Version}: creation ({@code POST} with {@code Upload-Complete}, a {@code 104 Upload
 * Resumption Supported} announcing the upload before its body is read), offset retrieval ({@code HEAD}), append
 * ({@code PATCH}) and cancellation ({@code DELETE}) over {@link ResumableService}. Protocol only.
 *
 * <p>Versions: 5 (draft -03) and 6 (drafts -04/-05), as tus-js-client 4 speaks them ({@code ietf-draft-03} /
 * {@code ietf-draft-05}) and tusd serves them, and 8 (draft -11). Any other value answers 400
 * {@code unsupported_interop_version}. Errors are the usual JSON errors, except that version 8 answers a mismatching
 * offset and an inconsistent length with the draft's RFC 9457 problem types.
 *
 * <p>Where versions differ:
 * <ul>
 *   <li>Completion: version 8 completes an upload only on {@code Upload-Complete: ?1}; an append with {@code ?0}
 *       that reaches the declared length leaves it incomplete. Versions 5 and 6 also complete an upload whose offset
 *       reaches its declared length (as tusd does): tus-js-client sends {@code ?0} on the last chunk of a file
 *       stream and never sends another request.</li>
 *   <li>{@code Content-Type: application/partial-upload} is required on appends from version 6 on (415 otherwise).</li>
 *   <li>{@code Upload-Limit} is sent from version 6 on: {@code max-size}, and the upload's remaining lifetime as
 *       {@code expires} (6) or {@code max-age} (8).</li>
 * </ul>
 */
final class IetfDraft {

    private static final Logger log = LoggerFactory.getLogger(IetfDraft.class);

    static final String INTEROP_HEADER = "Upload-Draft-Interop-Version";
    static final String PARTIAL_UPLOAD = "application/partial-upload";
    static final String PROBLEM_JSON = "application/problem+json";
    static final String MISMATCHING_OFFSET =
            "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
    static final String INCONSISTENT_LENGTH =
            "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";
    /** 104 Upload Resumption Supported. */
    static final int UPLOAD_RESUMPTION_SUPPORTED = 104;
    /** Service errors that mean the lengths the client declared disagree with each other or with the bytes. */
    private static final Set<String> LENGTH_CODES = Set.of("inconsistent_length", "length_already_set",
            "invalid_length");

    /** A supported interop version and what it asks of the server. */
    enum Interop {
        V5(5, false, false, null, false, false),
        V6(6, true, true, "expires", false, false),
        V8(8, true, true, "max-age", true, true);

        final int number;
        /** Appends must be {@code application/partial-upload}. */
        final boolean partialUploadType;
        /** Responses carry {@code Upload-Limit}. */
        final boolean limits;
        /** The {@code Upload-Limit} key of the remaining lifetime. */
        final String lifetimeKey;
        /** Only {@code Upload-Complete: ?1} completes an upload, never reaching the declared length. */
        final boolean explicitCompletion;
        /** Offset and length errors are RFC 9457 problems. */
        final boolean problemTypes;

        Interop(int number, boolean partialUploadType, boolean limits, String lifetimeKey,
                boolean explicitCompletion, boolean problemTypes) {
            this.number = number;
            this.partialUploadType = partialUploadType;
            this.limits = limits;
            this.lifetimeKey = lifetimeKey;
            this.explicitCompletion = explicitCompletion;
            this.problemTypes = problemTypes;
        }

        static final List<Integer> SUPPORTED = Arrays.stream(values()).map(v -> v.number).toList();
    }

    private final TusApi tus;
    private final ResumableService service;

    IetfDraft(TusApi tus, ResumableService service) {
        this.tus = tus;
        this.service = service;
    }

    static boolean applies(Exchange ex) {
        return ex.request().getHeaders().contains(INTEROP_HEADER);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Requests.

    /** Discovery: {@code Accept-Patch} and the limits that creation will apply. */
    void options(Exchange ex) throws IOException {
        Interop v = negotiate(ex);
        HttpFields.Mutable h = ex.response().getHeaders();
        if (v.partialUploadType) {
            h.put("Accept-Patch", PARTIAL_UPLOAD);
        }
        if (v.limits) {
            h.put("Upload-Limit", limits(ex, v, null));
        }
        ex.empty(204);
    }

    /**
     * Creation: the upload is created and announced with a 104 before a byte of the body is read, then the body is
     * appended. A creation refused for its content (4xx) removes the upload again: the draft tells clients not to
     * resume after a 4xx, so nothing would ever use it.
     */
    void create(Exchange ex) throws Exception {
        Interop v = negotiate(ex);
        try {
            boolean complete = uploadComplete(ex);
            if (ex.request().getHeaders().contains("Upload-Concat")) {
                throw ApiException.badRequest("invalid_concat",
                        "Upload-Concat is tus; the IETF draft has no concatenation (drop " + INTEROP_HEADER + ")");
            }
            long declared = TusApi.parseNonNegative("Upload-Length", ex.request().getHeaders().get("Upload-Length"),
                    false);
            long contentLength = contentLength(ex);
            long length = declared;
            if (complete && contentLength >= 0) {
                // Upload-Complete: ?1 with a Content-Length states the length too; both must agree.
                if (declared >= 0 && declared != contentLength) {
                    throw inconsistentLength("Upload-Length is " + declared + " but the request, which completes the "
                            + "upload, has Content-Length " + contentLength);
                }
                length = contentLength;
            }
            if (length < 0) {
                length = Resumable.DEFERRED;
            }
            checkMaxSize(ex, v, length);
            String rawMetadata = blankToNull(ex.request().getHeaders().get("Upload-Metadata"));
            Map<String, String> metadata = new LinkedHashMap<>(Metadata.parse(rawMetadata, tus.maxMetadataSize()));
            String dispositionName = dispositionFilename(ex.request().getHeaders().get(HttpHeader.CONTENT_DISPOSITION));
            if (dispositionName != null && !dispositionName.isBlank()) {
                metadata.putIfAbsent("filename", dispositionName);
            }
            String type = representationType(ex);
            if (type != null) {
                metadata.putIfAbsent("filetype", type);
            }
            metadata = new LinkedHashMap<>(TokenLimits.resumableMetadata(ex.principal(), metadata));
            String filename = tus.filename(metadata);
            service.checkPipeline(metadata);
            ResumableService.Checksum checksum = TusApi.checksum(ex);
            boolean hasBody = TusApi.hasBody(ex);

            service.tokenLimits().count(ex.principal(), 1);
            // Reserved: what this request writes (its body), not the upload's length.
            try (Ticket ticket = tus.admit(ex, hasBody ? contentLength : 0)) {
                Resumable r = service.create(new ResumableService.NewUpload(length, metadata, rawMetadata, filename,
                        false, ex.client(), ex.principal().owner(), tus.maxSize(ex)));
                String location = tus.location(ex, r.id());
                announce(ex, v, location, r);
                QueuedJob job = null;
                if (hasBody || complete) {
                    try {
                        ResumableService.Outcome out = service.append(new ResumableService.Append(r.id(), 0,
                                        Resumable.DEFERRED, completeFlag(v, complete), checksum, tus.maxSize(ex)),
                                body(ex, length, length == Resumable.DEFERRED ? quotaLeft(ex, -1) : Long.MAX_VALUE),
                                ticket.buffer(), ticket.secondBuffer(), ticket.disk(), TusApi.releaseByClosing(ex));
                        r = out.upload();
                        job = out.job();
                    } catch (ApiException e) {
                        if (e.status() >= 400 && e.status() < 500 && e.status() != 408 && e.status() != 423) {
                            removeQuietly(r.id());
                        }
                        throw e;
                    }
                }
                ticket.close();
                HttpFields.Mutable h = ex.response().getHeaders();
                h.put(HttpHeader.LOCATION, location);
                state(ex, v, r);
                TusApi.jobHeaders(ex, job);
                ex.empty(201);
            }
        } catch (ApiException e) {
            answerError(ex, v, e, -1);
        }
    }

    /** Offset retrieval; a writer still holding the upload is asked to let go first (its client is resuming). */
    void head(Exchange ex) throws Exception {
        Interop v = negotiate(ex);
        tus.requireVisible(ex, ex.param("id"));
        Resumable r = service.status(ex.param("id"), () -> {
        });
        ex.response().getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        state(ex, v, r);
        ex.empty(204);
    }

    /** Append at {@code Upload-Offset}; {@code Upload-Complete} says whether this request ends the upload. */
    void append(Exchange ex) throws Exception {
        Interop v = negotiate(ex);
        long provided = -1;
        try {
            if (v.partialUploadType && !isPartialUpload(ex)) {
                throw new ApiException(415, "unsupported_content_type",
                        "an append needs Content-Type: " + PARTIAL_UPLOAD);
            }
            provided = TusApi.parseNonNegative("Upload-Offset", ex.request().getHeaders().get("Upload-Offset"), true);
            boolean complete = uploadComplete(ex);
            long declared = TusApi.parseNonNegative("Upload-Length", ex.request().getHeaders().get("Upload-Length"),
                    false);
            long newLength = declared;
            long contentLength = contentLength(ex);
            if (complete && contentLength >= 0) {
                long implied = provided + contentLength;
                if (declared >= 0 && declared != implied) {
                    throw inconsistentLength("Upload-Length is " + declared + " but Upload-Offset + Content-Length "
                            + "of this request, which completes the upload, is " + implied);
                }
                newLength = implied;
            }
            if (newLength < 0) {
                newLength = Resumable.DEFERRED;
            }
            String id = ex.param("id");
            tus.requireVisible(ex, id);
            checkMaxSize(ex, v, newLength);
            Resumable current = service.require(id);
            if (current.lengthDeferred() && newLength != Resumable.DEFERRED && newLength > current.offset()) {
                quotaLeft(ex, newLength - current.offset()); // the length becomes known: count it now
            }
            if (current.isComplete()) {
                ex.response().getHeaders().put("Upload-Offset", current.offset());
                if (v.problemTypes && TusApi.hasBody(ex)) {
                    throw inconsistentLength("upload " + id + " is complete at " + current.offset()
                            + " bytes; nothing can be appended");
                }
                throw ApiException.badRequest("upload_completed", "upload " + id + " is complete; nothing can be "
                        + "appended (its record is /api/v1/uploads/" + id + ")");
            }
            if (newLength != Resumable.DEFERRED && provided == current.offset()) {
                // Checked here only when the offset is right, so that a stale client learns its offset first (409).
                if (!current.lengthDeferred() && newLength != current.length()) {
                    throw inconsistentLength("the upload's length is " + current.length() + " but this request "
                            + "states " + newLength);
                }
                if (newLength < current.offset()) {
                    throw inconsistentLength("this request states a length of " + newLength + " but " + current.offset()
                            + " bytes were already received");
                }
            }
            long knownLength = newLength != Resumable.DEFERRED ? newLength : current.length();
            ResumableService.Checksum checksum = TusApi.checksum(ex);
            ResumableService.Outcome out;
            try (Ticket ticket = tus.admit(ex, ex.request().getLength())) {
                out = service.append(new ResumableService.Append(id, provided, newLength, completeFlag(v, complete),
                                checksum, tus.maxSize(ex)), body(ex, knownLength,
                                current.lengthDeferred() && newLength == Resumable.DEFERRED ? quotaLeft(ex, -1)
                                        : Long.MAX_VALUE), ticket.buffer(), ticket.secondBuffer(), ticket.disk(),
                        TusApi.releaseByClosing(ex));
            }
            state(ex, v, out.upload());
            TusApi.jobHeaders(ex, out.job());
            ex.empty(204);
        } catch (ApiException e) {
            answerError(ex, v, e, provided);
        }
    }

    /** Cancellation: the upload and its bytes go, finished or not; 204, then 404. */
    void delete(Exchange ex) throws Exception {
        negotiate(ex);
        tus.requireVisible(ex, ex.param("id"));
        service.terminate(ex.param("id"), () -> {
        });
        ex.empty(204);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Negotiation and headers.

    /** The request's interop version (echoed on every response), or 400 for one this server does not speak. */
    static Interop negotiate(Exchange ex) {
        String raw = ex.request().getHeaders().get(INTEROP_HEADER);
        String value = raw == null ? "" : raw.strip();
        for (Interop v : Interop.values()) {
            if (value.equals(String.valueOf(v.number))) {
                ex.response().getHeaders().put(INTEROP_HEADER, v.number);
                return v;
            }
        }
        throw new ApiException(400, "unsupported_interop_version", INTEROP_HEADER + " '" + TusApi.shorten(value)
                + "' is not supported; this server speaks interop versions " + Interop.SUPPORTED
                + " of the IETF resumable-upload draft, or tus " + TusApi.VERSION + " without that header",
                Map.of("supported", Interop.SUPPORTED), null);
    }

    /**
     * {@code Upload-Complete}, a structured-field Boolean ({@code ?1} / {@code ?0}, parameters ignored). Required:
     * 400 {@code invalid_upload_complete} when missing or not a Boolean.
     */
    static boolean uploadComplete(Exchange ex) {
        String raw = ex.request().getHeaders().get("Upload-Complete");
        if (raw == null) {
            throw ApiException.badRequest("invalid_upload_complete", "Upload-Complete is required: ?1 when this "
                    + "request ends the upload, ?0 when more follow");
        }
        String v = raw.strip();
        int semicolon = v.indexOf(';');
        if (semicolon >= 0) {
            v = v.substring(0, semicolon).strip();
        }
        return switch (v) {
            case "?1" -> true;
            case "?0" -> false;
            default -> throw ApiException.badRequest("invalid_upload_complete",
                    "Upload-Complete must be ?1 or ?0, not '" + TusApi.shorten(raw.strip()) + "'");
        };
    }

    /** What the service is told: TRUE ends the upload; otherwise see {@link Interop#explicitCompletion}. */
    private static Boolean completeFlag(Interop v, boolean complete) {
        if (complete) {
            return Boolean.TRUE;
        }
        return v.explicitCompletion ? Boolean.FALSE : null;
    }

    /** The upload's state on a response: offset, completeness, length, limits, and its record once finished. */
    private void state(Exchange ex, Interop v, Resumable r) {
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put("Upload-Offset", r.offset());
        h.put("Upload-Complete", r.isComplete() ? "?1" : "?0");
        if (!r.lengthDeferred()) {
            h.put("Upload-Length", r.length());
        }
        if (v.limits) {
            h.put("Upload-Limit", limits(ex, v, r));
        }
        TusApi.uploadIdHeader(ex, r);
    }

    /** {@code Upload-Limit}: the size limit, and the remaining lifetime of an unfinished upload. */
    private String limits(Exchange ex, Interop v, Resumable r) {
        String limits = "max-size=" + tus.maxSize(ex);
        if (r != null && !r.isComplete() && r.expiresAt() != null) {
            long seconds = Math.max(0, Duration.between(Instant.now(), r.expiresAt()).toSeconds());
            limits += ", " + v.lifetimeKey + "=" + seconds;
        }
        return limits;
    }

    /**
     * Sends the 104 with the upload's URL before the body is read, so a client cut off mid-body can resume. The 104
     * is optional in the draft: over HTTP/1.0, which has no interim responses, creation goes on without it.
     *
     * <p>Over HTTP/1.1 the interim response is written to the connection's end point directly: Jetty 12.1's
     * {@code HttpGenerator} writes header fields only for 103 among the 1xx codes, so {@code Response.writeInterim}
     * would send a bare {@code 104} without {@code Location}. Nothing of the final response has been generated yet
     * and no other write is pending (the body has not been demanded, so not even a {@code 100 Continue}), so the
     * bytes go out whole and in order before the final response.
     */
    private void announce(Exchange ex, Interop v, String location, Resumable r) throws IOException {
        HttpVersion version = ex.request().getConnectionMetaData().getHttpVersion();
        if (version == HttpVersion.HTTP_1_0 || location.indexOf('\r') >= 0 || location.indexOf('\n') >= 0) {
            return;
        }
        HttpFields.Mutable fields = HttpFields.build();
        fields.put(HttpHeader.LOCATION, location);
        fields.put(INTEROP_HEADER, String.valueOf(v.number));
        if (v.limits) {
            fields.put("Upload-Limit", limits(ex, v, r));
        }
        if (version == HttpVersion.HTTP_1_1) {
            StringBuilder head = new StringBuilder("HTTP/1.1 " + UPLOAD_RESUMPTION_SUPPORTED
                    + " Upload Resumption Supported\r\n");
            fields.forEach(f -> head.append(f.getName()).append(": ").append(f.getValue()).append("\r\n"));
            head.append("\r\n");
            EndPoint endPoint = ex.request().getConnectionMetaData().getConnection().getEndPoint();
            try (Blocker.Callback cb = Blocker.callback()) {
                endPoint.write(cb, ByteBuffer.wrap(head.toString().getBytes(StandardCharsets.ISO_8859_1)));
                cb.block();
            } catch (IOException e) {
                throw new ClientGoneException(e);
            }
            return;
        }
        try {
            ex.response().writeInterim(UPLOAD_RESUMPTION_SUPPORTED, fields).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw new ClientGoneException(io);
            }
            log.debug("request {}: no 104 sent: {}", ex.requestId(), e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientGoneException(e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Bodies, lengths and errors.

    /**
     * The body, refused once more bytes arrive than the upload has room for: beyond a known length that is an
     * inconsistent length (400), beyond the size limit of an upload of unknown length it is 413.
     */
    private ResumableService.Body body(Exchange ex, long knownLength, long quotaLeft) {
        long max = tus.maxSize(ex);
        io.sluice.api.Principal caller = ex.principal();
        java.util.function.Supplier<ApiException> tooLarge = () -> knownLength != Resumable.DEFERRED
                ? inconsistentLength("the body goes beyond the upload's length of " + knownLength + " bytes")
                : new ApiException(413, "file_too_large", "the upload goes beyond the limit of " + max + " bytes",
                Map.of("limit", max), null);
        return (serviceRoom, consumer) -> {
            // An upload of unknown length is also bounded by what the key's quota has left.
            long room = Math.min(serviceRoom, quotaLeft);
            java.util.function.Supplier<ApiException> refusal = quotaLeft < serviceRoom
                    ? () -> io.sluice.upload.Usage.exceeded(caller.quotaBytes(), caller.quotaBytes() - quotaLeft)
                    : tooLarge;
            // Refused before reading when the declared length cannot fit, so no checkpoint records part of it.
            if (ex.request().getLength() > room) {
                throw refusal.get();
            }
            return ex.readBody(room, refusal, consumer);
        };
    }

    /**
     * What the caller's quota has left; 413 {@code quota_exceeded} when {@code declared} more bytes (-1: unknown)
     * do not fit.
     */
    private long quotaLeft(Exchange ex, long declared) {
        try {
            return service.usage().remaining(ex.principal().owner(), ex.principal().quotaBytes(), declared);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot read the key's usage", e);
        }
    }

    private void checkMaxSize(Exchange ex, Interop v, long length) {
        long max = tus.maxSize(ex);
        if (length != Resumable.DEFERRED && length > max) {
            if (v.limits) {
                ex.response().getHeaders().put("Upload-Limit", limits(ex, v, null));
            }
            throw new ApiException(413, "file_too_large", "the upload's length " + length + " is above the limit of "
                    + max + " bytes", Map.of("limit", max), null);
        }
        // A known length counts against the key's quota from creation on.
        if (length != Resumable.DEFERRED && ex.request().getHeaders().get("Upload-Offset") == null) {
            quotaLeft(ex, length);
        }
    }

    /** Content-Length as a number of body bytes, or -1 when the body is chunked (its length is unknown). */
    private static long contentLength(Exchange ex) {
        if (ex.request().getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
            return -1;
        }
        return Math.max(0, ex.request().getLength());
    }

    private static boolean isPartialUpload(Exchange ex) {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        return type != null
                && PARTIAL_UPLOAD.equalsIgnoreCase(MimeTypes.getContentTypeWithoutCharset(type).strip());
    }

    /** The media type of the representation a creation request names, if it names one. */
    private static String representationType(Exchange ex) {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        if (type == null) {
            return null;
        }
        String bare = MimeTypes.getContentTypeWithoutCharset(type).strip().toLowerCase(Locale.ROOT);
        // tus-js-client labels the creation body of draft -05 application/partial-upload: that is not the file's type.
        if (bare.isEmpty() || bare.equals(PARTIAL_UPLOAD) || bare.equals(TusApi.OFFSET_OCTET_STREAM)) {
            return null;
        }
        return bare;
    }

    private static ApiException inconsistentLength(String message) {
        return ApiException.badRequest("inconsistent_length", message);
    }

    /**
     * Answers a failed creation or append: a mismatching offset always carries the right {@code Upload-Offset};
     * with version 8 it and a length error become RFC 9457 problems, everything else stays a JSON error.
     */
    private void answerError(Exchange ex, Interop v, ApiException e, long provided) throws IOException {
        if ("offset_mismatch".equals(e.code()) && e.details().get("offset") instanceof Number expected) {
            ex.response().getHeaders().put("Upload-Offset", expected.longValue());
            if (v.problemTypes) {
                Map<String, Object> problem = new LinkedHashMap<>();
                problem.put("type", MISMATCHING_OFFSET);
                problem.put("title", "offset from request does not match offset of resource");
                problem.put("status", 409);
                problem.put("detail", e.getMessage());
                problem.put("expected-offset", expected.longValue());
                problem.put("provided-offset", provided);
                problem.put("requestId", ex.requestId());
                problem(ex, 409, problem);
                return;
            }
        } else if (v.problemTypes && LENGTH_CODES.contains(e.code())) {
            Map<String, Object> problem = new LinkedHashMap<>();
            problem.put("type", INCONSISTENT_LENGTH);
            problem.put("title", "inconsistent length values for upload");
            problem.put("status", 400);
            problem.put("detail", e.getMessage());
            problem.put("requestId", ex.requestId());
            problem(ex, 400, problem);
            return;
        }
        throw e;
    }

    private static void problem(Exchange ex, int status, Map<String, Object> problem) throws IOException {
        byte[] bytes = Json.bytes(problem);
        ex.response().setStatus(status);
        ex.response().getHeaders().put(HttpHeader.CONTENT_TYPE, PROBLEM_JSON);
        ex.response().getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        ex.write(true, ByteBuffer.wrap(bytes));
    }

    /** Removes an upload whose creation failed for its content; it may already be gone (a refused type). */
    private void removeQuietly(String id) {
        try {
            service.terminate(id, () -> {
            });
        } catch (ApiException e) {
            // already removed
        } catch (Exception e) {
            log.warn("could not remove upload {} after its creation failed: {}", id, e.toString());
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Content-Disposition (RFC 6266), which draft -11 recommends for the file name.

    /**
     * The {@code filename*} (RFC 8187, UTF-8 or ISO-8859-1) or else {@code filename} parameter, or null. A malformed
     * {@code filename*} is ignored in favour of {@code filename}, as RFC 6266 lets recipients do.
     */
    static String dispositionFilename(String header) {
        if (header == null) {
            return null;
        }
        String plain = null;
        String extended = null;
        int i = header.indexOf(';');
        int n = header.length();
        while (i >= 0 && i < n) {
            // at a ';': read one parameter
            i++;
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == '\t')) {
                i++;
            }
            int nameStart = i;
            while (i < n && header.charAt(i) != '=' && header.charAt(i) != ';') {
                i++;
            }
            String name = header.substring(nameStart, i).strip().toLowerCase(Locale.ROOT);
            if (i >= n || header.charAt(i) == ';') {
                continue;
            }
            i++; // '='
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == '\t')) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && header.charAt(i) == '"') {
                i++;
                while (i < n && header.charAt(i) != '"') {
                    char c = header.charAt(i);
                    if (c == '\\' && i + 1 < n) {
                        c = header.charAt(++i);
                    }
                    value.append(c);
                    i++;
                }
                i = header.indexOf(';', i);
            } else {
                int end = header.indexOf(';', i);
                value.append(header, i, end < 0 ? n : end);
                i = end;
            }
            if (name.equals("filename")) {
                plain = value.toString().strip();
            } else if (name.equals("filename*")) {
                extended = decodeExtValue(value.toString().strip());
            }
        }
        return extended != null ? extended : plain;
    }

    /** RFC 8187 {@code charset'language'pct-encoded}, or null when malformed. */
    private static String decodeExtValue(String v) {
        int first = v.indexOf('\'');
        int second = first < 0 ? -1 : v.indexOf('\'', first + 1);
        if (second < 0) {
            return null;
        }
        String charsetName = v.substring(0, first).toUpperCase(Locale.ROOT);
        Charset charset = switch (charsetName) {
            case "UTF-8" -> StandardCharsets.UTF_8;
            case "ISO-8859-1" -> StandardCharsets.ISO_8859_1;
            default -> null;
        };
        if (charset == null) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        String encoded = v.substring(second + 1);
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '%') {
                if (i + 2 >= encoded.length()) {
                    return null;
                }
                int hi = Character.digit(encoded.charAt(i + 1), 16);
                int lo = Character.digit(encoded.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    return null;
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else if (c > 0x20 && c < 0x7f) {
                bytes.write(c);
            } else {
                return null;
            }
        }
        return bytes.toString(charset);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}
