package io.sluice.tus;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Json;
import io.sluice.upload.Resumable;
import io.sluice.upload.ResumableException;
import io.sluice.upload.ResumableFailure;
import io.sluice.upload.ResumableFailure.BeyondLength;
import io.sluice.upload.ResumableFailure.ChecksumMismatch;
import io.sluice.upload.ResumableFailure.EmptyFile;
import io.sluice.upload.ResumableFailure.Expired;
import io.sluice.upload.ResumableFailure.FileRefused;
import io.sluice.upload.ResumableFailure.FinalImmutable;
import io.sluice.upload.ResumableFailure.InconsistentLength;
import io.sluice.upload.ResumableFailure.LengthAlreadySet;
import io.sluice.upload.ResumableFailure.LengthBelowOffset;
import io.sluice.upload.ResumableFailure.LengthMismatch;
import io.sluice.upload.ResumableFailure.Locked;
import io.sluice.upload.ResumableFailure.NoPartials;
import io.sluice.upload.ResumableFailure.NotFound;
import io.sluice.upload.ResumableFailure.NotPartial;
import io.sluice.upload.ResumableFailure.OffsetMismatch;
import io.sluice.upload.ResumableFailure.RepeatedPartial;
import io.sluice.upload.ResumableFailure.TooLarge;
import io.sluice.upload.ResumableFailure.UnfinishedPartial;
import io.sluice.upload.ResumableFailure.UnknownPartial;
import io.sluice.upload.ResumableService;
import io.sluice.upload.TokenLimits;
import io.sluice.upload.ResumableService.Body;
import io.sluice.upload.ResumableService.Completion;
import io.sluice.upload.ResumableService.NewUpload;
import io.sluice.upload.ResumableService.Outcome;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import static io.sluice.tus.ResumableHttp.blankToNull;
import static io.sluice.tus.ResumableHttp.contentLength;
import static io.sluice.tus.ResumableHttp.hasBody;
import static io.sluice.tus.ResumableHttp.parseNonNegative;
import static io.sluice.tus.ResumableHttp.shorten;

