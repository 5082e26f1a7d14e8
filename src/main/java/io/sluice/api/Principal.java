package io.sluice.api;

import java.util.Objects;

/**
 * Who a request is from, as routes see it: an API key (its id, admin flag and per-key limits), the open-mode
 * operator (no keys defined, loopback only: an admin with no key), or an anonymous caller of a public route.
 *
 * <p>Tenancy rule: a record belongs to the key that created it ({@code owner}, the key id; null when created in
 * open mode). An admin sees every record; any other caller only its own, and is answered 404 for the rest, exactly
 * as for an id that does not exist, so ids of other tenants cannot be probed.
 *
 * @param keyId         the key's id, or null (open mode, anonymous)
 * @param admin         may use admin endpoints and sees every tenant's records
 * @param maxFileSize   per-key file size limit overriding {@code limits.maxFileSize}, or null for the global one
 * @param quotaBytes    total bytes of the key's stored and in-progress uploads, or null for no quota
 * @param ratePerSecond requests per second (token bucket), or null for no per-key rate
 */
public record Principal(String keyId, boolean admin, Long maxFileSize, Long quotaBytes, Integer ratePerSecond) {

    /** Request attribute under which the router stores the caller. */
    public static final String ATTRIBUTE = Principal.class.getName();
    /** Open mode, and any router without a guard (the admin port, tests): unrestricted, owns what it creates as null. */
    public static final Principal OPEN = new Principal(null, true, null, null, null);
    /** A caller of a public route (health probes, relays, the static site) that presented no key. */
    public static final Principal ANONYMOUS = new Principal(null, false, null, null, null);

    /** What new records created by this caller are owned by: the key id, or null without a key. */
    public String owner() {
        return keyId;
    }

    /** Whether a record owned by {@code owner} is visible to this caller. */
    public boolean canSee(String owner) {
        return admin || (keyId != null && Objects.equals(keyId, owner));
    }

    /** The file size limit for this caller: its own when set, else {@code global}. */
    public long maxFileSize(long global) {
        return maxFileSize != null ? maxFileSize : global;
    }
}
