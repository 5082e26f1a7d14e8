package io.sluice.upload;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Message digests every JVM has. */
public final class Digests {

    private Digests() {
    }

    public static MessageDigest sha256() {
        return of("SHA-256");
    }

    /** A digest the platform must provide; a missing one is a broken JVM, not an input error. */
    public static MessageDigest of(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is missing from this JVM", e);
        }
    }
}
