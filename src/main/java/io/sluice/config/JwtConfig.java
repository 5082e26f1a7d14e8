package io.sluice.config;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Application-signed upload tokens ({@code auth.jwt.*}): how Sluice verifies a JWT presented as a bearer.
 *
 * @param hmacSecret         HS256 key shared with the application; empty: HS256 tokens are not accepted
 * @param jwksUrl            where the application publishes its RS256/ES256 public keys; empty: none
 * @param issuer             the {@code iss} every token must carry; empty: not checked
 * @param audience           a value the token's {@code aud} must contain; empty: not checked
 * @param maxLifetime        the longest {@code exp - iat} accepted
 * @param jwksRefetchInterval the shortest time between two JWKS fetches (an unknown {@code kid} asks for one)
 */
public record JwtConfig(String hmacSecret, String jwksUrl, String issuer, String audience, Duration maxLifetime,
                        Duration jwksRefetchInterval) {

    /** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
    public static final int MIN_SECRET_BYTES = 32;
    public static final Duration DEFAULT_MAX_LIFETIME = Duration.ofHours(24);
    public static final Duration MAX_MAX_LIFETIME = Duration.ofDays(365);
    public static final Duration DEFAULT_JWKS_REFETCH_INTERVAL = Duration.ofSeconds(30);
    /** Clocks of the application and Sluice may disagree by this much on {@code exp} and {@code iat}. */
    public static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

    public static final JwtConfig NONE = new JwtConfig("", "", "", "", DEFAULT_MAX_LIFETIME,
            DEFAULT_JWKS_REFETCH_INTERVAL);

    /** Whether any JWT can be accepted (a secret or a JWKS is set). */
    public boolean enabled() {
        return !hmacSecret.isEmpty() || !jwksUrl.isEmpty();
    }

    static boolean secretLongEnough(String secret) {
        return secret.isEmpty() || secret.getBytes(StandardCharsets.UTF_8).length >= MIN_SECRET_BYTES;
    }
}
