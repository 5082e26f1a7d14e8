package io.sluice.storage.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The filesystem steps both local stores (committed and resumable blobs) share: directories and unlinks made
 * durable, sizes that tell a missing file apart, bounded reads.
 */
final class DurableFiles {

    private DurableFiles() {
    }

    /**
     * {@link Files#createDirectories}, plus an fsync of the parent of each directory created: fsync'ing a file and
     * its directory does not make that directory's own entry durable, so after a power loss a new shard directory
     * could vanish with the committed files inside it. A directory another thread is creating at the same moment
     * is synced here too, since that thread may not have synced it yet.
     */
    static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.toAbsolutePath().getParent();
        createDirectories(parent);
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
        fsyncDirectory(parent);
    }

    /** Makes a rename, link or unlink in {@code dir} itself durable, not just a file's bytes. */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** Unlinks {@code file} and makes the unlink itself durable; false when there was nothing to remove. */
    static boolean delete(Path file) throws IOException {
        boolean existed = Files.deleteIfExists(file);
        if (existed) {
            fsyncDirectory(file.getParent());
        }
        return existed;
    }

    /** The file's size, or -1 when it does not exist (the stores' contract for an unknown key). */
    static long sizeOrMissing(Path file) throws IOException {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    /** {@code length} bytes of {@code file} from {@code offset}. */
    static ReadableByteChannel openBounded(Path file, long offset, long length) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            ch.position(offset);
            return new BoundedChannel(ch, length);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** A file channel that ends after {@code remaining} bytes. */
    private static final class BoundedChannel implements ReadableByteChannel {
        private final FileChannel ch;
        private long remaining;

        BoundedChannel(FileChannel ch, long remaining) {
            this.ch = ch;
            this.remaining = remaining;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int limit = dst.limit();
            if (dst.remaining() > remaining) {
                dst.limit(dst.position() + (int) remaining);
            }
            try {
                int n = ch.read(dst);
                if (n > 0) {
                    remaining -= n;
                }
                return n;
            } finally {
                dst.limit(limit);
            }
        }

        @Override
        public boolean isOpen() {
            return ch.isOpen();
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
