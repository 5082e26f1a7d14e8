package io.sluice.db;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Disk space kept for the database: a ballast file beside it that is deleted when a commit fails for want of
 * space, so that deletes, key changes and job state updates still commit on a full disk (and space can be freed),
 * and written again once the disk has room. The idea of Elasticsearch's flood stage and of the ballast files many
 * database operators keep: the last few MiB of a full disk belong to the database.
 *
 * <p>SQLite in WAL mode appends every commit to {@code sluice.db-wal}, which grows until a checkpoint lets it start
 * over, and a checkpoint may grow {@code sluice.db}; with no free block both fail with {@code SQLITE_FULL}. The
 * ballast is written with incompressible bytes and synced, so that it really holds blocks, also on a filesystem
 * that compresses or deduplicates.
 *
 * <p>Thread-safe. {@link #owed()} is what Sluice's other writers must leave free on top of their own reserve, so
 * that an upload does not take the space released for the database.
 */
public final class Headroom {

    private static final Logger log = LoggerFactory.getLogger(Headroom.class);
    /** The ballast's name in the data directory, beside {@code sluice.db}. */
    public static final String FILE_NAME = "sluice.db-headroom";
    private static final int CHUNK = 1 << 20;

    private final Path file;
    private final long size;
    /** Bytes the ballast holds now: {@code size} or 0. */
    private volatile long held;
    /** Whether the last restore attempt failed: its log line is written once, not every second. */
    private boolean restoreFailed;

    private Headroom(Path file, long size) {
        this.file = file;
        this.size = size;
    }

    /** No headroom: nothing is kept, nothing is owed (PostgreSQL, or {@code database.headroom: 0}). */
    public static Headroom none() {
        return new Headroom(null, 0);
    }

    /**
     * The headroom of {@code size} bytes in {@code dir}: adopts the ballast a previous run left there, or notes it
     * as owed ({@link #restore} writes it). Never writes: at start-up the disk may be full.
     */
    public static Headroom in(Path dir, long size) {
        Headroom h = new Headroom(dir.resolve(FILE_NAME), size);
        try {
            Files.deleteIfExists(h.file.resolveSibling(FILE_NAME + ".tmp"));
            if (size > 0 && Files.isRegularFile(h.file) && Files.size(h.file) == size) {
                h.held = size;
            } else {
                // A partial one (a crash while writing it) or one of another size (the setting changed).
                Files.deleteIfExists(h.file);
            }
        } catch (IOException e) {
            log.warn("cannot inspect the database headroom file {}: {}", h.file, e.toString());
        }
        return h;
    }

    /** The bytes kept for the database when all is well. */
    public long size() {
        return size;
    }

    /** The bytes the ballast holds now. */
    public long held() {
        return held;
    }

    /** The bytes released and not yet restored: other writers must leave them free for the database. */
    public long owed() {
        return size - held;
    }

    /**
     * Deletes the ballast so that the database can use its space. Called when a commit failed for want of disk
     * space (and before opening the database on a full disk).
     *
     * @return whether space was freed: only then is retrying the commit worth it
     */
    public synchronized boolean release() {
        if (held == 0) {
            return false;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.error("cannot release the database headroom {}: {}", file, e.toString());
            return false;
        }
        held = 0;
        restoreFailed = false;
        log.warn("the data disk is full: released the database headroom ({} bytes in {}) so that the database can "
                + "still commit; it is restored once the disk has room", size, file);
        return true;
    }

    /**
     * Writes the ballast again when it is missing and the disk has room for it with as much to spare again above
     * {@code reserve} (so that restoring it never brings the disk below the point where it would be released).
     *
     * @param reserve free space that must remain besides the headroom ({@code limits.diskReserve})
     * @return whether the ballast is in place after the call
     */
    public synchronized boolean restore(long reserve) {
        if (held == size) {
            return true;
        }
        long usable;
        try {
            usable = Files.getFileStore(file.getParent()).getUsableSpace();
        } catch (IOException e) {
            return false;
        }
        if (usable < saturatedSum(reserve, 2 * size)) {
            return false;
        }
        try {
            write();
        } catch (IOException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // adopted as partial and deleted at the next start
            }
            if (!restoreFailed) {
                restoreFailed = true;
                log.warn("cannot restore the database headroom {} ({} bytes): {}; retrying while the disk has room",
                        file, size, e.toString());
            }
            return false;
        }
        held = size;
        restoreFailed = false;
        log.info("restored the database headroom ({} bytes in {})", size, file);
        return true;
    }

    private void write() throws IOException {
        Path temp = file.resolveSibling(FILE_NAME + ".tmp");
        SplittableRandom random = new SplittableRandom();
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long written = 0; written < size; ) {
                chunk.clear();
                while (chunk.remaining() >= Long.BYTES) {
                    chunk.putLong(random.nextLong());
                }
                chunk.flip();
                chunk.limit((int) Math.min(chunk.limit(), size - written));
                while (chunk.hasRemaining()) {
                    written += ch.write(chunk);
                }
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        // Complete or absent under its own name: a start after a crash adopts only a whole ballast.
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    private static long saturatedSum(long a, long b) {
        long sum = a + b;
        return sum < 0 || b < 0 ? Long.MAX_VALUE : sum;
    }

    @Override
    public String toString() {
        return "Headroom[" + file + ", " + held + "/" + size + " bytes]";
    }
}
