package io.sluice.util;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** HKDF-SHA256 as RFC 5869 defines it, one key per purpose label. */
class DerivedKeysTest {

    @Test
    void matchesRfc5869TestCase3() {
        // Test case 3: IKM = 22 bytes of 0x0b, no salt, no info; the first 32 bytes of its OKM.
        byte[] key = DerivedKeys.derive("\u000b".repeat(22), "");
        assertThat(HexFormat.of().formatHex(key))
                .isEqualTo("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d");
    }

    @Test
    void eachPurposeGetsItsOwnKeyFromOneSecret() {
        String secret = "one-secret-for-everything-0123";
        byte[] presign = DerivedKeys.derive(secret, "sluice presign v1");
        byte[] webhook = DerivedKeys.derive(secret, "sluice webhook v1");
        assertThat(presign).hasSize(DerivedKeys.KEY_BYTES).isNotEqualTo(webhook)
                .isNotEqualTo(secret.getBytes(StandardCharsets.UTF_8));
        assertThat(DerivedKeys.derive(secret, "sluice presign v1")).as("the same in every process").isEqualTo(presign);
        assertThat(DerivedKeys.derive(secret + "x", "sluice presign v1")).isNotEqualTo(presign);
        assertThat(DerivedKeys.derive(secret, "sluice presign v2")).as("a new version retires the key")
                .isNotEqualTo(presign);
    }

    @Test
    void refusesAnEmptySecret() {
        assertThatThrownBy(() -> DerivedKeys.derive("", "sluice presign v1"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
