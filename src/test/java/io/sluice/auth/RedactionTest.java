package io.sluice.auth;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RedactionTest {

    @Test
    void masksCredentialParametersKeysAndHeadersAndKeepsTheRest() {
        String key = "sk_01J9ABCDEFGHJKMNPQRSTVWXYZ_abcDEF123-_xyzabcDEF123-_xyzabcDEF123";
        assertThat(Redaction.redact("/api/v1/events?access_token=" + key + "&since=5"))
                .isEqualTo("/api/v1/events?access_token=***&since=5");
        assertThat(Redaction.redact("/x?TOKEN=a&api_key=b&key=c&Signature=d&X-Amz-Signature=e&x-amz-credential=f"))
                .isEqualTo("/x?TOKEN=***&api_key=***&key=***&Signature=***&X-Amz-Signature=***&x-amz-credential=***");
        assertThat(Redaction.redact("failed for " + key + ".")).isEqualTo("failed for ***.");
        assertThat(Redaction.redact("Authorization: Bearer abc.def")).isEqualTo("Authorization: ***");
        assertThat(Redaction.redact("sent Bearer abc.def")).isEqualTo("sent Bearer ***");
        assertThat(Redaction.redact("Cookie: a=1; b=2")).isEqualTo("Cookie: ***");
        // Names that only end like a credential parameter, and plain text, are left alone.
        assertThat(Redaction.redact("/x?monkey=1&tokens=2&page=3")).isEqualTo("/x?monkey=1&tokens=2&page=3");
        assertThat(Redaction.redact("/api/v1/uploads/a.txt")).isEqualTo("/api/v1/uploads/a.txt");
        assertThat(Redaction.redact(null)).isNull();
    }
}
