package io.sluice.testing;

import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * {@code size} pseudo-random bytes generated from a seed as they are read, never held whole, and hashed on the
 * way out: a test can send any size with constant memory and still know the SHA-256 of what it sent.
 */
public final class GeneratedBody extends InputStream {

    private final SplittableRandom random;
    private final MessageDigest sha;
    private final byte[] block = new byte[64 * 1024];
    private int blockPos = block.length;
    private long remaining;

    public GeneratedBody(long size, long seed) {
        this.remaining = size;
        this.random = new SplittableRandom(seed);
        try {
            this.sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (remaining <= 0) {
            return -1;
        }
        if (blockPos == block.length) {
            random.nextBytes(block);
            blockPos = 0;
        }
        int n = (int) Math.min(Math.min(len, block.length - blockPos), remaining);
        System.arraycopy(block, blockPos, b, off, n);
        sha.update(block, blockPos, n);
        blockPos += n;
        remaining -= n;
        return n;
    }

    /** The SHA-256 of everything read, once the stream is exhausted. */
    public String sha256Hex() {
        if (remaining > 0) {
            throw new IllegalStateException(remaining + " bytes not read yet");
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
