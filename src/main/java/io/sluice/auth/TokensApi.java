package io.sluice.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Json;
import io.sluice.api.Routes;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MimeTypes;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.Map;

/**
 * {@code POST /api/v1/tokens/revoke {"sub": "..."}} (admin): every upload token of the subject issued up to now is
 * refused from then on ({@link TokenRevocations}); tokens the application signs afterwards work. An event stream
 * held open with a revoked token ends within about {@link Authenticator#CACHE_TTL} plus a second.
 */
public final class TokensApi {

    /** A subject is an application's user id; longer than this is not one. */
    static final int MAX_SUBJECT = 1024;

    private final TokenRevocations revocations;

    public TokensApi(TokenRevocations revocations) {
        this.revocations = revocations;
    }

    public void register(Routes routes) {
        routes.add("POST", "/api/v1/tokens/revoke", this::revoke);
    }

    void revoke(Exchange ex) throws Exception {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        if (type == null || !"application/json".equalsIgnoreCase(MimeTypes.getContentTypeWithoutCharset(type).strip())) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error(
                    "POST /api/v1/tokens/revoke needs Content-Type: application/json");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ex.readBody(KeysApi.MAX_BODY, () -> ErrorCode.REQUEST_TOO_LARGE.error("a revocation is at most "
                + KeysApi.MAX_BODY + " bytes"), chunk -> {
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
        JsonNode sub = json == null || !json.isObject() ? null : json.get("sub");
        if (sub == null || !sub.isTextual() || sub.asText().isBlank() || sub.asText().length() > MAX_SUBJECT) {
            throw ErrorCode.INVALID_JSON.error("the body must be {\"sub\": \"<subject>\"}, the subject "
                    + "of 1 to " + MAX_SUBJECT + " characters");
        }
        Instant at = revocations.revoke(sub.asText());
        ex.json(200, Map.of("sub", sub.asText(), "revokedBefore", at.toString()));
    }
}
