package io.sluice.tus;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Route;
import io.sluice.upload.TokenLimits;
import io.sluice.upload.Resumable;
import io.sluice.upload.ResumableFailure;
import io.sluice.upload.ResumableFailure.UnknownPartial;
import io.sluice.upload.ResumableService;
import io.sluice.upload.ResumableService.Body;
import io.sluice.upload.ResumableService.Checksum;
import io.sluice.upload.ResumableService.Completion;
import io.sluice.upload.ResumableService.Concatenation;
import io.sluice.upload.ResumableService.NewUpload;
import io.sluice.upload.ResumableService.Outcome;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.sluice.tus.ResumableHttp.OFFSET_OCTET_STREAM;
import static io.sluice.tus.ResumableHttp.blankToNull;
import static io.sluice.tus.ResumableHttp.hasBody;
import static io.sluice.tus.ResumableHttp.hasMediaType;
import static io.sluice.tus.ResumableHttp.parseNonNegative;
import static io.sluice.tus.ResumableHttp.shorten;

/**
 * tus 1.0.0 (core, creation, creation-with-upload, creation-defer-length, expiration, checksum, termination,
 * concatenation): its headers in, a {@link ResumableRequest}, its headers out. Errors are the usual JSON errors
 * ({@link ResumableHttp#error}), with {@code Tus-Resumable} set.
 */
final class TusProtocol implements ResumableProtocol {

    static final String VERSION = "1.0.0";
    static final String EXTENSIONS = "creation,creation-with-upload,creation-defer-length,expiration,checksum,"
            + "termination,concatenation";

    private final ResumableHttp http;
    private final ResumableService service;
    private final Route download;

    TusProtocol(ResumableHttp http, Route download) {
        this.http = http;
        this.service = http.service();
        this.download = download;
    }

    @Override
    public void options(Exchange ex) throws IOException {
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put("Tus-Resumable", VERSION);
        h.put("Tus-Version", VERSION);
        h.put("Tus-Extension", EXTENSIONS);
        h.put("Tus-Max-Size", http.maxSize(ex));
        h.put("Tus-Checksum-Algorithm", ResumableHttp.CHECKSUM_ALGORITHMS);
        ex.empty(204);
    }

    @Override
    public void create(Exchange ex) throws Exception {
        requireTus(ex);
        HttpFields headers = ex.request().getHeaders();
        String lengthHeader = headers.get("Upload-Length");
        String deferHeader = headers.get("Upload-Defer-Length");
        Map<String, String> metadata = TokenLimits.resumableMetadata(ex.principal(),
                Metadata.parse(headers.get("Upload-Metadata"), http.maxMetadataSize()));
        String rawMetadata = blankToNull(headers.get("Upload-Metadata"));
        String filename = http.filename(metadata);
        service.checkPipeline(metadata);
        boolean hasBody = hasBody(ex);
        if (hasBody && !hasMediaType(ex, OFFSET_OCTET_STREAM)) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error(
                    "a creation request with a body needs Content-Type: " + OFFSET_OCTET_STREAM);
        }

        Concat concat = Concat.parse(headers.get("Upload-Concat"), http.basePath(), ex.request().getHttpURI());
        if (concat instanceof Concat.Final f) {
            if (lengthHeader != null || deferHeader != null) {
                throw ErrorCode.INVALID_CONCAT.error(
                        "a final concatenation takes its length from its partial uploads; drop Upload-Length");
            }
            if (hasBody) {
                throw ErrorCode.INVALID_CONCAT.error("a final concatenation has no body");
            }
            for (String id : f.ids()) {
                Optional<Resumable> p = service.find(id);
                if (p.isPresent() && !ex.principal().canSee(p.get().owner())) {
                    // Someone else's partial upload is, to this caller, one that does not exist.
                    throw ResumableHttp.error(new UnknownPartial(id));
                }
            }
            Outcome out = http.concatenate(ex, new ResumableRequest.Concat(new Concatenation(f.ids(), metadata,
                    rawMetadata, filename, ex.client(), ex.principal().owner(), http.maxSize(ex))));
            created(ex, out, false);
            return;
        }

