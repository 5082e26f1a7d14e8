package io.sluice.api;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Who a request is from, as routes see it: an API key (its id, admin flag and per-key limits), an
 * application-signed upload token (its {@link Grant}), the open-mode operator (no keys defined, loopback only: an
 * admin with no key), or an anonymous caller of a public route.
 *
 * <p>Tenancy rule: a record belongs to the key that created it ({@code owner}, the key id; null when created in
 * open mode), or, when made with a token, to the token's subject ({@code sub:<subject>}, whichever of the
 * subject's tokens made it). An admin sees every record; any other caller only its own, and is answered 404 for the rest, exactly
 * as for an id that does not exist, so ids of other tenants cannot be probed.
 *
 * @param keyId         the key's id, or null (open mode, anonymous)
 * @param admin         may use admin endpoints and sees every tenant's records
 * @param maxFileSize   per-key file size limit overriding {@code limits.maxFileSize}, or null for the global one
 * @param quotaBytes    total bytes of the key's stored and in-progress uploads, or null for no quota
 * @param ratePerSecond requests per second (token bucket), or null for no per-key rate
 * @param grant         the claims of the upload token the request carries; null for a key
 */
public record Principal(String keyId, boolean admin, Long maxFileSize, Long quotaBytes, Integer ratePerSecond,
                        Grant grant) {

    public Principal(String keyId, boolean admin, Long maxFileSize, Long quotaBytes, Integer ratePerSecond) {
        this(keyId, admin, maxFileSize, quotaBytes, ratePerSecond, null);
    }

    /** An upload token's caller: never an admin; its size claim narrows the server's limit (see maxFileSize). */
    public static Principal of(Grant grant, Long maxFileSize, Long quotaBytes) {
        return new Principal(null, false, maxFileSize, quotaBytes, null, grant);
    }

    /** Request attribute under which the router stores the caller. */
    public static final String ATTRIBUTE = Principal.class.getName();
    /** Open mode, and any router without a guard (the admin port, tests): unrestricted, owns what it creates as null. */
    public static final Principal OPEN = new Principal(null, true, null, null, null);
    /** A caller of a public route (health probes, relays, the static site) that presented no key. */
    public static final Principal ANONYMOUS = new Principal(null, false, null, null, null);

    /** What new records created by this caller are owned by: the key id, the token's subject, or null. */
    public String owner() {
        return grant != null ? grant.owner() : keyId;
    }

    /** Whether a record owned by {@code owner} is visible to this caller. */
    public boolean canSee(String owner) {
        return admin || (owner() != null && Objects.equals(owner(), owner));
    }

    /**
     * The file size limit for this caller: a key's own when set (it may exceed {@code global}); a token's claim,
     * which only narrows {@code global}; else {@code global}.
     */
    public long maxFileSize(long global) {
        if (maxFileSize == null) {
            return global;
        }
        return grant != null ? Math.min(maxFileSize, global) : maxFileSize;
    }

    /** The pipeline of an upload this caller makes: the token's forced one, else {@code requested}. */
    public String pipeline(String requested) {
        return grant != null && grant.pipeline() != null ? grant.pipeline() : requested;
    }

    /** The metadata an upload this caller makes records: the client's, with the token's values over them. */
    public Map<String, String> metadata(Map<String, String> client) {
        if (grant == null || grant.metadata().isEmpty()) {
            return client;
        }
        Map<String, String> merged = new HashMap<>(client);
        merged.putAll(grant.metadata());
        return merged;
    }
}
