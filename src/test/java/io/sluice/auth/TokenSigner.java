package io.sluice.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;

/** Signs upload tokens in tests as an application would (nimbus-jose-jwt). */
final class TokenSigner {

    static final String SECRET = "an-application-secret-of-32-bytes-or-more!";
    static final String ISSUER = "https://app.example";
    static final String AUDIENCE = "sluice";

    private TokenSigner() {
    }

    /** Claims a valid token carries: iss, aud, sub, iat now, exp in ten minutes. */
    static JWTClaimsSet.Builder claims(String subject) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE).subject(subject)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofMinutes(10))));
    }

    static JWTClaimsSet.Builder claims(String subject, Map<String, Object> sluice) {
        return claims(subject).claim("sluice", sluice);
    }

    static String hs256(JWTClaimsSet.Builder claims) {
        return sign(claims, SECRET);
    }

    static String sign(JWTClaimsSet.Builder claims, String secret) {
        try {
            return sign(new JWSHeader(JWSAlgorithm.HS256), claims.build(),
                    new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sign(JWSHeader header, JWTClaimsSet claims, JWSSigner signer) {
        try {
            SignedJWT jwt = new SignedJWT(header, claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}
