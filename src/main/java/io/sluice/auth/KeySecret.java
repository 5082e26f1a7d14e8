package io.sluice.auth;

import io.sluice.upload.Digests;
import io.sluice.upload.IdGenerator;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The key format {@code sk_<id>_<secret>}: the id is the key's ULID (it says which row to compare with), the secret
 * 32 random bytes in base64url. Only the SHA-256 of the whole key is stored: the secret has 256 bits of entropy, so
 * a fast hash is enough (no password-stretching needed; a guess costs 2^255 tries on average either way).
 */
public final class KeySecret {

    static final String PREFIX = "sk_";
    static final int SECRET_BYTES = 32;
    /** Characters of the secret kept in the display prefix: enough to tell keys apart, far too few to guess. */
    static final int SHOWN_SECRET_CHARS = 4;

    private KeySecret() {
    }

    /** A new key for {@code id}, to show once. */
    static String generate(String id, SecureRandom random) {
        byte[] secret = new byte[SECRET_BYTES];
        random.nextBytes(secret);
        return PREFIX + id + "_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    /** The key id a presented key names, or empty when it is not shaped like one of our keys. */
    static Optional<String> idOf(String key) {
        if (key == null || !key.startsWith(PREFIX)) {
            return Optional.empty();
        }
        int end = key.indexOf('_', PREFIX.length());
        if (end < 0 || end == key.length() - 1) {
            return Optional.empty();
        }
        String id = key.substring(PREFIX.length(), end);
        return IdGenerator.looksLikeId(id) ? Optional.of(id) : Optional.empty();
    }

    /** Hex SHA-256 of the whole key: what is stored. */
    static String hash(String key) {
        MessageDigest sha = Digests.sha256();
        return HexFormat.of().formatHex(sha.digest(key.getBytes(StandardCharsets.UTF_8)));
    }

    /** Constant-time comparison of a presented key with a stored hash. */
    static boolean matches(String key, String storedHash) {
        return MessageDigest.isEqual(hash(key).getBytes(StandardCharsets.US_ASCII),
                storedHash.getBytes(StandardCharsets.US_ASCII));
    }

    /** What lists show: {@code sk_<id>_} plus the secret's first characters. */
    static String displayPrefix(String key) {
        int end = key.indexOf('_', PREFIX.length());
        return key.substring(0, Math.min(key.length(), end + 1 + SHOWN_SECRET_CHARS)) + "...";
    }
}
