package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Json;
import io.sluice.api.Routes;
import io.sluice.config.Units;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MimeTypes;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Key management over HTTP, for admin keys only ({@link AccessPolicy}):
 *
 * <pre>
 * GET    /api/v1/keys        every key (revoked ones too), never a secret
 * POST   /api/v1/keys        {"name", "admin"?, "maxFileSize"?, "quota"?, "rate"?} → 201 with the key, shown once
 * DELETE /api/v1/keys/{id}   revokes; 204, 404 for an unknown key
 * </pre>
 *
 * Sizes are bytes or strings with units ("100MiB"), as in the configuration.
 */
public final class KeysApi {

    static final int MAX_BODY = 16 * 1024;

    private final ApiKeys keys;
    private final Authenticator auth;

    public KeysApi(ApiKeys keys, Authenticator auth) {
        this.keys = keys;
        this.auth = auth;
    }

    public void register(Routes routes) {
        routes.add("GET", "/api/v1/keys", this::list);
        routes.add("POST", "/api/v1/keys", this::create);
        routes.add("DELETE", "/api/v1/keys/{id}", this::revoke);
    }

    void list(Exchange ex) throws Exception {
        List<Map<String, Object>> out = keys.list().stream().map(KeysApi::view).toList();
        ex.json(200, Map.of("keys", out));
    }

    void create(Exchange ex) throws Exception {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        if (type == null || !"application/json".equalsIgnoreCase(MimeTypes.getContentTypeWithoutCharset(type).strip())) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error("POST /api/v1/keys needs Content-Type: application/json");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ex.readBody(MAX_BODY, () -> ErrorCode.REQUEST_TOO_LARGE.error("a key request is at most "
                + MAX_BODY + " bytes"), chunk -> {
            byte[] b = new byte[chunk.remaining()];
            chunk.getByteBuffer().get(b);
            body.write(b);
        });
        JsonNode json;
        try {
            json = Json.mapper().readTree(body.toByteArray());
        } catch (IOException e) {
            throw ErrorCode.INVALID_JSON.error("the body is not JSON");
        }
        if (json == null || !json.isObject()) {
            throw ErrorCode.INVALID_JSON.error("the body must be a JSON object");
        }
        ApiKey.Spec spec;
        try {
            spec = new ApiKey.Spec(name(json), admin(json), size(json, "maxFileSize"), size(json, "quota"),
                    json.hasNonNull("rate") ? rate(json.get("rate")) : null);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.INVALID_KEY_SPEC.error(e.getMessage());
        }
        ApiKey.Created created = keys.create(spec);
        auth.invalidate();
        Map<String, Object> out = view(created.key());
        out.put("key", created.secret());
        ex.json(201, out);
    }

    void revoke(Exchange ex) throws Exception {
        keys.revoke(ex.param("id")).orElseThrow(() -> ApiException.notFound("key " + ex.param("id")));
        auth.invalidate();
        ex.empty(204);
    }

    /**
     * Each field must have its own JSON type: Jackson's lenient {@code asBoolean} would read {@code "yes"} as
     * false, and {@code asText} would turn {@code 42} into a name, so a client's mistake became a different key.
     */
    private static String name(JsonNode json) {
        JsonNode n = json.get("name");
        if (n != null && !n.isNull() && !n.isTextual()) {
            throw new IllegalArgumentException("name must be a string");
        }
        return n == null || n.isNull() ? null : n.asText();
    }

    private static boolean admin(JsonNode json) {
        JsonNode n = json.get("admin");
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException("admin must be true or false (a JSON boolean)");
        }
        return n.booleanValue();
    }

    private static Long size(JsonNode json, String field) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        if (n.isTextual()) {
            return Units.parseSize(n.asText());
        }
        throw new IllegalArgumentException(field + " must be a number of bytes or a size such as \"100MiB\"");
    }

    private static Integer rate(JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("rate must be a whole number of requests per second");
        }
        return n.asInt();
    }

    /** A key as lists and the API show it: never the hash or the secret. */
    static Map<String, Object> view(ApiKey k) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", k.id());
        m.put("name", k.name());
        m.put("prefix", k.prefix());
        m.put("admin", k.admin());
        m.put("maxFileSize", k.maxFileSize());
        m.put("quota", k.quotaBytes());
        m.put("rate", k.ratePerSecond());
        m.put("createdAt", k.createdAt());
        m.put("revokedAt", k.revokedAt());
        m.put("lastUsedAt", k.lastUsedAt());
        return m;
    }
}
