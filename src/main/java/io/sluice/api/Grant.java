package io.sluice.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What an application-signed upload token allows, beyond what a key without limits would: its verified claims.
 * The size and quota claims live in {@link Principal}'s own limits; the rest is here.
 *
 * @param subject      the token's {@code sub}: the application's end user, who owns what the token creates
 * @param tokenId      what {@code maxUploads} is counted against: {@code jti} when the token has one, else the
 *                     SHA-256 of the token
 * @param issuedAt     {@code iat}, compared with the subject's revocation
 * @param expiresAt    {@code exp}; an event stream held open with the token ends then
 * @param allowedTypes narrows {@code limits.allowedTypes}; empty: the server's list alone
 * @param pipeline     forced on every upload made with the token; null: the client's choice
 * @param metadata     merged into every upload's metadata, over the client's values
 * @param maxUploads   uploads the token may create; null: no limit
 */
public record Grant(String subject, String tokenId, Instant issuedAt, Instant expiresAt, List<String> allowedTypes,
                    String pipeline, Map<String, String> metadata, Integer maxUploads) {

    /** Owners of token-made records are {@code sub:<subject>}; key ids never contain ':'. */
    public static final String OWNER_PREFIX = "sub:";

    public Grant {
        allowedTypes = List.copyOf(allowedTypes);
        metadata = Map.copyOf(metadata);
    }

    public String owner() {
        return OWNER_PREFIX + subject;
    }
}
