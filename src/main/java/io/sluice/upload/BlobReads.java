package io.sluice.upload;

import io.sluice.storage.BlobStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * What is read back from a committed blob whose bytes did not pass through this process (an S3 presigned PUT, a
 * server-side concatenation, a digest lost to a restart): its first bytes for type detection, and its SHA-256.
 * Both stream through one small buffer, whatever the blob's size.
 */
final class BlobReads {

    private static final int CHUNK = 64 * 1024;

    private BlobReads() {
    }

    /** The first {@link TypeDetector#HEAD_BYTES} bytes (fewer for a shorter blob), ready to read. */
    static ByteBuffer head(BlobStore store, String key, long length) throws IOException {
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(TypeDetector.HEAD_BYTES, length));
        try (ReadableByteChannel ch = store.openRange(key, 0, head.capacity())) {
            while (head.hasRemaining() && ch.read(head) >= 0) {
                // fill
            }
        }
        return head.flip();
    }

    /** The lower-case hex SHA-256 of the blob's first {@code length} bytes. */
    static String sha256(BlobStore store, String key, long length) throws IOException {
        MessageDigest md = Digests.sha256();
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
        try (ReadableByteChannel ch = store.openRange(key, 0, length)) {
            while (ch.read(chunk.clear()) >= 0) {
                md.update(chunk.flip());
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
