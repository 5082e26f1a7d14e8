package io.sluice.config;

/**
 * The {@code auth.*} section. API keys need no configuration (they live in the database); this holds how
 * application-signed upload tokens are verified.
 *
 * @param jwt {@code auth.jwt.*}
 */
public record AuthConfig(JwtConfig jwt) {
}
