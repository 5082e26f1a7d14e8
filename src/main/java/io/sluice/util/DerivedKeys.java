package io.sluice.util;

import javax.crypto.KDF;
import javax.crypto.spec.HKDFParameterSpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * Keys for one purpose each, derived from a configured secret with HKDF-SHA256 (RFC 5869, the JDK's {@link KDF}):
 * a MAC made for one purpose can never be a valid MAC for another, even when an operator gives two settings the same
 * value. Secrets that someone outside Sluice verifies with (the webhook secret) are used as configured, not derived.
 */
public final class DerivedKeys {

    /** HMAC-SHA256 keys: as long as the hash. */
    public static final int KEY_BYTES = 32;

    private DerivedKeys() {
    }

    /**
     * The key for {@code info} (a label such as {@code "sluice presign v1"}; change its version to retire every key
     * derived with it). No salt: the input is already a random or operator-chosen secret, and the same secret must
     * give the same key in every process.
     */
    public static byte[] derive(String secret, String info) {
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("empty secret");
        }
        try {
            return KDF.getInstance("HKDF-SHA256").deriveData(HKDFParameterSpec.ofExtract()
                    .addIKM(secret.getBytes(StandardCharsets.UTF_8))
                    .thenExpand(info.getBytes(StandardCharsets.UTF_8), KEY_BYTES));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HKDF-SHA256 is unavailable", e);
        }
    }
}
