package io.sluice.auth;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Redaction's pre-check decides which texts skip the regular expressions. It must never let through a text the
 * expressions would change, and it must let through the access log's ordinary lines, which was the point of it.
 */
class RedactionPrecheckTest {

    private static final String[] FRAGMENTS = {
            "access_token=", "ACCESS_TOKEN=", "Token=", "api_key=", "KEY=", "key =", "Signature=", "X-Amz-Signature=",
            "x-amz-credential=", "X-AMZ-CREDENTIAL=", "Bearer ", "BEARER\t", "bearer  ", "Basic ", "BASIC ",
            "Authorization:", "AUTHORIZATION =", "Proxy-Authorization: ", "Set-Cookie:", "COOKIE=", "cookie :",
            "sk_01J0ABCDEFGHJKMNPQRSTVWXYZ_secret", "eyJhbGciOi.eyJzdWIiOi.sig", "abc", "=", ":", " ", "&", "?",
            "/files/", "in=12", "client=127.0.0.1:5000", "monkey=", "tokens=", "x", "1", ".", "-", "_"};

    @Test
    void everyTextTheExpressionsChangePassesThePrecheck() {
        SplittableRandom random = new SplittableRandom(14);
        List<String> missed = new ArrayList<>();
        int changed = 0;
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            int parts = 1 + random.nextInt(6);
            for (int p = 0; p < parts; p++) {
                b.append(FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
            }
            String text = b.toString();
            if (!Redaction.applyAll(text).equals(text)) {
                changed++;
                if (!Redaction.mayHoldCredential(text)) {
                    missed.add(text);
                }
            }
        }
        assertThat(missed).as("texts with a credential the pre-check let through unredacted").isEmpty();
        assertThat(changed).as("generated texts holding a credential").isGreaterThan(1000);
    }

    @Test
    void upperCaseSchemesAreRedacted() {
        // The old pre-check looked for "earer " and "asic ": an upper-case scheme alone was not masked.
        assertThat(Redaction.redact("sent BEARER abc.def")).isEqualTo("sent BEARER ***");
        assertThat(Redaction.redact("BASIC dXNlcjpwYXNz")).isEqualTo("BASIC ***");
    }

    @Test
    void accessLogLinesWithoutCredentialsSkipTheExpressions() {
        assertThat(Redaction.mayHoldCredential(
                "3f2a9c01d4e5b6a7c8d9e0f1 POST /files 201 in=102400 out=0 4ms client=127.0.0.1:53312")).isFalse();
        assertThat(Redaction.mayHoldCredential(
                "3f2a9c01d4e5b6a7c8d9e0f1 PATCH /files/01JABC?x=1 204 in=5242880 out=0 31ms client=[::1]:40000"))
                .isFalse();
        assertThat(Redaction.mayHoldCredential("abc GET /api/v1/events?access_token=x 200 in=0 out=9 1ms client=a:1"))
                .isTrue();
    }
}
