package io.sluice.tus;

import io.sluice.admission.AdmissionController;
import io.sluice.admission.Ticket;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Principal;
import io.sluice.upload.QueuedJob;
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
import io.sluice.upload.ResumableService.Body;
import io.sluice.upload.ResumableService.BodySink;
import io.sluice.upload.ResumableService.Checksum;
import io.sluice.upload.ResumableService.NewUpload;
import io.sluice.upload.ResumableService.Outcome;
import io.sluice.upload.Usage;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Blocker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * What both resumable protocols ({@link TusProtocol}, {@link IetfDraft}) do the same way over HTTP: read headers
 * and bodies, run a {@link ResumableRequest} under admission, discard an upload nobody can resume, and write the
 * headers both answer with. The JSON error of each {@link ResumableFailure} is here too ({@link #error}); each
 * protocol decides, in its own switch, which of them it answers differently.
 */
final class ResumableHttp {

    private static final Logger log = LoggerFactory.getLogger(ResumableHttp.class);

    static final String OFFSET_OCTET_STREAM = "application/offset+octet-stream";
    /** tus checksum algorithm names and their JCA names (the IETF draft reads the same header). */
    static final Map<String, String> CHECKSUMS = Map.of("sha1", "SHA-1", "sha256", "SHA-256", "sha512", "SHA-512",
            "md5", "MD5");
    static final String CHECKSUM_ALGORITHMS = "sha1,sha256,sha512,md5";
    /** The name a file gets when the metadata names none. */
    static final String DEFAULT_FILENAME = "upload";
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private final ResumableService service;
    private final AdmissionController admission;
    private final String basePath;
    private final int maxMetadataSize;

    /** @param basePath where uploads live, with a trailing slash ({@code /files/}) */
    ResumableHttp(ResumableService service, AdmissionController admission, String basePath, int maxMetadataSize) {
        this.service = service;
        this.admission = admission;
        this.basePath = basePath;
        this.maxMetadataSize = maxMetadataSize;
    }

    ResumableService service() {
        return service;
    }

    String basePath() {
        return basePath;
    }

    int maxMetadataSize() {
        return maxMetadataSize;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Running requests.

    /** Called once the upload exists, before its first byte is read (the IETF draft announces it with a 104). */
    @FunctionalInterface
    interface Created {
        void accept(Resumable upload) throws IOException;
    }

    /**
     * Creates the upload and appends the body it carries. Admission reserves what this request writes.
     *
     * @param removeOnFailure whether a failed first append removes the upload: its client cannot (tus: never
     *                        learnt the URL) or must not (the draft, after a 4xx) resume it
     */
    Outcome create(Exchange ex, ResumableRequest.Create c, Created created, Predicate<Exception> removeOnFailure)
            throws Exception {
        try (Ticket ticket = admit(ex, c.reserve())) {
            Resumable r = service.create(c.upload());
            created.accept(r);
            if (c.first() == null) {
                return new Outcome(r);
            }
            try {
                return service.append(new ResumableService.Append(r.id(), 0, Resumable.DEFERRED,
                                c.first().completion(), c.first().checksum(), c.upload().maxSize()),
                        c.first().body().open(), ticket.buffer(), ticket.secondBuffer(), ticket.disk(),
                        releaseByClosing(ex));
            } catch (Exception e) {
                if (removeOnFailure.test(e)) {
                    discard(r.id(), e);
                }
                throw e;
            }
        }
    }

    /**
     * Creates an upload whose whole body is in the creation request, as one direct upload: admission reserves its
     * length.
     */
    Outcome createWhole(Exchange ex, NewUpload spec, Body body) throws Exception {
        try (Ticket ticket = admit(ex, spec.length())) {
            return service.createComplete(spec, body, ticket.buffer(), ticket.secondBuffer(), ticket.disk());
        }
    }

    Outcome append(Exchange ex, ResumableRequest.Append a) throws Exception {
        try (Ticket ticket = admit(ex, ex.request().getLength())) {
            return service.append(a.append(), a.body(), ticket.buffer(), ticket.secondBuffer(), ticket.disk(),
                    releaseByClosing(ex));
        }
    }

    /** The offset; a writer still holding the upload is asked to let go first (its client is resuming). */
    Resumable offset(Exchange ex, ResumableRequest.Offset o) throws Exception {
        requireVisible(ex, o.id());
        return service.status(o.id(), () -> {
        });
    }

    void terminate(Exchange ex, ResumableRequest.Terminate t) throws Exception {
        requireVisible(ex, t.id());
        service.terminate(t.id(), () -> {
        });
    }

    Outcome concatenate(Exchange ex, ResumableRequest.Concat c) throws Exception {
        try (Ticket ticket = admit(ex, -1)) {
            return service.concatenate(c.concatenation(), ticket.buffer(), ticket.secondBuffer(), ticket.disk());
        }
    }

    private Ticket admit(Exchange ex, long declaredLength) throws ClientGoneException {
        return ex.admit(admission, declaredLength);
    }

    /** Removes an upload whose creation failed; it may already be gone (a refused type, an empty file). */
    private void discard(String id, Exception cause) {
        try {
            service.terminate(id, () -> {
            });
        } catch (ResumableException gone) {
            // already removed
        } catch (Exception e) {
            log.warn("could not remove upload {} after its creation failed: {}", id, e.toString());
            cause.addSuppressed(e);
        }
    }

    /**
     * How a later request makes this one let go: close its connection, so its blocked body read fails, the bytes
     * received so far are saved, and the lock is released.
     */
    private static Runnable releaseByClosing(Exchange ex) {
        return () -> ex.request().getConnectionMetaData().getConnection().getEndPoint().close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reading requests.

    /**
     * 404 {@code not_found} when upload {@code id} belongs to another API key: to its caller it does not exist.
     * Unknown ids are left to the service, which does not find them either.
     */
    Resumable requireVisible(Exchange ex, String id) throws SQLException {
        Optional<Resumable> r = service.find(id);
        if (r.isPresent()) {
            ex.requireVisible(r.get().owner(), "upload " + id);
        }
        return r.orElse(null);
    }

    /** The caller's size limit: its API key's own, else {@code limits.maxFileSize} (Tus-Max-Size). */
    long maxSize(Exchange ex) {
        return ex.principal().maxFileSize(service.maxSize());
    }

    /**
     * What the caller's quota has left; 413 {@code quota_exceeded} when {@code declared} more bytes (-1: unknown)
     * do not fit.
     */
    long quotaLeft(Exchange ex, long declared) throws SQLException {
        return service.usage().remaining(ex.principal().owner(), ex.principal().quotaBytes(), declared);
    }

    String filename(Map<String, String> metadata) {
        String raw = metadata.getOrDefault("filename", metadata.get("name"));
        return service.sanitize(raw == null || raw.isBlank() ? DEFAULT_FILENAME : raw);
    }

    /**
     * The body, refused with {@code beyondRoom} once more bytes arrive than the upload has room for, or with 413
     * {@code quota_exceeded} when {@code quotaLeft} (what the caller's quota has left) is the smaller. A declared
     * length that cannot fit is refused before a byte is read (and before a checkpoint could record part of a body
     * that is refused anyway).
     */
    static Body body(Exchange ex, long quotaLeft, Supplier<? extends RuntimeException> beyondRoom) {
        Principal caller = ex.principal();
        return new Body() {
            @Override
            public long read(long room, BodySink sink) throws IOException {
                long max = Math.min(room, quotaLeft);
                Supplier<? extends RuntimeException> refusal = quotaLeft < room
                        ? () -> Usage.exceeded(caller.quotaBytes(), caller.quotaBytes() - quotaLeft)
                        : beyondRoom;
                if (ex.request().getLength() > max) {
                    throw refusal.get();
                }
                return ex.readBody(max, () -> {
                    throw refusal.get();
                }, chunk -> sink.accept(chunk.getByteBuffer()));
            }

            @Override
            public boolean interrupted(Exception failure) {
                return failure instanceof ClientGoneException
                        || (failure instanceof ApiException api && api.status() == 408);
            }
        };
    }

    static boolean hasBody(Exchange ex) {
        long length = ex.request().getLength();
        return length > 0 || (length < 0 && ex.request().getHeaders().contains(HttpHeader.TRANSFER_ENCODING));
    }

    /** Content-Length as a number of body bytes, or -1 when the body is chunked (its length is unknown). */
    static long contentLength(Exchange ex) {
        if (ex.request().getHeaders().contains(HttpHeader.TRANSFER_ENCODING)) {
            return -1;
        }
        return Math.max(0, ex.request().getLength());
    }

    /** The request's media type, lower case and without parameters, or null when it names none. */
    static String mediaType(Exchange ex) {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        return type == null ? null : MimeTypes.getContentTypeWithoutCharset(type).strip().toLowerCase(Locale.ROOT);
    }

    static boolean hasMediaType(Exchange ex, String expected) {
        return expected.equalsIgnoreCase(mediaType(ex));
    }

    static long parseNonNegative(String name, ErrorCode code, String value, boolean required) {
        if (value == null) {
            if (required) {
                throw code.error(name + " is required");
            }
            return -1;
        }
        String v = value.strip();
        if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw code.error(
                    name + " must be a non-negative integer, not '" + shorten(v) + "'");
        }
        return Long.parseLong(v);
    }

    /** {@code Upload-Checksum: <algorithm> <base64>}, or null when absent. */
    static Checksum checksum(Exchange ex) {
        String header = ex.request().getHeaders().get("Upload-Checksum");
        if (header == null) {
            return null;
        }
        String[] parts = header.strip().split(" +");
        if (parts.length != 2) {
            throw ErrorCode.INVALID_CHECKSUM.error("Upload-Checksum must be '<algorithm> <base64 digest>'");
        }
        String jca = CHECKSUMS.get(parts[0].toLowerCase(Locale.ROOT));
        if (jca == null) {
            throw ErrorCode.UNSUPPORTED_CHECKSUM_ALGORITHM.error("checksum algorithm '"
                    + shorten(parts[0]) + "' is not supported; use one of " + CHECKSUM_ALGORITHMS);
        }
        try {
            return new Checksum(jca, Base64.getDecoder().decode(parts[1]));
        } catch (IllegalArgumentException e) {
            throw ErrorCode.INVALID_CHECKSUM.error("the Upload-Checksum digest is not base64");
        }
    }

    static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    // ---------------------------------------------------------------------------------------------------------
    // Answering.

    /** The absolute URL of an upload, from the request's own scheme and authority. */
    String location(Exchange ex, String id) {
        HttpURI uri = ex.request().getHttpURI();
        return uri.getScheme() + "://" + uri.getAuthority() + basePath + id;
    }

    /**
     * The response that finished an upload names the job its pipeline started: {@code Sluice-Job-Id} and
     * {@code Sluice-Job-Url} (the job's status path, {@code /api/v1/jobs/<id>}).
     */
    static void jobHeaders(Exchange ex, QueuedJob job) {
        if (job != null) {
            ex.response().getHeaders().put("Sluice-Job-Id", job.id());
            ex.response().getHeaders().put("Sluice-Job-Url", job.statusUrl());
        }
    }

    /** Finished uploads name their record, so a client can go on with {@code /api/v1/uploads/{id}}. */
    static void uploadIdHeader(Exchange ex, Resumable r) {
        if (r.isComplete() && r.concat() != Resumable.Concat.PARTIAL) {
            ex.response().getHeaders().put("Sluice-Upload-Id", r.id());
        }
    }

    static void expires(Exchange ex, Resumable r) {
        if (!r.isComplete() && r.expiresAt() != null) {
            ex.response().getHeaders().put("Upload-Expires", HTTP_DATE.format(r.expiresAt()));
        }
    }

    /**
     * Sends an interim (1xx) response with {@code fields}; nothing over HTTP/1.0, which has none.
     *
     * <p>Over HTTP/1.1 it is written to the connection's end point directly: Jetty 12.1's {@code HttpGenerator}
     * writes header fields only for 103 among the 1xx codes, so {@code Response.writeInterim} would send a bare
     * status line. Nothing of the final response has been generated yet and no other write is pending (the body
     * has not been demanded, so not even a {@code 100 Continue}), so the bytes go out whole and in order before
     * the final response.
     *
     * @throws ClientGoneException when the client is gone
     */
    static void interim(Exchange ex, int status, String reason, HttpFields fields) throws IOException {
        HttpVersion version = ex.request().getConnectionMetaData().getHttpVersion();
        if (version == HttpVersion.HTTP_1_0) {
            return;
        }
        if (version == HttpVersion.HTTP_1_1) {
            StringBuilder head = new StringBuilder("HTTP/1.1 " + status + " " + reason + "\r\n");
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
            ex.response().writeInterim(status, fields).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw new ClientGoneException(io);
            }
            log.debug("request {}: no {} sent: {}", ex.requestId(), status, e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientGoneException(e);
        }
    }

    /**
     * The JSON error ({@code {"error":{"code":..}}}, README "Error codes") of each failure: tus answers every one
     * this way, the IETF draft all but the ones it answers as RFC 9457 problems.
     */
    static RuntimeException error(ResumableFailure failure) {
        return switch (failure) {
            case NotFound f -> ApiException.notFound("upload " + f.id());
            case Expired f -> ErrorCode.UPLOAD_EXPIRED.error("upload " + f.id() + " expired at " + f.at()
                    + " and its bytes were removed; start a new upload");
            case Locked f -> ErrorCode.UPLOAD_LOCKED.error(
                    "another request is writing to this upload; retry shortly", Map.of(), Duration.ofSeconds(1));
            case OffsetMismatch f -> ErrorCode.OFFSET_MISMATCH.error("the upload is at offset "
                    + f.offset() + "; resume from there (ask with HEAD)", Map.of("offset", f.offset()));
            case FinalImmutable f -> ErrorCode.FINAL_UPLOAD_IMMUTABLE.error(
                    "a final concatenation cannot be appended to; it was complete when created");
            case BeyondLength f -> ErrorCode.EXCEEDS_LENGTH.error("the body goes beyond the upload's "
                    + "length of " + f.length() + " bytes", Map.of("length", f.length()));
            case InconsistentLength f -> ErrorCode.INCONSISTENT_LENGTH.error("the upload was declared "
                    + f.length() + " bytes long but ends at " + f.end(), Map.of("length", f.length(), "end", f.end()));
            case LengthAlreadySet f -> ErrorCode.LENGTH_ALREADY_SET.error(
                    "the upload's length is already " + f.length() + " and cannot change to " + f.requested());
            case LengthBelowOffset f -> ErrorCode.INVALID_LENGTH.error(
                    "the length " + f.length() + " is below the " + f.offset() + " bytes already received");
            case TooLarge f -> ErrorCode.FILE_TOO_LARGE.error("the file is larger than the limit of "
                    + f.limit() + " bytes", Map.of("limit", f.limit()));
            case EmptyFile f -> ErrorCode.EMPTY_FILE.error("'" + f.filename() + "' is empty");
            case ChecksumMismatch f -> ErrorCode.CHECKSUM_MISMATCH.error("the " + f.algorithm()
                    + " of this request's body does not match Upload-Checksum; the bytes were discarded",
                    Map.of("offset", f.offset()));
            case LengthMismatch f -> ErrorCode.LENGTH_MISMATCH.error(
                    "the body has " + f.received() + " bytes but Upload-Length is " + f.length());
            case NoPartials f -> invalidConcat("Upload-Concat: final lists no partial uploads");
            case RepeatedPartial f -> invalidConcat("a partial upload appears twice in Upload-Concat");
            case UnknownPartial f -> invalidConcat("partial upload " + f.id() + " does not exist");
            case NotPartial f -> invalidConcat("upload " + f.id()
                    + " is not a partial upload (create it with Upload-Concat: partial)");
            case UnfinishedPartial f -> invalidConcat("partial upload " + f.id() + " is not finished (" + f.offset()
                    + " of " + (f.length() == Resumable.DEFERRED ? "?" : f.length()) + " bytes)");
            case FileRefused f -> f.refusal();
        };
    }

    private static ApiException invalidConcat(String message) {
        return ErrorCode.INVALID_CONCAT.error(message);
    }
}
