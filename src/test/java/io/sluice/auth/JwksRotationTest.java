package io.sluice.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.sluice.auth.TokenSigner.claims;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * RS256/ES256 tokens verified against a JWKS the test serves from a JDK HttpServer: the keys are fetched and
 * cached, a rotated-in key (unknown kid) is fetched again, and once the JWKS server is down, cached keys still
 * verify while an unknown kid is refused.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JwksRotationTest {

    @TempDir
    Path dir;

    @Test
    void rotatedKeysAreFetchedAndCachedKeysSurviveAnOutage() throws Exception {
        RSAKey first = new RSAKeyGenerator(2048).keyID("k1").generate();
        ECKey second = new ECKeyGenerator(Curve.P_256).keyID("k2").generate();
        RSAKey never = new RSAKeyGenerator(2048).keyID("k3").generate();
        AtomicReference<String> published = new AtomicReference<>(jwks(first));
        AtomicInteger fetches = new AtomicInteger();
        HttpServer jwks = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        jwks.createContext("/.well-known/jwks.json", ex -> {
            fetches.incrementAndGet();
            byte[] body = published.get().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        jwks.start();
        String url = "http://127.0.0.1:" + jwks.getAddress().getPort() + "/.well-known/jwks.json";
        boolean stopped = false;
        try (TestServer server = TestServer.start(dir, "auth.jwt.jwksUrl", url,
                "auth.jwt.issuer", TokenSigner.ISSUER, "auth.jwt.jwksRefetchInterval", "50ms")) {
            AuthTestSupport http = new AuthTestSupport(server);
            // auth.jwt ends open mode: without a token or a key, nothing but the open routes.
            http.refused(http.get("/api/v1/uploads", null), 401, "unauthorized");
            String rs = TokenSigner.sign(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
                    claims("rita").build(), new RSASSASigner(first));
            assertThat(http.get("/api/v1/uploads", rs).statusCode()).isEqualTo(200);
            assertThat(http.get("/api/v1/uploads", rs).statusCode()).isEqualTo(200);
            assertThat(fetches.get()).as("keys are cached").isEqualTo(1);

            // HS256 is not configured on this server: refused, not tried against the key set.
            HttpResponse<String> hs = http.get("/api/v1/uploads", TokenSigner.hs256(claims("rita")));
            http.refused(hs, 401, "invalid_token");
            assertThat(Json.parse(hs.body()).path("error").path("message").asText()).contains("hmacSecret");

            // Rotation: the application publishes a new key and signs with it; the unknown kid fetches again.
            published.set(jwks(first, second));
            Thread.sleep(100); // past auth.jwt.jwksRefetchInterval since the first fetch
            String es = TokenSigner.sign(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("k2").build(),
                    claims("rita").build(), new ECDSASigner(second));
            HttpResponse<String> rotated = http.get("/api/v1/uploads", es);
            assertThat(rotated.statusCode()).as(rotated.body()).isEqualTo(200);
            assertThat(fetches.get()).isEqualTo(2);

            // The JWKS server goes away: an unknown kid is refused, the cached keys go on verifying.
            jwks.stop(0);
            stopped = true;
            Thread.sleep(100);
            String unknown = TokenSigner.sign(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k3").build(),
                    claims("rita").build(), new RSASSASigner(never));
            http.refused(http.get("/api/v1/uploads", unknown), 401, "invalid_token");
            assertThat(http.get("/api/v1/uploads", es).statusCode()).isEqualTo(200);
            assertThat(http.get("/api/v1/uploads", rs).statusCode()).isEqualTo(200);

            // A token signed by a key of the set but with another kid's id does not verify.
            String forged = TokenSigner.sign(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
                    claims("rita").build(), new RSASSASigner(never));
            http.refused(http.get("/api/v1/uploads", forged), 401, "invalid_token");
        } finally {
            if (!stopped) {
                jwks.stop(0);
            }
        }
    }

    private static String jwks(JWK... keys) {
        return new JWKSet(List.of(keys)).toPublicJWKSet().toString();
    }
}
