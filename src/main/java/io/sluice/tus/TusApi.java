package io.sluice.tus;

import io.sluice.admission.AdmissionController;
import io.sluice.admission.Ticket;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.Exchange;
import io.sluice.api.Route;
import io.sluice.api.Routes;
import io.sluice.upload.QueuedJob;
import io.sluice.upload.Resumable;
import io.sluice.upload.ResumableService;
import io.sluice.upload.TokenLimits;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.MimeTypes;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * tus 1.0.0 (core, creation, creation-with-upload, creation-defer-length, expiration, checksum, termination,
 * concatenation) over {@link ResumableService}. Protocol only: header parsing and rendering.
 *
 * <p>Requests that carry {@code Upload-Draft-Interop-Version} speak the IETF resumable-upload draft on the same
 * resources and are handed to {@link IetfDraft}. Errors are the usual JSON errors, with the tus headers set.
 */
public final class TusApi {

    public static final String VERSION = "1.0.0";
    static final String EXTENSIONS = "creation,creation-with-upload,creation-defer-length,expiration,checksum,"
            + "termination,concatenation";
    static final String OFFSET_OCTET_STREAM = "application/offset+octet-stream";
    /** tus checksum algorithm names and their JCA names. */
    static final Map<String, String> CHECKSUMS = Map.of("sha1", "SHA-1", "sha256", "SHA-256", "sha512", "SHA-512",
            "md5", "MD5");
    static final String CHECKSUM_ALGORITHMS = "sha1,sha256,sha512,md5";
    /** The name a file gets when the metadata names none. */
    static final String DEFAULT_FILENAME = "upload";
    /** Exposed to browsers by CORS: what tus-js-client and the IETF draft read. */
    public static final List<String> HEADERS = List.of("Tus-Resumable", "Tus-Version", "Tus-Extension",
            "Tus-Max-Size", "Tus-Checksum-Algorithm", "Upload-Offset", "Upload-Length", "Upload-Metadata",
            "Upload-Defer-Length", "Upload-Concat", "Upload-Expires", "Upload-Complete", "Upload-Limit",
            "Upload-Draft-Interop-Version", "Sluice-Upload-Id", "Sluice-Job-Id", "Sluice-Job-Url");
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private final ResumableService service;
    private final AdmissionController admission;
    private final String basePath;
    private final int maxMetadataSize;
    private final Route download;
    private final IetfDraft ietf;

    /**
     * @param basePath  where uploads live, with a trailing slash ({@code /files/})
     * @param download  serves a finished upload's bytes for {@code GET <basePath>{id}}
     */
    public TusApi(ResumableService service, AdmissionController admission, String basePath, int maxMetadataSize,
                  Route download) {
        this.service = service;
        this.admission = admission;
        this.basePath = basePath.endsWith("/") ? basePath : basePath + "/";
        this.maxMetadataSize = maxMetadataSize;
        this.download = download;
        this.ietf = new IetfDraft(this, service);
    }

    public void register(Routes routes) {
        String collection = basePath.substring(0, basePath.length() - 1);
        String item = basePath + "{id}";
        routes.add("OPTIONS", collection, this::options);
        routes.add("OPTIONS", item, this::options);
        routes.add("POST", collection, this::post);
        routes.add("POST", item, this::overridden);
        routes.add("HEAD", item, this::head);
        routes.add("PATCH", item, this::patch);
        routes.add("DELETE", item, this::delete);
        routes.add("GET", item, this::get);
    }

    // ---------------------------------------------------------------------------------------------------------

    void options(Exchange ex) throws Exception {
        if (IetfDraft.applies(ex)) {
            ietf.options(ex);
            return;
        }
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put("Tus-Resumable", VERSION);
        h.put("Tus-Version", VERSION);
        h.put("Tus-Extension", EXTENSIONS);
        h.put("Tus-Max-Size", maxSize(ex));
        h.put("Tus-Checksum-Algorithm", CHECKSUM_ALGORITHMS);
        ex.empty(204);
    }

