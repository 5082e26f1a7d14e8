package io.sluice.hooks;

import io.sluice.api.Grant;

/**
 * Who asked for an upload, as a hook sees it.
 *
 * @param keyId   the API key's id, or null (open mode, or an upload token)
 * @param subject the end user an upload token names (its {@code sub}), or null (an API key, open mode)
 */
public record Caller(String keyId, String subject) {

    /**
     * The caller of an upload owned by {@code owner}: a key id, {@code sub:<subject>} for an upload token (see
     * {@link Grant#OWNER_PREFIX}), or null.
     */
    public static Caller ofOwner(String owner) {
        if (owner != null && owner.startsWith(Grant.OWNER_PREFIX)) {
            return new Caller(null, owner.substring(Grant.OWNER_PREFIX.length()));
        }
        return new Caller(owner, null);
    }
}
