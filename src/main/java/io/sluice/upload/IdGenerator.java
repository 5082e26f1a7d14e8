package io.sluice.upload;

import java.security.SecureRandom;
import java.time.Clock;

/**
 * ULIDs: 48 bits of milliseconds then 80 random bits, in Crockford base32 (26 characters). Sorting ids sorts by
 * creation time, which is what makes cursor paging a plain {@code WHERE id < ?}; the random part makes ids
 * unguessable.
 */
public final class IdGenerator {

    private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();

    private final SecureRandom random = new SecureRandom();
    private final Clock clock;

    public IdGenerator(Clock clock) {
        this.clock = clock;
    }

    public String next() {
        long time = clock.millis();
        byte[] rnd = new byte[10];
        random.nextBytes(rnd);
        char[] out = new char[26];
        // 10 chars of time (50 bits, top 2 always zero for the next few millennia).
        for (int i = 9; i >= 0; i--) {
            out[i] = ALPHABET[(int) (time & 31)];
            time >>>= 5;
        }
        // 16 chars of randomness: 80 bits, 5 at a time.
        long hi = 0;
        for (int i = 0; i < 5; i++) {
            hi = (hi << 8) | (rnd[i] & 0xff);
        }
        long lo = 0;
        for (int i = 5; i < 10; i++) {
            lo = (lo << 8) | (rnd[i] & 0xff);
        }
        for (int i = 17; i >= 10; i--) {
            out[i] = ALPHABET[(int) (hi & 31)];
            hi >>>= 5;
        }
        for (int i = 25; i >= 18; i--) {
            out[i] = ALPHABET[(int) (lo & 31)];
            lo >>>= 5;
        }
        return new String(out);
    }

    /** True for strings shaped like an id this generator makes; anything else is a 404 without a database trip. */
    public static boolean looksLikeId(String s) {
        if (s == null || s.length() != 26) {
            return false;
        }
        for (int i = 0; i < 26; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U'))) {
                return false;
            }
        }
        return true;
    }
}
