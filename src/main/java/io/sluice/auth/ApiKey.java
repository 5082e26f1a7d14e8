package io.sluice.auth;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.sluice.api.Principal;

import java.time.Instant;

/**
 * An API key as stored, without its secret (only its hash, never shown).
 *
 * @param prefix        the start of the key, for telling keys apart in lists
 * @param maxFileSize   overrides {@code limits.maxFileSize} for this key; null: the global limit
 * @param quotaBytes    total bytes of this key's stored uploads plus in-progress resumable lengths; null: none
 * @param ratePerSecond requests per second; null: unlimited
 */
public record ApiKey(String id, String name, String prefix, boolean admin, Long maxFileSize, Long quotaBytes,
                     Integer ratePerSecond, Instant createdAt, Instant revokedAt, Instant lastUsedAt,
                     @JsonIgnore String hash) {

    public boolean revoked() {
        return revokedAt != null;
    }

    /** The caller this key makes a request into. */
    public Principal principal() {
        return new Principal(id, admin, maxFileSize, quotaBytes, ratePerSecond);
    }

    /** Limits and role of a new key. */
    public record Spec(String name, boolean admin, Long maxFileSize, Long quotaBytes, Integer ratePerSecond) {
        public Spec {
            if (name == null || name.isBlank() || name.length() > 100) {
                throw new IllegalArgumentException("a key needs a name of 1 to 100 characters");
            }
            name = name.strip();
            if (maxFileSize != null && maxFileSize < 1) {
                throw new IllegalArgumentException("maxFileSize must be positive");
            }
            if (quotaBytes != null && quotaBytes < 1) {
                throw new IllegalArgumentException("quota must be positive");
            }
            if (ratePerSecond != null && ratePerSecond < 1) {
                throw new IllegalArgumentException("rate must be at least 1 request per second");
            }
        }
    }

    /** A key just created: {@code secret} is the whole key, shown once and never again. */
    public record Created(ApiKey key, String secret) {
    }
}
