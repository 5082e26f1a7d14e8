package io.sluice.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@link BlobFiles} for a store without local files: each {@link #open} streams the blob through one small buffer
 * into {@code <dir>/<key>.<nonce>.copy}, removed when the handle closes. A copy reserves its size on the data disk's
 * {@link DiskLedger} first and is refused up front when that does not fit ({@link DiskFullException}, an
 * {@link IOException}: a job retries later), so copies are bounded by disk, never by memory.
 */
public final class BlobCopies implements BlobFiles {

    private static final Logger log = LoggerFactory.getLogger(BlobCopies.class);
    static final String SUFFIX = ".copy";
    private static final int BUFFER = 64 * 1024;

    private final BlobStore store;
    private final Path dir;
    private final DiskLedger disk;

    public BlobCopies(BlobStore store, Path dir, DiskLedger disk) throws IOException {
        this.store = store;
        this.dir = dir;
        this.disk = disk;
        Files.createDirectories(dir);
    }

    @Override
    public BlobFile open(String key) throws IOException {
        long size = store.size(key);
        if (size < 0) {
            throw new NoSuchFileException(key);
        }
        Path file = dir.resolve(key + "." + Long.toHexString(System.nanoTime()) + SUFFIX);
        // Held while the copy is written; once written, its bytes show in the disk's free space instead.
        try (DiskLedger.Reservation ignored = disk.reserve(size);
             ReadableByteChannel in = store.openRange(key, 0, size);
             FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(BUFFER);
            long copied = 0;
            while (copied < size) {
                buf.clear();
                int n = in.read(buf);
                if (n < 0) {
                    throw new IOException("blob " + key + " ended after " + copied + " of " + size + " bytes");
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    copied += out.write(buf);
                }
            }
        } catch (IOException | RuntimeException e) {
            remove(file);
            throw e;
        }
        return new BlobFile() {
            @Override
            public Path path() {
                return file;
            }

            @Override
            public void close() {
                remove(file);
            }
        };
    }

    /** Removes the copies a crashed process left; returns how many. Called at start-up. */
    public int sweep() throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path p : files) {
                if (Files.deleteIfExists(p)) {
                    removed++;
                }
            }
        }
        return removed;
    }

    /** Copies present now (for tests: none should outlive their job). */
    public long count() throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).count();
        }
    }

    private static void remove(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("could not remove local copy {} (swept at next start): {}", file, e.toString());
        }
    }
}
