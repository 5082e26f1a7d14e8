package io.sluice.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.sluice.api.Grant;
import io.sluice.api.Principal;
import io.sluice.config.JwtConfig;
import io.sluice.config.Units;

import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Verifies application-signed upload tokens ({@code auth.jwt.*}) with nimbus-jose-jwt and turns one into a
 * {@link Principal} that owns records as {@code sub:<subject>}.
 *
 * <p>HS256 is checked against {@code auth.jwt.hmacSecret}; RS256 and ES256 against the keys of
 * {@code auth.jwt.jwksUrl}, which nimbus' {@link JWKSourceBuilder} fetches, caches, fetches again when a token
 * names an unknown {@code kid} (at most once per {@code auth.jwt.jwksRefetchInterval}), and keeps serving from its
 * cache while the URL cannot be fetched (outage tolerant), so an outage of the application's key server never
 * blocks a token that was verifiable before it. Any other {@code alg} (none included) is refused.
 *
 * <p>Every refusal is a {@link Refused} whose message names the reason and never contains the token.
 */
public final class TokenVerifier {

    /** Header segment of a JWS: base64url of a JSON object, which always starts with {@code {"} → {@code eyJ}. */
    private static final Pattern JWT_SHAPE = Pattern.compile("eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");
    private static final Set<JWSAlgorithm> KEY_SET_ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);
    /** A token is a few hundred bytes; a bigger bearer is not worth parsing. */
    private static final int MAX_TOKEN_LENGTH = 8192;
    private static final int JWKS_TIMEOUT_MS = 5000;
    private static final int JWKS_SIZE_LIMIT = 512 * 1024;

    /** Why a token was refused; the message is safe to show (no token, no secret). */
    public static final class Refused extends Exception {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private final JwtConfig config;
    private final Clock clock;
    private final DefaultJWTProcessor<SecurityContext> hmac;
    private final DefaultJWTProcessor<SecurityContext> keySet;

    public TokenVerifier(JwtConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.hmac = config.hmacSecret().isEmpty() ? null : processor(new JWSVerificationKeySelector<>(
                JWSAlgorithm.HS256, new ImmutableSecret<>(config.hmacSecret().getBytes(StandardCharsets.UTF_8))));
        this.keySet = config.jwksUrl().isEmpty() ? null : processor(new JWSVerificationKeySelector<>(
                KEY_SET_ALGORITHMS, jwks(config)));
    }

    private static JWKSource<SecurityContext> jwks(JwtConfig config) {
        try {
            long interval = config.jwksRefetchInterval().toMillis();
            return JWKSourceBuilder.<SecurityContext>create(URI.create(config.jwksUrl()).toURL(),
                            new DefaultResourceRetriever(JWKS_TIMEOUT_MS, JWKS_TIMEOUT_MS, JWKS_SIZE_LIMIT))
                    // Cached keys are refreshed every 5 minutes; between refreshes an unknown kid asks again
                    // (rate-limited); a failed fetch keeps the keys already cached.
                    .cache(Duration.ofMinutes(5).toMillis(), JWKS_TIMEOUT_MS)
                    .rateLimited(interval)
                    .outageTolerantForever()
                    .retrying(false)
                    .build();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("auth.jwt.jwksUrl is not a URL", e);
        }
    }

    private static DefaultJWTProcessor<SecurityContext> processor(JWSVerificationKeySelector<SecurityContext> keys) {
        DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
        p.setJWSKeySelector(keys);
        // The claims are checked below, with reasons of our own and the configured skew.
        p.setJWTClaimsSetVerifier(null);
        return p;
    }

    /** Whether JWTs can be accepted at all (a secret or a JWKS is configured). */
    public boolean enabled() {
        return hmac != null || keySet != null;
    }

    /** Whether a bearer looks like a JWT (three base64url segments, a JSON header), as opposed to an API key. */
    public static boolean looksLikeJwt(String presented) {
        return presented.length() <= MAX_TOKEN_LENGTH && JWT_SHAPE.matcher(presented).matches();
    }

    /** The caller a token stands for (its revocation is the caller's to check), or why it is refused. */
    public Principal verify(String token) throws Refused {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new Refused("the token is not a signed JWT");
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        DefaultJWTProcessor<SecurityContext> processor;
        if (JWSAlgorithm.HS256.equals(alg)) {
            processor = hmac;
        } else if (KEY_SET_ALGORITHMS.contains(alg)) {
            processor = keySet;
        } else {
            throw new Refused("the token's algorithm " + alg + " is not accepted (HS256, RS256, ES256)");
        }
        if (processor == null) {
            throw new Refused("tokens signed with " + alg + " are not accepted here (no "
                    + (JWSAlgorithm.HS256.equals(alg) ? "auth.jwt.hmacSecret" : "auth.jwt.jwksUrl") + ")");
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(jwt, null);
        } catch (BadJOSEException e) {
            // nimbus' messages name the failed step ("Signed JWT rejected: Invalid signature", "Another algorithm
            // expected, or no matching key(s) found") and never the token.
            throw new Refused("the token's signature does not verify: " + e.getMessage());
        } catch (JOSEException e) {
            throw new Refused("the token's signature could not be checked: " + e.getMessage());
        }
        return principal(claims, token);
    }

    private Principal principal(JWTClaimsSet claims, String token) throws Refused {
        String subject = claims.getSubject();
        if (subject == null || subject.isBlank()) {
            throw new Refused("the token has no 'sub' claim");
        }
        Instant exp = date(claims, "exp");
        Instant iat = date(claims, "iat");
        if (exp == null) {
            throw new Refused("the token has no 'exp' claim");
        }
        if (iat == null) {
            throw new Refused("the token has no 'iat' claim (needed to bound its lifetime)");
        }
        Instant now = clock.instant();
        Duration skew = JwtConfig.CLOCK_SKEW;
        if (!exp.plus(skew).isAfter(now)) {
            throw new Refused("the token expired at " + exp);
        }
        if (iat.minus(skew).isAfter(now)) {
            throw new Refused("the token's 'iat' is in the future");
        }
        Instant nbf = date(claims, "nbf");
        if (nbf != null && nbf.minus(skew).isAfter(now)) {
            throw new Refused("the token is not valid before " + nbf);
        }
        if (Duration.between(iat, exp).compareTo(config.maxLifetime()) > 0) {
            throw new Refused("the token lives longer (exp - iat) than auth.jwt.maxLifetime "
                    + Units.formatDuration(config.maxLifetime()));
        }
        if (!config.issuer().isEmpty() && !config.issuer().equals(claims.getIssuer())) {
            throw new Refused("the token's issuer ('iss') is not the one configured");
        }
        if (!config.audience().isEmpty() && (claims.getAudience() == null
                || !claims.getAudience().contains(config.audience()))) {
            throw new Refused("the token's audience ('aud') does not include the one configured");
        }
        Map<String, Object> sluice;
        try {
            sluice = claims.getJSONObjectClaim("sluice");
        } catch (ParseException e) {
            throw new Refused("the token's 'sluice' claim must be an object");
        }
        Limits limits = limits(sluice == null ? Map.of() : sluice);
        String jti = claims.getJWTID();
        Grant grant = new Grant(subject, jti != null && !jti.isBlank() ? "jti:" + jti : "sha256:" + sha256(token),
                iat, exp, limits.allowedTypes, limits.pipeline, limits.metadata, limits.maxUploads);
        return Principal.of(grant, limits.maxFileSize, limits.quota);
    }

    private static Instant date(JWTClaimsSet claims, String name) throws Refused {
        try {
            var d = claims.getDateClaim(name);
            return d == null ? null : d.toInstant();
        } catch (ParseException e) {
            throw new Refused("the token's '" + name + "' claim must be a number of seconds");
        }
    }

    private record Limits(Long maxFileSize, Long quota, List<String> allowedTypes, String pipeline,
                          Map<String, String> metadata, Integer maxUploads) {
    }

    /** The {@code sluice} claim; a malformed member refuses the token (the application's mistake, shown to it). */
    private static Limits limits(Map<String, Object> s) throws Refused {
        Long maxFileSize = size(s.get("maxFileSize"), "maxFileSize");
        Long quota = size(s.get("quota"), "quota");
        List<String> types = new ArrayList<>();
        Object t = s.get("allowedTypes");
        if (t != null) {
            if (!(t instanceof List<?> list)) {
                throw new Refused("sluice.allowedTypes must be a list of media types");
            }
            for (Object o : list) {
                if (!(o instanceof String type) || !type.contains("/")) {
                    throw new Refused("sluice.allowedTypes must be a list of media types (type/subtype, type/*)");
                }
                types.add(type.strip().toLowerCase(Locale.ROOT));
            }
        }
        Object p = s.get("pipeline");
        if (p != null && !(p instanceof String)) {
            throw new Refused("sluice.pipeline must be a pipeline name");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Object m = s.get("metadata");
        if (m != null) {
            if (!(m instanceof Map<?, ?> map)) {
                throw new Refused("sluice.metadata must be an object of strings");
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getValue() instanceof String v)) {
                    throw new Refused("sluice.metadata must be an object of strings");
                }
                metadata.put(String.valueOf(e.getKey()), v);
            }
        }
        Integer maxUploads = null;
        Object n = s.get("maxUploads");
        if (n != null) {
            if (!(n instanceof Number num) || num.doubleValue() != Math.floor(num.doubleValue())
                    || num.longValue() < 0 || num.longValue() > Integer.MAX_VALUE) {
                throw new Refused("sluice.maxUploads must be a whole number >= 0");
            }
            maxUploads = num.intValue();
        }
        String pipeline = p == null || ((String) p).isBlank() ? null : ((String) p).strip();
        return new Limits(maxFileSize, quota, types, pipeline, metadata, maxUploads);
    }

    private static Long size(Object v, String name) throws Refused {
        if (v == null) {
            return null;
        }
        long n;
        try {
            n = switch (v) {
                case Number num when num.doubleValue() == Math.floor(num.doubleValue()) -> num.longValue();
                case String text -> Units.parseSize(text);
                default -> -1;
            };
        } catch (IllegalArgumentException e) {
            n = -1;
        }
        if (n < 1) {
            throw new Refused("sluice." + name + " must be a positive number of bytes or a size such as \"50MiB\"");
        }
        return n;
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