/**
 * The IETF "Resumable Uploads for HTTP" draft on the tus resources, negotiated by
 * {@code Upload-Draft-Interop-Version}: creation ({@code POST} with {@code Upload-Complete}, a {@code 104 Upload
 * Resumption Supported} announcing the upload before its body is read), offset retrieval ({@code HEAD}), append
 * ({@code PATCH}) and cancellation ({@code DELETE}) over {@link ResumableService}: its headers in, a
 * {@link ResumableRequest}, its headers out.
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
final class IetfDraft implements ResumableProtocol {

    static final String INTEROP_HEADER = "Upload-Draft-Interop-Version";
    static final String PARTIAL_UPLOAD = "application/partial-upload";
    static final String PROBLEM_JSON = "application/problem+json";
    static final String MISMATCHING_OFFSET =
            "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
    static final String INCONSISTENT_LENGTH =
            "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";
    /** 104 Upload Resumption Supported. */
    static final int UPLOAD_RESUMPTION_SUPPORTED = 104;

    private final ResumableHttp http;
    private final ResumableService service;

    IetfDraft(ResumableHttp http) {
        this.http = http;
        this.service = http.service();
    }

    static boolean applies(Exchange ex) {
        return ex.request().getHeaders().contains(INTEROP_HEADER);
    }

    /**
     * The lengths the client declared disagree with each other or with the bytes, as this adapter finds while
     * parsing or reading the body: {@code inconsistent_length}, an RFC 9457 problem from version 8 on.
     */
    private static final class LengthConflict extends RuntimeException {
        LengthConflict(String message) {
            super(message, null, false, false);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Requests.

    /** Discovery: {@code Accept-Patch} and the limits that creation will apply. */
    @Override
    public void options(Exchange ex) throws IOException {
        IetfInterop v = IetfInterop.negotiate(ex);
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
    @Override
    public void create(Exchange ex) throws Exception {
        IetfInterop v = IetfInterop.negotiate(ex);
        try {
            ResumableRequest.Create request = parseCreate(ex, v);
            Outcome out = http.create(ex, request, r -> announce(ex, v, http.location(ex, r.id()), r),
                    IetfDraft::refusedForContent);
            HttpFields.Mutable h = ex.response().getHeaders();
            h.put(HttpHeader.LOCATION, http.location(ex, out.upload().id()));
            state(ex, v, out.upload());
            ResumableHttp.jobHeaders(ex, out.job());
            ex.empty(201);
        } catch (ResumableException e) {
            fail(ex, v, e.failure(), -1);
        } catch (LengthConflict e) {
            inconsistentLength(ex, v, e.getMessage());
        }
    }

    private ResumableRequest.Create parseCreate(Exchange ex, IetfInterop v) throws Exception {
        boolean complete = uploadComplete(ex);
        if (ex.request().getHeaders().contains("Upload-Concat")) {
            throw ErrorCode.INVALID_CONCAT.error(
                    "Upload-Concat is tus; the IETF draft has no concatenation (drop " + INTEROP_HEADER + ")");
        }
        long declared = parseNonNegative("Upload-Length", ErrorCode.INVALID_UPLOAD_LENGTH,
                ex.request().getHeaders().get("Upload-Length"), false);
        long contentLength = contentLength(ex);
        long length = declared;
        if (complete && contentLength >= 0) {
            // Upload-Complete: ?1 with a Content-Length states the length too; both must agree.
            if (declared >= 0 && declared != contentLength) {
                throw new LengthConflict("Upload-Length is " + declared + " but the request, which completes the "
                        + "upload, has Content-Length " + contentLength);
            }
            length = contentLength;
        }
        if (length < 0) {
            length = Resumable.DEFERRED;
        }
        checkMaxSize(ex, v, length);
        String rawMetadata = blankToNull(ex.request().getHeaders().get("Upload-Metadata"));
        Map<String, String> metadata = new LinkedHashMap<>(Metadata.parse(rawMetadata, http.maxMetadataSize()));
        String dispositionName = ContentDisposition.filename(ex.request().getHeaders().get(HttpHeader.CONTENT_DISPOSITION));
        if (dispositionName != null && !dispositionName.isBlank()) {
            metadata.putIfAbsent("filename", dispositionName);
        }
        String type = representationType(ex);
        if (type != null) {
            metadata.putIfAbsent("filetype", type);
        }
        metadata = new LinkedHashMap<>(TokenLimits.resumableMetadata(ex.principal(), metadata));
        String filename = http.filename(metadata);
        service.checkPipeline(metadata);
        ResumableService.Checksum checksum = ResumableHttp.checksum(ex);
        boolean hasBody = hasBody(ex);
        long known = length;
        ResumableRequest.FirstAppend first = !hasBody && !complete ? null : new ResumableRequest.FirstAppend(
                completion(v, complete), checksum,
                () -> body(ex, known, known == Resumable.DEFERRED ? http.quotaLeft(ex, -1) : Long.MAX_VALUE));
        service.tokenLimits().count(ex.principal(), 1);
        NewUpload spec = new NewUpload(length, metadata, rawMetadata, filename, false, ex.client(),
                ex.principal().owner(), http.maxSize(ex), Request.getRemoteAddr(ex.request()));
        // Reserved: what this request writes (its body), not the upload's length.
        return new ResumableRequest.Create(spec, first, hasBody ? contentLength : 0);
    }

    /** Whether a failed creation leaves nothing a client would resume: the draft's clients give up after a 4xx. */
    private static boolean refusedForContent(Exception e) {
        return switch (e) {
            case ResumableException r -> !(r.failure() instanceof Locked);
            case LengthConflict c -> true;
            case ApiException a -> a.status() >= 400 && a.status() < 500 && a.status() != 408 && a.status() != 423;
            default -> false;
        };
    }

    /** Offset retrieval; a writer still holding the upload is asked to let go first (its client is resuming). */
    @Override
    public void offset(Exchange ex) throws Exception {
        IetfInterop v = IetfInterop.negotiate(ex);
        Resumable r = http.offset(ex, new ResumableRequest.Offset(ex.param("id")));
        ex.response().getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        state(ex, v, r);
        ex.empty(204);
    }

    /** Append at {@code Upload-Offset}; {@code Upload-Complete} says whether this request ends the upload. */
    @Override
    public void append(Exchange ex) throws Exception {
        IetfInterop v = IetfInterop.negotiate(ex);
        long[] provided = {-1};
        try {
            Outcome out = http.append(ex, parseAppend(ex, v, provided));
            state(ex, v, out.upload());
            ResumableHttp.jobHeaders(ex, out.job());
            ex.empty(204);
        } catch (ResumableException e) {
            fail(ex, v, e.failure(), provided[0]);
        } catch (LengthConflict e) {
            inconsistentLength(ex, v, e.getMessage());
        }
    }

    /** @param provided receives the client's {@code Upload-Offset} as soon as it is read, for a 409's problem */
    private ResumableRequest.Append parseAppend(Exchange ex, IetfInterop v, long[] provided) throws Exception {
        if (v.partialUploadType && !ResumableHttp.hasMediaType(ex, PARTIAL_UPLOAD)) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error("an append needs Content-Type: " + PARTIAL_UPLOAD);
        }
        long offset = parseNonNegative("Upload-Offset", ErrorCode.INVALID_UPLOAD_OFFSET,
                ex.request().getHeaders().get("Upload-Offset"), true);
        provided[0] = offset;
        boolean complete = uploadComplete(ex);
        long declared = parseNonNegative("Upload-Length", ErrorCode.INVALID_UPLOAD_LENGTH,
                ex.request().getHeaders().get("Upload-Length"), false);
        long newLength = declared;
        long contentLength = contentLength(ex);
        if (complete && contentLength >= 0) {
            long implied = offset + contentLength;
            if (declared >= 0 && declared != implied) {
                throw new LengthConflict("Upload-Length is " + declared + " but Upload-Offset + Content-Length "
                        + "of this request, which completes the upload, is " + implied);
            }
            newLength = implied;
        }
        if (newLength < 0) {
            newLength = Resumable.DEFERRED;
        }
        String id = ex.param("id");
        http.requireVisible(ex, id);
        checkMaxSize(ex, v, newLength);
        Resumable current = service.require(id);
        if (current.lengthDeferred() && newLength != Resumable.DEFERRED && newLength > current.offset()) {
            http.quotaLeft(ex, newLength - current.offset()); // the length becomes known: count it now
        }
        if (current.isComplete()) {
            ex.response().getHeaders().put("Upload-Offset", current.offset());
            if (v.problemTypes && hasBody(ex)) {
                throw new LengthConflict("upload " + id + " is complete at " + current.offset()
                        + " bytes; nothing can be appended");
            }
            throw ErrorCode.UPLOAD_COMPLETED.error("upload " + id + " is complete; nothing can be "
                    + "appended (its record is /api/v1/uploads/" + id + ")");
        }
        if (newLength != Resumable.DEFERRED && offset == current.offset()) {
            // Checked here only when the offset is right, so that a stale client learns its offset first (409).
            if (!current.lengthDeferred() && newLength != current.length()) {
                throw new LengthConflict("the upload's length is " + current.length() + " but this request "
                        + "states " + newLength);
            }
            if (newLength < current.offset()) {
                throw new LengthConflict("this request states a length of " + newLength + " but "
                        + current.offset() + " bytes were already received");
            }
        }
        long knownLength = newLength != Resumable.DEFERRED ? newLength : current.length();
        ResumableService.Checksum checksum = ResumableHttp.checksum(ex);
        Body body = body(ex, knownLength, current.lengthDeferred() && newLength == Resumable.DEFERRED
                ? http.quotaLeft(ex, -1) : Long.MAX_VALUE);
        return new ResumableRequest.Append(new ResumableService.Append(id, offset, newLength, completion(v, complete),
                checksum, http.maxSize(ex)), body);
    }

    /** Cancellation: the upload and its bytes go, finished or not; 204, then 404. */
    @Override
    public void terminate(Exchange ex) throws Exception {
        IetfInterop.negotiate(ex);
        http.terminate(ex, new ResumableRequest.Terminate(ex.param("id")));
        ex.empty(204);
    }

    @Override
    public void fail(Exchange ex, ResumableFailure failure) throws IOException {
        fail(ex, IetfInterop.negotiate(ex), failure, -1);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Errors.

    /**
     * Answers a failure of the service: a mismatching offset always carries the right {@code Upload-Offset}; from
     * version 8 on it and a length error are RFC 9457 problems; everything else is the JSON error tus answers too.
     *
     * @param provided the client's offset, or -1 when the request had none
     */
    private void fail(Exchange ex, IetfInterop v, ResumableFailure failure, long provided) throws IOException {
        switch (failure) {
            case OffsetMismatch m -> {
                ex.response().getHeaders().put("Upload-Offset", m.offset());
                RuntimeException error = ResumableHttp.error(m);
                if (!v.problemTypes) {
                    throw error;
                }
                Map<String, Object> problem = new LinkedHashMap<>();
                problem.put("type", MISMATCHING_OFFSET);
                problem.put("title", "offset from request does not match offset of resource");
                int status = ErrorCode.OFFSET_MISMATCH.status();
                problem.put("status", status);
                problem.put("detail", error.getMessage());
                problem.put("expected-offset", m.offset());
                problem.put("provided-offset", provided);
                problem.put("requestId", ex.requestId());
                problem(ex, status, problem);
            }
            case InconsistentLength _, LengthAlreadySet _, LengthBelowOffset _ ->
                    inconsistentLength(ex, v, ResumableHttp.error(failure));
            case NotFound _, Expired _, Locked _, FinalImmutable _, BeyondLength _, TooLarge _, EmptyFile _,
                 ChecksumMismatch _, LengthMismatch _, NoPartials _, RepeatedPartial _, UnknownPartial _,
                 NotPartial _, UnfinishedPartial _, FileRefused _ -> throw ResumableHttp.error(failure);
        }
    }

    private static void inconsistentLength(Exchange ex, IetfInterop v, String message) throws IOException {
        inconsistentLength(ex, v, ErrorCode.INCONSISTENT_LENGTH.error(message));
    }

    /** {@code error}, or from version 8 on the draft's inconsistent-length problem with its message. */
    private static void inconsistentLength(Exchange ex, IetfInterop v, RuntimeException error) throws IOException {
        if (!v.problemTypes) {
            throw error;
        }
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", INCONSISTENT_LENGTH);
        problem.put("title", "inconsistent length values for upload");
        int status = ErrorCode.INCONSISTENT_LENGTH.status();
        problem.put("status", status);
        problem.put("detail", error.getMessage());
        problem.put("requestId", ex.requestId());
        problem(ex, status, problem);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Negotiation and headers.

    /**
     * {@code Upload-Complete}, a structured-field Boolean ({@code ?1} / {@code ?0}, parameters ignored). Required:
     * 400 {@code invalid_upload_complete} when missing or not a Boolean.
     */
    static boolean uploadComplete(Exchange ex) {
        String raw = ex.request().getHeaders().get("Upload-Complete");
        if (raw == null) {
            throw ErrorCode.INVALID_UPLOAD_COMPLETE.error("Upload-Complete is required: ?1 when this "
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
            default -> throw ErrorCode.INVALID_UPLOAD_COMPLETE.error(
                    "Upload-Complete must be ?1 or ?0, not '" + shorten(raw.strip()) + "'");
        };
    }

    /** When the service ends the upload: see {@link IetfInterop#explicitCompletion}. */
    private static Completion completion(IetfInterop v, boolean complete) {
        if (complete) {
            return Completion.NOW;
        }
        return v.explicitCompletion ? Completion.NOT_YET : Completion.AT_LENGTH;
    }

    /** The upload's state on a response: offset, completeness, length, limits, and its record once finished. */
    private void state(Exchange ex, IetfInterop v, Resumable r) {
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put("Upload-Offset", r.offset());
        h.put("Upload-Complete", r.isComplete() ? "?1" : "?0");
        if (!r.lengthDeferred()) {
            h.put("Upload-Length", r.length());
        }
        if (v.limits) {
            h.put("Upload-Limit", limits(ex, v, r));
        }
        ResumableHttp.uploadIdHeader(ex, r);
    }

    /** {@code Upload-Limit}: the size limit, and the remaining lifetime of an unfinished upload. */
    private String limits(Exchange ex, IetfInterop v, Resumable r) {
        String limits = "max-size=" + http.maxSize(ex);
        if (r != null && !r.isComplete() && r.expiresAt() != null) {
            long seconds = Math.max(0, Duration.between(Instant.now(), r.expiresAt()).toSeconds());
            limits += ", " + v.lifetimeKey + "=" + seconds;
        }
        return limits;
    }

    /**
     * Sends the 104 with the upload's URL before the body is read, so a client cut off mid-body can resume. The 104
     * is optional in the draft: over HTTP/1.0, which has no interim responses, creation goes on without it.
     */
    private void announce(Exchange ex, IetfInterop v, String location, Resumable r) throws IOException {
        if (location.indexOf('\r') >= 0 || location.indexOf('\n') >= 0) {
            return;
        }
        HttpFields.Mutable fields = HttpFields.build();
        fields.put(HttpHeader.LOCATION, location);
        fields.put(INTEROP_HEADER, String.valueOf(v.number));
        if (v.limits) {
            fields.put("Upload-Limit", limits(ex, v, r));
        }
        ResumableHttp.interim(ex, UPLOAD_RESUMPTION_SUPPORTED, "Upload Resumption Supported", fields);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Bodies and lengths.

    /**
     * The body, refused once more bytes arrive than the upload has room for: beyond a known length that is an
     * inconsistent length (400), beyond the size limit of an upload of unknown length it is 413. An upload of
     * unknown length is also bounded by what the key's quota has left.
     */
    private Body body(Exchange ex, long knownLength, long quotaLeft) {
        long max = http.maxSize(ex);
        Supplier<RuntimeException> beyondRoom = () -> knownLength != Resumable.DEFERRED
                ? new LengthConflict("the body goes beyond the upload's length of " + knownLength + " bytes")
                : ErrorCode.FILE_TOO_LARGE.error("the upload goes beyond the limit of " + max + " bytes",
                Map.of("limit", max));
        return ResumableHttp.body(ex, quotaLeft, beyondRoom);
    }

    private void checkMaxSize(Exchange ex, IetfInterop v, long length) throws Exception {
        long max = http.maxSize(ex);
        if (length != Resumable.DEFERRED && length > max) {
            if (v.limits) {
                ex.response().getHeaders().put("Upload-Limit", limits(ex, v, null));
            }
            throw ErrorCode.FILE_TOO_LARGE.error("the upload's length " + length + " is above the limit of "
                    + max + " bytes", Map.of("limit", max));
        }
        // A known length counts against the key's quota from creation on.
        if (length != Resumable.DEFERRED && ex.request().getHeaders().get("Upload-Offset") == null) {
            http.quotaLeft(ex, length);
        }
    }

    /** The media type of the representation a creation request names, if it names one. */
    private static String representationType(Exchange ex) {
        String bare = ResumableHttp.mediaType(ex);
        // tus-js-client labels the creation body of draft -05 application/partial-upload: that is not the file's type.
        if (bare == null || bare.isEmpty() || bare.equals(PARTIAL_UPLOAD)
                || bare.equals(ResumableHttp.OFFSET_OCTET_STREAM)) {
            return null;
        }
        return bare;
    }

    private static void problem(Exchange ex, int status, Map<String, Object> problem) throws IOException {
        byte[] bytes = Json.bytes(problem);
        ex.response().setStatus(status);
        ex.response().getHeaders().put(HttpHeader.CONTENT_TYPE, PROBLEM_JSON);
        ex.response().getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        ex.write(true, ByteBuffer.wrap(bytes));
    }
}