        long length = parseLength(ex, lengthHeader, deferHeader);
        // A known length is counted against the key's quota now; a deferred one as its bytes arrive.
        long quotaLeft = http.quotaLeft(ex, length);
        service.tokenLimits().count(ex.principal(), 1);
        NewUpload spec = new NewUpload(length, metadata, rawMetadata, filename, concat instanceof Concat.Partial,
                ex.client(), ex.principal().owner(), http.maxSize(ex), Request.getRemoteAddr(ex.request()));
        Checksum checksum = ResumableHttp.checksum(ex);
        // With a checksum the creation stays a resumable one: its finish tells preFinish the chosen pipeline and
        // runs the precheck first, which the one-commit path (a direct upload's order) does not.
        if (hasBody && checksum == null && length > 0 && ex.request().getLength() == length && !spec.partial()) {
            created(ex, http.createWhole(ex, spec, body(ex, Long.MAX_VALUE)), true);
            return;
        }
        ResumableRequest.FirstAppend first = !hasBody ? null : new ResumableRequest.FirstAppend(
                Completion.AT_LENGTH, checksum, () -> body(ex, spec.length() == Resumable.DEFERRED ? quotaLeft
                : Long.MAX_VALUE));
        // The client never learnt this upload's URL if its first append fails, so nobody can resume it: it is
        // removed at once instead of leaving its bytes until expiry.
        Outcome out = http.create(ex, new ResumableRequest.Create(spec, first, hasBody ? ex.request().getLength() : 0),
                r -> {
                }, failure -> true);
        created(ex, out, hasBody);
    }

    @Override
    public void offset(Exchange ex) throws Exception {
        requireTus(ex);
        Resumable r = http.offset(ex, new ResumableRequest.Offset(ex.param("id")));
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
                    r.partials().stream().map(id -> http.basePath() + id).toList()));
            case NONE -> {
            }
        }
        ResumableHttp.expires(ex, r);
        ex.empty(200);
    }

    @Override
    public void append(Exchange ex) throws Exception {
        requireTus(ex);
        String id = ex.param("id");
        Resumable current = http.requireVisible(ex, id);
        if (!hasMediaType(ex, OFFSET_OCTET_STREAM)) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error("PATCH needs Content-Type: " + OFFSET_OCTET_STREAM);
        }
        long offset = parseNonNegative("Upload-Offset", ErrorCode.INVALID_UPLOAD_OFFSET,
                ex.request().getHeaders().get("Upload-Offset"), true);
        String lengthHeader = ex.request().getHeaders().get("Upload-Length");
        long newLength = lengthHeader == null ? Resumable.DEFERRED
                : parseNonNegative("Upload-Length", ErrorCode.INVALID_UPLOAD_LENGTH, lengthHeader, true);
        if (newLength != Resumable.DEFERRED && newLength > http.maxSize(ex)) {
            throw tooLarge(ex);
        }
        // Bytes of an upload whose length is still deferred count against the key's quota as they arrive.
        long quotaLeft = Long.MAX_VALUE;
        if (current != null && current.lengthDeferred() && !current.isComplete()) {
            quotaLeft = http.quotaLeft(ex, newLength == Resumable.DEFERRED ? -1 : newLength - current.offset());
        }
        Checksum checksum = ResumableHttp.checksum(ex);
        Outcome out = http.append(ex, new ResumableRequest.Append(new ResumableService.Append(id, offset, newLength,
                Completion.AT_LENGTH, checksum, http.maxSize(ex)), body(ex, quotaLeft)));
        ex.response().getHeaders().put("Upload-Offset", out.upload().offset());
        ResumableHttp.uploadIdHeader(ex, out.upload());
        ResumableHttp.jobHeaders(ex, out.job());
        ResumableHttp.expires(ex, out.upload());
        ex.empty(204);
    }

    @Override
    public void terminate(Exchange ex) throws Exception {
        requireTus(ex);
        http.terminate(ex, new ResumableRequest.Terminate(ex.param("id")));
        ex.empty(204);
    }

    /** {@code GET}: a finished upload's bytes. */
    void download(Exchange ex) throws Exception {
        // A download needs no Tus-Resumable (a browser link sends none), but the answer still names the version.
        ex.response().getHeaders().put("Tus-Resumable", VERSION);
        http.requireVisible(ex, ex.param("id"));
        Resumable r = service.require(ex.param("id"));
        if (!r.isComplete() || r.concat() == Resumable.Concat.PARTIAL) {
            throw ErrorCode.UPLOAD_UNFINISHED.error("upload " + r.id() + " has " + r.offset()
                    + " bytes so far and cannot be downloaded until it is finished");
        }
        download.handle(ex);
    }

    /** tus answers every failure with its JSON error. */
    @Override
    public void fail(Exchange ex, ResumableFailure failure) {
        throw ResumableHttp.error(failure);
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Every tus response carries Tus-Resumable; a request without the right one is refused with 412. */
    private static void requireTus(Exchange ex) {
        ex.response().getHeaders().put("Tus-Resumable", VERSION);
        String version = ex.request().getHeaders().get("Tus-Resumable");
        if (!VERSION.equals(version == null ? null : version.strip())) {
            ex.response().getHeaders().put("Tus-Version", VERSION);
            throw ErrorCode.UNSUPPORTED_TUS_VERSION.error(version == null
                    ? "the Tus-Resumable header is missing; this server speaks tus " + VERSION
                    : "tus version '" + version + "' is not supported; this server speaks " + VERSION);
        }
    }

    /**
     * The body, with 413 once more bytes arrive than the upload has room for ({@code exceeds_length}), or than the
     * caller's quota has left ({@code quota_exceeded}, when {@code quotaLeft} is the smaller).
     */
    private static Body body(Exchange ex, long quotaLeft) {
        return ResumableHttp.body(ex, quotaLeft, () -> ErrorCode.EXCEEDS_LENGTH.error(
                "the body goes beyond the upload's length (or the size limit)"));
    }

    private long parseLength(Exchange ex, String lengthHeader, String deferHeader) {
        if (lengthHeader != null && deferHeader != null) {
            throw ErrorCode.INVALID_UPLOAD_LENGTH.error("send Upload-Length or Upload-Defer-Length, not both");
        }
        if (deferHeader != null) {
            if (!deferHeader.strip().equals("1")) {
                throw ErrorCode.INVALID_UPLOAD_DEFER_LENGTH.error("Upload-Defer-Length must be 1");
            }
            return Resumable.DEFERRED;
        }
        if (lengthHeader == null) {
            throw ErrorCode.INVALID_UPLOAD_LENGTH.error("Upload-Length or Upload-Defer-Length: 1 is required");
        }
        long length = parseNonNegative("Upload-Length", ErrorCode.INVALID_UPLOAD_LENGTH, lengthHeader, true);
        long max = http.maxSize(ex);
        if (length > max) {
            throw ErrorCode.FILE_TOO_LARGE.error("Upload-Length " + length + " is above Tus-Max-Size "
                    + max, Map.of("limit", max));
        }
        return length;
    }

    private ApiException tooLarge(Exchange ex) {
        long max = http.maxSize(ex);
        ex.response().getHeaders().put("Tus-Max-Size", max);
        return ErrorCode.FILE_TOO_LARGE.error("Upload-Length is above Tus-Max-Size " + max,
                Map.of("limit", max));
    }

    private void created(Exchange ex, Outcome out, boolean withOffset) throws IOException {
        Resumable r = out.upload();
        HttpFields.Mutable h = ex.response().getHeaders();
        h.put(HttpHeader.LOCATION, http.location(ex, r.id()));
        if (withOffset) {
            h.put("Upload-Offset", r.offset());
        }
        ResumableHttp.uploadIdHeader(ex, r);
        ResumableHttp.jobHeaders(ex, out.job());
        ResumableHttp.expires(ex, r);
        ex.empty(201);
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
                throw ErrorCode.INVALID_CONCAT.error("Upload-Concat must be 'partial' or 'final;<urls>'");
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
                    throw ErrorCode.INVALID_CONCAT.error(
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