    /** {@code X-HTTP-Method-Override} on a POST to an upload: clients behind proxies that drop PATCH use it. */
    void overridden(Exchange ex) throws Exception {
        String method = ex.request().getHeaders().get("X-HTTP-Method-Override");
        String m = method == null ? "" : method.strip().toUpperCase(Locale.ROOT);
        switch (m) {
            case "PATCH" -> patch(ex);
            case "HEAD" -> head(ex);
            case "DELETE" -> delete(ex);
            default -> {
                ex.response().getHeaders().put("Tus-Resumable", VERSION);
                ex.response().getHeaders().put(HttpHeader.ALLOW, "HEAD, PATCH, DELETE, GET, OPTIONS");
                throw new ApiException(405, "method_not_allowed", "POST to an upload needs "
                        + "X-HTTP-Method-Override: PATCH, HEAD or DELETE");
            }
        }
    }

    void post(Exchange ex) throws Exception {
        if (IetfDraft.applies(ex)) {
            ietf.create(ex);
            return;
        }
        requireTus(ex);
        String concatHeader = ex.request().getHeaders().get("Upload-Concat");
        String lengthHeader = ex.request().getHeaders().get("Upload-Length");
        String deferHeader = ex.request().getHeaders().get("Upload-Defer-Length");
        Map<String, String> metadata = TokenLimits.resumableMetadata(ex.principal(),
                Metadata.parse(ex.request().getHeaders().get("Upload-Metadata"), maxMetadataSize));
        String rawMetadata = blankToNull(ex.request().getHeaders().get("Upload-Metadata"));
        String filename = filename(metadata);
        service.checkPipeline(metadata);
        boolean hasBody = hasBody(ex);
        if (hasBody && !isOffsetOctetStream(ex)) {
            throw new ApiException(415, "unsupported_content_type",
                    "a creation request with a body needs Content-Type: " + OFFSET_OCTET_STREAM);
        }

        Concat concat = Concat.parse(concatHeader, basePath, ex.request().getHttpURI());
        if (concat instanceof Concat.Final f) {
            if (lengthHeader != null || deferHeader != null) {
                throw ApiException.badRequest("invalid_concat",
                        "a final concatenation takes its length from its partial uploads; drop Upload-Length");
            }
            if (hasBody) {
                throw ApiException.badRequest("invalid_concat", "a final concatenation has no body");
            }
            for (String id : f.ids()) {
                Optional<Resumable> p = service.find(id);
                if (p.isPresent() && !ex.principal().canSee(p.get().owner())) {
                    // Someone else's partial upload is, to this caller, one that does not exist.
                    throw ApiException.badRequest("invalid_concat", "partial upload " + id + " does not exist");
                }
            }
            ResumableService.Outcome out;
            try (Ticket ticket = admit(ex, -1)) {
                out = service.concatenate(f.ids(), metadata, rawMetadata, filename, ex.client(),
                        ex.principal().owner(), maxSize(ex), ticket.buffer(), ticket.secondBuffer(), ticket.disk());
            }
            created(ex, out, false);
            return;
        }

        long length = parseLength(ex, lengthHeader, deferHeader);
        // A known length is counted against the key's quota now; a deferred one as its bytes arrive.
        long quotaLeft = service.usage().remaining(ex.principal().owner(), ex.principal().quotaBytes(), length);
        service.tokenLimits().count(ex.principal(), 1);
        ResumableService.NewUpload spec = new ResumableService.NewUpload(length, metadata, rawMetadata, filename,
                concat instanceof Concat.Partial, ex.client(), ex.principal().owner(), maxSize(ex));
        long bodyLength = ex.request().getLength();
        ResumableService.Checksum checksum = checksum(ex);
        if (hasBody && checksum == null && length > 0 && bodyLength == length && !spec.partial()) {
            ResumableService.Outcome out;
            try (Ticket ticket = admit(ex, length)) {
                out = service.createComplete(spec, body(ex, Long.MAX_VALUE, null), ticket.buffer(),
                        ticket.secondBuffer(), ticket.disk());
            }
            created(ex, out, true);
            return;
        }
        // Reserved: what this request writes (its body), not the upload's length, which later PATCHes reserve.
        try (Ticket ticket = admit(ex, hasBody ? bodyLength : 0)) {
            Resumable r = service.create(spec);
            ResumableService.Outcome out = new ResumableService.Outcome(r, Optional.empty(), null);
            if (hasBody) {
                try {
                    out = service.append(new ResumableService.Append(r.id(), 0, Resumable.DEFERRED, null, checksum,
                                    maxSize(ex)), body(ex, r.lengthDeferred() ? quotaLeft : Long.MAX_VALUE,
                                    ex.principal()), ticket.buffer(), ticket.secondBuffer(), ticket.disk(),
                                    releaseByClosing(ex));
                } catch (Exception e) {
                    // The client never learnt this upload's URL, so nobody can resume it: remove it now
                    // instead of leaving its bytes until expiry.
                    discard(r.id(), e);
                    throw e;
                }
            }
            ticket.close();
            created(ex, out, hasBody);
        }
    }

