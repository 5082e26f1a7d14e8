package io.sluice.upload;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.admission.AdmissionController;
import io.sluice.admission.Ticket;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Principal;
import io.sluice.api.Exchange;
import io.sluice.api.Json;
import io.sluice.api.Routes;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Request;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Presigned direct uploads over HTTP.
 *
 * <pre>
 * POST /api/v1/uploads/presign        {filename, size, contentType, pipeline?} → 201 {uploadId, url, method,
 *                                      headers, expiresAt}
 * PUT  /api/v1/presigned/{id}?expires=&amp;signature=   the bytes (local storage) → 201 the upload record
 * POST /api/v1/uploads/{id}/complete   → 200 the upload record (idempotent)
 * POST /api/v1/storage/events          S3/MinIO notification JSON, Authorization: Bearer presign.eventToken → 200
 *                                      counts
 * </pre>
 */
public final class PresignApi {

    /** Largest presign request and storage event body. */
    static final int MAX_JSON_BODY = 64 * 1024;
    static final int MAX_EVENT_BODY = 1024 * 1024;

    private final PresignService service;
    private final AdmissionController admission;
    private final byte[] eventToken;

    /** @param eventToken the bearer token of the event endpoint; empty refuses every call */
    public PresignApi(PresignService service, AdmissionController admission, String eventToken) {
        this.service = service;
        this.admission = admission;
        this.eventToken = eventToken.getBytes(StandardCharsets.UTF_8);
    }

    public void register(Routes routes) {
        routes.add("POST", "/api/v1/uploads/presign", this::presign);
        routes.add("PUT", PresignService.PUT_PATH + "{id}", this::put);
        routes.add("POST", "/api/v1/uploads/{id}/complete", this::complete);
        routes.add("POST", "/api/v1/storage/events", this::events);
    }

    void presign(Exchange ex) throws Exception {
        JsonNode body = readJson(ex, MAX_JSON_BODY, ErrorCode.INVALID_JSON);
        if (!body.isObject()) {
            throw ErrorCode.INVALID_JSON.error("the body must be a JSON object");
        }
        JsonNode size = body.path("size");
        if (!size.isMissingNode() && !size.isNull() && !size.canConvertToExactIntegral()) {
            throw ErrorCode.INVALID_SIZE.error("size must be the file's length in bytes, >= 1");
        }
        PresignService.Request r = new PresignService.Request(text(body, "filename"),
                size.isIntegralNumber() && size.canConvertToLong() ? size.asLong() : null, text(body, "contentType"),
                text(body, "pipeline"));
        HttpURI uri = ex.request().getHttpURI();
        PresignService.Presigned p = service.presign(r, URI.create(uri.getScheme() + "://" + uri.getAuthority()),
                ex.client(), Request.getRemoteAddr(ex.request()), ex.principal());
        ex.json(201, p);
    }

    private static String text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw ErrorCode.INVALID_JSON.error(field + " must be a string");
        }
        return n.asText();
    }

    void put(Exchange ex) throws Exception {
        var query = Request.extractQueryParameters(ex.request());
        PresignedUpload row = service.authorize(ex.param("id"), query.getValue("expires"),
                query.getValue("signature"));
        // Content-Type is a signed header: another type would be another request than the one presigned.
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        String base = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!base.equals(row.contentType())) {
            throw ErrorCode.PRESIGN_INVALID.error("the presigned URL was signed for Content-Type: "
                    + row.contentType(), Map.of("contentType", row.contentType()));
        }
        long declared = ex.request().getLength();
        if (declared >= 0 && declared != row.size()) {
            throw PresignService.sizeMismatch(declared, row.size());
        }
        Stored stored;
        try (Ticket ticket = admit(ex, row.size())) {
            stored = service.receive(row, ex.client(), ticket.buffer(), ticket.secondBuffer(), ticket.disk(),
                    sink -> ex.readBody(row.size(), () -> PresignService.sizeMismatch(row.size() + 1, row.size()),
                            chunk -> sink.write(chunk.getByteBuffer())));
        }
        ex.json(201, UploadView.of(stored.upload(), stored.job()));
    }

    void complete(Exchange ex) throws Exception {
        Stored stored = service.complete(ex.param("id"), ex.principal()).stored();
        ex.json(200, UploadView.of(stored.upload(), stored.job()));
    }

    /** What the event endpoint did with a notification. */
    record EventsOutcome(int records, int completed, int alreadyCompleted, int ignored, List<Failed> failed) {
    }

    /** A record naming a presigned upload that could not be completed. */
    record Failed(String key, String uploadId, int status, String code, String message) {
    }

    void events(Exchange ex) throws Exception {
        String auth = ex.header(HttpHeader.AUTHORIZATION);
        if (eventToken.length == 0) {
            throw ErrorCode.UNAUTHORIZED.error("storage events are off (set presign.eventToken)");
        }
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : "";
        if (!MessageDigest.isEqual(eventToken, given.getBytes(StandardCharsets.UTF_8))) {
            ex.response().getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
            throw ErrorCode.UNAUTHORIZED.error("a valid Authorization: Bearer token is required");
        }
        JsonNode body = readJson(ex, MAX_EVENT_BODY, ErrorCode.INVALID_EVENT);
        JsonNode records = body.path("Records");
        if (!records.isArray()) {
            throw ErrorCode.INVALID_EVENT.error("an S3 event notification has a Records array");
        }
        int completed = 0;
        int already = 0;
        int ignored = 0;
        List<Failed> failed = new ArrayList<>();
        for (JsonNode rec : records) {
            String name = rec.path("eventName").asText("");
            // AWS writes "ObjectCreated:Put", MinIO "s3:ObjectCreated:Put".
            String event = name.startsWith("s3:") ? name.substring(3) : name;
            String rawKey = rec.path("s3").path("object").path("key").asText("");
            if (!event.startsWith("ObjectCreated:") || rawKey.isEmpty()) {
                ignored++;
                continue;
            }
            String key = URLDecoder.decode(rawKey, StandardCharsets.UTF_8);
            String id = key.substring(key.lastIndexOf('/') + 1);
            if (!service.exists(id)) {
                ignored++;
                continue;
            }
            try {
                // The event endpoint has its own credential (the storage's token) and acts for whoever presigned.
                if (service.complete(id, Principal.OPEN).recordedNow()) {
                    completed++;
                } else {
                    already++;
                }
            } catch (ApiException e) {
                failed.add(new Failed(key, id, e.status(), e.code(), e.getMessage()));
            }
        }
        ex.json(200, new EventsOutcome(records.size(), completed, already, ignored, failed));
    }

    private static JsonNode readJson(Exchange ex, int max, ErrorCode code) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ex.readBody(max, () -> ErrorCode.REQUEST_TOO_LARGE.error("the body is larger than " + max
                + " bytes", Map.of("limit", max)), chunk -> {
            var b = chunk.getByteBuffer();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            bytes.write(a);
        });
        try {
            JsonNode n = Json.mapper().readTree(bytes.toByteArray());
            if (n == null || n.isMissingNode()) {
                throw code.error("the body is empty; JSON expected");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw code.error("the body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private Ticket admit(Exchange ex, long declaredLength) throws ClientGoneException {
        return ex.admit(admission, declaredLength);
    }

}
