package io.sluice.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real, small filesystem (tmpfs) for disk-full tests, and a filler file that another process would write to fill
 * it. Needs root (or CAP_SYS_ADMIN): where mounting fails, the test is skipped with the reason, never passed.
 */
public final class SmallDisk implements AutoCloseable {

    private static final String FILLER = "filler-of-another-process";
    private final Path mount;

    private SmallDisk(Path mount) {
        this.mount = mount;
    }

    /** Mounts a tmpfs of {@code mebibytes} MiB on a new directory under {@code parent}; skips the test if it cannot. */
    public static SmallDisk mount(Path parent, int mebibytes) throws Exception {
        Path dir = Files.createDirectories(parent.resolve("small-disk"));
        String why;
        try {
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m", "tmpfs",
                    dir.toString()).redirectErrorStream(true).start();
            boolean ended = p.waitFor(20, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes()).strip();
            why = !ended ? "mount did not finish in 20 s" : p.exitValue() != 0 ? "mount failed: " + out : null;
            if (!ended) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            why = "cannot run mount: " + e;
        }
        Assumptions.assumeTrue(why == null, "SKIPPED LOUDLY: this test needs a small real filesystem (mount -t tmpfs "
                + "as root): " + why);
        return new SmallDisk(dir);
    }

    public Path root() {
        return mount;
    }

    public FileStore store() throws IOException {
        return Files.getFileStore(mount);
    }

    public long usable() throws IOException {
        return store().getUsableSpace();
    }

    public long total() throws IOException {
        return store().getTotalSpace();
    }

    /**
     * Writes the filler until the disk refuses a single byte more (ENOSPC), as another process filling the disk
     * would; bounded by the disk's size. Returns the filler's size.
     */
    public long fill() throws IOException {
        Path filler = mount.resolve(FILLER);
        long limit = total() + (1 << 20);
        try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            for (int chunk : new int[] {1 << 20, 4096, 1}) {
                ByteBuffer b = ByteBuffer.allocate(chunk);
                try {
                    while (ch.size() < limit) {
                        b.clear();
                        ch.write(b);
                    }
                } catch (IOException full) {
                    if (!String.valueOf(full.getMessage()).contains("No space left")) {
                        throw full;
                    }
                }
            }
        }
        return Files.size(filler);
    }

    /** Deletes the filler: the other process freed its space. */
    public void free() throws IOException {
        Files.deleteIfExists(mount.resolve(FILLER));
    }

    /** Bytes in all files on the disk (what {@code du} counts, by length). */
    public long bytesInFiles() throws IOException {
        try (Stream<Path> s = Files.walk(mount)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // removed meanwhile
                }
            }).sum();
        }
    }

    @Override
    public void close() throws Exception {
        // Lazy: a file some thread still holds open must not keep the mount (and the test run) hanging.
        Process p = new ProcessBuilder("umount", "-l", mount.toString()).redirectErrorStream(true).start();
        p.waitFor(20, TimeUnit.SECONDS);
    }
}