    private void discard(String id, Exception cause) {
        try {
            service.terminate(id, () -> {
            });
        } catch (ApiException gone) {
            // already removed (a refused type, an empty file)
        } catch (Exception e) {
            cause.addSuppressed(e);
        }
    }

    void head(Exchange ex) throws Exception {
        if (IetfDraft.applies(ex)) {
            ietf.head(ex);
            return;
        }
        requireTus(ex);
        requireVisible(ex, ex.param("id"));
        Resumable r = service.status(ex.param("id"), () -> {
        });
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put(HttpHeader.CACHE_CONTROL, "no-store");
        h.put("Upload-Offset", r.offset());
        if (r.lengthDeferred()) {
            h.put("Upload-Defer-Length", "1");
        } else {
            h.put("Upload-Length", r.length());
        }
        if (r.rawMetadata() != null) {
            h.put("Upload-Metadata", r.rawMetadata());
        }
        switch (r.concat()) {
            case PARTIAL -> h.put("Upload-Concat", "partial");
            case FINAL -> h.put("Upload-Concat", "final;" + String.join(" ",
                    r.partials().stream().map(id -> basePath + id).toList()));
            case NONE -> {
            }
        }
        expires(ex, r);
        ex.empty(200);
    }

    void patch(Exchange ex) throws Exception {
        if (IetfDraft.applies(ex)) {
            ietf.append(ex);
            return;
        }
        requireTus(ex);
        Resumable current = requireVisible(ex, ex.param("id"));
        if (!isOffsetOctetStream(ex)) {
            throw new ApiException(415, "unsupported_content_type", "PATCH needs Content-Type: " + OFFSET_OCTET_STREAM);
        }
        long offset = parseNonNegative("Upload-Offset", ex.request().getHeaders().get("Upload-Offset"), true);
        String lengthHeader = ex.request().getHeaders().get("Upload-Length");
        long newLength = lengthHeader == null ? Resumable.DEFERRED
                : parseNonNegative("Upload-Length", lengthHeader, true);
        if (newLength != Resumable.DEFERRED && newLength > maxSize(ex)) {
            throw tooLarge(ex);
        }
        // Bytes of an upload whose length is still deferred count against the key's quota as they arrive.
        long quotaLeft = Long.MAX_VALUE;
        if (current != null && current.lengthDeferred() && !current.isComplete()) {
            quotaLeft = service.usage().remaining(ex.principal().owner(), ex.principal().quotaBytes(),
                    newLength == Resumable.DEFERRED ? -1 : newLength - current.offset());
        }
        ResumableService.Checksum checksum = checksum(ex);
        ResumableService.Outcome out;
        try (Ticket ticket = admit(ex, ex.request().getLength())) {
            out = service.append(new ResumableService.Append(ex.param("id"), offset, newLength, null, checksum,
                    maxSize(ex)), body(ex, quotaLeft, ex.principal()), ticket.buffer(), ticket.secondBuffer(),
                    ticket.disk(),
                    releaseByClosing(ex));
        }
        ex.response().getHeaders().put("Upload-Offset", out.upload().offset());
        uploadIdHeader(ex, out.upload());
        jobHeaders(ex, out.job());
        expires(ex, out.upload());
        ex.empty(204);
    }

    void delete(Exchange ex) throws Exception {
        if (IetfDraft.applies(ex)) {
            ietf.delete(ex);
            return;
        }
        requireTus(ex);
        requireVisible(ex, ex.param("id"));
        service.terminate(ex.param("id"), () -> {
        });
        ex.empty(204);
    }

