package io.sluice.hooks;

/**
 * Who asked for an upload, as a hook sees it.
 *
 * @param keyId   the API key's id, or null (open mode)
 * @param subject the end user a token names (its {@code sub}), or null; tokens are not accepted yet (issue 17's
 *                JWT part fills this)
 */
public record Caller(String keyId, String subject) {

    /** The caller of an upload owned by {@code owner} (a key id, or null). */
    public static Caller ofOwner(String owner) {
        return new Caller(owner, null);
    }
}