    void get(Exchange ex) throws Exception {
        // A download needs no Tus-Resumable (a browser link sends none), but the answer still names the version.
        ex.response().getHeaders().put("Tus-Resumable", VERSION);
        requireVisible(ex, ex.param("id"));
        Resumable r = service.require(ex.param("id"));
        if (!r.isComplete() || r.concat() == Resumable.Concat.PARTIAL) {
            throw new ApiException(409, "upload_unfinished", "upload " + r.id() + " has " + r.offset()
                    + " bytes so far and cannot be downloaded until it is finished");
        }
        download.handle(ex);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Shared with the IETF draft.

    /**
     * 404 {@code not_found} when upload {@code id} belongs to another API key: to its caller it does not exist.
     * Unknown ids are left to the service, which answers 404 as well.
     */
    Resumable requireVisible(Exchange ex, String id) throws java.sql.SQLException {
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

    /** Every tus response carries Tus-Resumable; a request without the right one is refused with 412. */
    static void requireTus(Exchange ex) {
        ex.response().getHeaders().put("Tus-Resumable", VERSION);
        String version = ex.request().getHeaders().get("Tus-Resumable");
        if (!VERSION.equals(version == null ? null : version.strip())) {
            ex.response().getHeaders().put("Tus-Version", VERSION);
            throw new ApiException(412, "unsupported_tus_version", version == null
                    ? "the Tus-Resumable header is missing; this server speaks tus " + VERSION
                    : "tus version '" + version + "' is not supported; this server speaks " + VERSION);
        }
    }

    Ticket admit(Exchange ex, long declaredLength) throws ClientGoneException {
        return ex.admit(admission, declaredLength);
    }

    /**
     * The body, with 413 once more bytes arrive than the upload has room for ({@code exceeds_length}), or than the
     * caller's quota has left ({@code quota_exceeded}, when {@code quotaLeft} is the smaller).
     */
    static ResumableService.Body body(Exchange ex, long quotaLeft, io.sluice.api.Principal caller) {
        return (room, consumer) -> {
            long max = Math.min(room, quotaLeft);
            java.util.function.Supplier<ApiException> tooLarge = quotaLeft < room
                    ? () -> io.sluice.upload.Usage.exceeded(caller.quotaBytes(), caller.quotaBytes() - quotaLeft)
                    : TusApi::exceedsLength;
            // A declared length that cannot fit is refused before a byte is read (and before a checkpoint could
            // record part of a body that is refused anyway).
            if (ex.request().getLength() > max) {
                throw tooLarge.get();
            }
            return ex.readBody(max, tooLarge, consumer);
        };
    }

    private static ApiException exceedsLength() {
        return new ApiException(413, "exceeds_length", "the body goes beyond the upload's length (or the size limit)");
    }

    /**
     * How a later request makes this one let go: close its connection, so its blocked body read fails, the bytes
     * received so far are saved, and the lock is released.
     */
    static Runnable releaseByClosing(Exchange ex) {
        return () -> ex.request().getConnectionMetaData().getConnection().getEndPoint().close();
    }

    String filename(Map<String, String> metadata) {
        String raw = metadata.getOrDefault("filename", metadata.get("name"));
        return service.sanitize(raw == null || raw.isBlank() ? DEFAULT_FILENAME : raw);
    }

    /** The absolute URL of an upload, from the request's own scheme and authority. */
    String location(Exchange ex, String id) {
        HttpURI uri = ex.request().getHttpURI();
        return uri.getScheme() + "://" + uri.getAuthority() + basePath + id;
    }

    String basePath() {
        return basePath;
    }

    int maxMetadataSize() {
        return maxMetadataSize;
    }

    static boolean hasBody(Exchange ex) {
        long length = ex.request().getLength();
        return length > 0 || (length < 0 && ex.request().getHeaders().contains(HttpHeader.TRANSFER_ENCODING));
    }

    static boolean isOffsetOctetStream(Exchange ex) {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        return type != null && OFFSET_OCTET_STREAM.equalsIgnoreCase(MimeTypes.getContentTypeWithoutCharset(type).strip());
    }

    static long parseNonNegative(String name, String value, boolean required) {
        if (value == null) {
            if (required) {
                throw ApiException.badRequest("invalid_" + snake(name), name + " is required");
            }
            return -1;
        }
        String v = value.strip();
        if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw ApiException.badRequest("invalid_" + snake(name),
                    name + " must be a non-negative integer, not '" + shorten(v) + "'");
        }
        return Long.parseLong(v);
    }

    private long parseLength(Exchange ex, String lengthHeader, String deferHeader) {
        if (lengthHeader != null && deferHeader != null) {
            throw ApiException.badRequest("invalid_upload_length", "send Upload-Length or Upload-Defer-Length, not both");
        }
        if (deferHeader != null) {
            if (!deferHeader.strip().equals("1")) {
                throw ApiException.badRequest("invalid_upload_defer_length", "Upload-Defer-Length must be 1");
            }
            return Resumable.DEFERRED;
        }
        if (lengthHeader == null) {
            throw ApiException.badRequest("invalid_upload_length", "Upload-Length or Upload-Defer-Length: 1 is required");
        }
        long length = parseNonNegative("Upload-Length", lengthHeader, true);
        long max = maxSize(ex);
        if (length > max) {
            throw new ApiException(413, "file_too_large", "Upload-Length " + length + " is above Tus-Max-Size "
                    + max, Map.of("limit", max), null);
        }
        return length;
    }

    private ApiException tooLarge(Exchange ex) {
        long max = maxSize(ex);
        ex.response().getHeaders().put("Tus-Max-Size", max);
        return new ApiException(413, "file_too_large", "Upload-Length is above Tus-Max-Size " + max,
                Map.of("limit", max), null);
    }

    /** {@code Upload-Checksum: <algorithm> <base64>}, or null when absent. */
    static ResumableService.Checksum checksum(Exchange ex) {
        String header = ex.request().getHeaders().get("Upload-Checksum");
        if (header == null) {
            return null;
        }
        String[] parts = header.strip().split(" +");
        if (parts.length != 2) {
            throw ApiException.badRequest("invalid_checksum", "Upload-Checksum must be '<algorithm> <base64 digest>'");
        }
        String jca = CHECKSUMS.get(parts[0].toLowerCase(Locale.ROOT));
        if (jca == null) {
            throw ApiException.badRequest("unsupported_checksum_algorithm", "checksum algorithm '"
                    + shorten(parts[0]) + "' is not supported; use one of " + CHECKSUM_ALGORITHMS);
        }
        try {
            return new ResumableService.Checksum(jca, Base64.getDecoder().decode(parts[1]));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_checksum", "the Upload-Checksum digest is not base64");
        }
    }

    private void created(Exchange ex, ResumableService.Outcome out, boolean withOffset) throws java.io.IOException {
        Resumable r = out.upload();
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put(HttpHeader.LOCATION, location(ex, r.id()));
        if (withOffset) {
            h.put("Upload-Offset", r.offset());
        }
        uploadIdHeader(ex, r);
        jobHeaders(ex, out.job());
        expires(ex, r);
        ex.empty(201);
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

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static String snake(String header) {
        return header.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /** The {@code Upload-Concat} header. */
    sealed interface Concat {
        record None() implements Concat {
        }

        record Partial() implements Concat {
        }

        record Final(List<String> ids) implements Concat {
        }

        /**
         * @param basePath upload URLs must live under it; anything else is a foreign upload (400)
         * @param self     this request's URI: an absolute upload URL must name its host and port
         */
        static Concat parse(String header, String basePath, HttpURI self) {
            if (header == null) {
                return new None();
            }
            String h = header.strip();
            if (h.equals("partial")) {
                return new Partial();
            }
            if (!h.startsWith("final;")) {
                throw ApiException.badRequest("invalid_concat", "Upload-Concat must be 'partial' or 'final;<urls>'");
            }
            List<String> ids = new ArrayList<>();
            for (String url : h.substring("final;".length()).strip().split(" +")) {
                if (url.isEmpty()) {
                    continue;
                }
                String path;
                try {
                    HttpURI uri = HttpURI.from(url);
                    // Another host's upload with this server's path would otherwise be read as ours.
                    path = uri.getHost() == null || sameAuthority(uri, self) ? uri.getPath() : null;
                } catch (IllegalArgumentException e) {
                    path = null;
                }
                if (path == null || !path.startsWith(basePath) || path.length() == basePath.length()
                        || path.indexOf('/', basePath.length()) >= 0) {
                    throw ApiException.badRequest("invalid_concat",
                            "'" + shorten(url) + "' is not an upload of this server (expected " + basePath + "<id>)");
                }
                ids.add(path.substring(basePath.length()));
            }
            return new Final(ids);
        }

        /**
         * Same host name and port; a missing port is the default of the URL's scheme on both sides, so
         * {@code https://host/files/x} matches a request for {@code host} that a TLS proxy forwarded as http.
         */
        private static boolean sameAuthority(HttpURI url, HttpURI self) {
            int dflt = HttpScheme.getDefaultPort(url.getScheme());
            return self.getHost() != null && url.getHost().equalsIgnoreCase(self.getHost())
                    && (url.getPort() > 0 ? url.getPort() : dflt) == (self.getPort() > 0 ? self.getPort() : dflt);
        }
    }
}
