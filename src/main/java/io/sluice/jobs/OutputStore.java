package io.sluice.jobs;

import io.sluice.upload.IdGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Where jobs write their NDJSON output and temporary files, under the data directory:
 * <ul>
 *   <li>{@code outputs/tmp/<jobId>.<attempt>.ndjson}: the output of an attempt while it runs;</li>
 *   <li>{@code outputs/<xy>/<jobId>.ndjson}: the output of the attempt that succeeded ({@code xy} = the id's last
 *       two characters, as for blobs). {@link #publish} moves a finished attempt's file there after an fsync, with
 *       one atomic rename, so only a complete output is ever visible, and a job has at most one (a repeated
 *       attempt replaces it);</li>
 *   <li>{@code work/<jobId>-<attempt>/}: the attempt's private scratch directory.</li>
 * </ul>
 * A crash leaves only {@code outputs/tmp} files and {@code work} directories; {@link #sweepTemporary} removes them
 * at start, before any worker runs. Outputs whose job was pruned are removed by {@link #sweepOrphans}.
 *
 * <p>As {@link JobOutputs} this is the implementation for {@code storage.type: local}: outputs stay in place on
 * this disk. With another store, {@link StoredJobOutputs} keeps only the temporaries here.
 */
public final class OutputStore implements JobOutputs {

    private static final Logger log = LoggerFactory.getLogger(OutputStore.class);
    private static final String SUFFIX = ".ndjson";

    private final Path outputs;
    private final Path temporary;
    private final Path work;

    public OutputStore(Path dataDir) throws IOException {
        this.outputs = dataDir.resolve("outputs");
        this.temporary = outputs.resolve("tmp");
        this.work = dataDir.resolve("work");
        Files.createDirectories(temporary);
        Files.createDirectories(work);
    }

    @Override
    public Path temporaryFile(String jobId, int attempt) {
        return temporary.resolve(checked(jobId) + "." + attempt + SUFFIX);
    }

    @Override
    public Path workDir(String jobId, int attempt) {
        return work.resolve(checked(jobId) + "-" + attempt);
    }

    /** Where the output of a succeeded job lives. */
    Path finalFile(String jobId) {
        String id = checked(jobId);
        return outputs.resolve(id.substring(id.length() - 2)).resolve(id + SUFFIX);
    }

    /** The output of a job, when there is one. */
    public Optional<Path> find(String jobId) {
        if (!IdGenerator.looksLikeId(jobId)) {
            return Optional.empty();
        }
        Path p = finalFile(jobId);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /**
     * Makes {@code temporaryFile} the job's output, durably: fsync the file, rename it into place (replacing an
     * earlier attempt's output), fsync the directory.
     */
    @Override
    public void publish(Path temporaryFile, String jobId) throws IOException {
        try (FileChannel ch = FileChannel.open(temporaryFile, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Path target = finalFile(jobId);
        Files.createDirectories(target.getParent());
        try {
            Files.move(temporaryFile, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the data directory's filesystem cannot rename atomically", e);
        }
        fsyncDirectory(target.getParent());
    }

    @Override
    public Optional<Opened> open(String jobId) throws IOException {
        Optional<Path> file = find(jobId);
        if (file.isEmpty()) {
            return Optional.empty();
        }
        try {
            FileChannel ch = FileChannel.open(file.get(), StandardOpenOption.READ);
            return Optional.of(new Opened(ch, ch.size()));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // removed since find looked
        }
    }

    @Override
    public boolean delete(String jobId) throws IOException {
        Path p = finalFile(jobId);
        boolean existed = Files.deleteIfExists(p);
        if (existed) {
            fsyncDirectory(p.getParent());
        }
        return existed;
    }

    /** Removes what attempts that did not end left behind. Call only while no job runs. Returns how many. */
    public int sweepTemporary() throws IOException {
        return sweepTemporary((jobId, attempt) -> false);
    }

    /**
     * Removes what attempts that did not end left behind, keeping the files of attempts that run now, in this or
     * another process on the same data directory (several workers share it).
     *
     * @param attemptRunning whether attempt {@code attempt} of job {@code jobId} is running; asked per file, after
     *                       the file was seen (an attempt creates its files after it is claimed, so a file of a
     *                       running attempt is always kept)
     */
    @Override
    public int sweepTemporary(BiPredicate<String, Integer> attemptRunning) throws IOException {
        int removed = 0;
        for (Path dir : new Path[]{temporary, work}) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path p : ds) {
                    if (ofRunningAttempt(p.getFileName().toString(), dir == work, attemptRunning)) {
                        continue;
                    }
                    deleteTree(p);
                    removed++;
                }
            }
        }
        if (removed > 0) {
            log.info("Removed {} temporary job file(s) left by an earlier run", removed);
        }
        return removed;
    }

    /** Whether a name made by {@link #temporaryFile} or {@link #workDir} belongs to an attempt that runs. */
    private static boolean ofRunningAttempt(String name, boolean workDir,
                                            BiPredicate<String, Integer> attemptRunning) {
        String stem = workDir ? name : name.endsWith(SUFFIX) ? name.substring(0, name.length() - SUFFIX.length())
                : name;
        int sep = stem.lastIndexOf(workDir ? '-' : '.');
        if (sep <= 0) {
            return false;
        }
        try {
            String id = stem.substring(0, sep);
            return IdGenerator.looksLikeId(id) && attemptRunning.test(id, Integer.parseInt(stem.substring(sep + 1)));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Removes outputs whose job no longer exists (pruned after {@code jobs.retention}). Returns how many.
     *
     * @param jobExists asked once per output file
     */
    @Override
    public int sweepOrphans(Predicate<String> jobExists) throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> shards = Files.newDirectoryStream(outputs, Files::isDirectory)) {
            for (Path shard : shards) {
                if (shard.equals(temporary)) {
                    continue;
                }
                try (DirectoryStream<Path> files = Files.newDirectoryStream(shard, "*" + SUFFIX)) {
                    for (Path f : files) {
                        String name = f.getFileName().toString();
                        String id = name.substring(0, name.length() - SUFFIX.length());
                        if (IdGenerator.looksLikeId(id) && !jobExists.test(id) && Files.deleteIfExists(f)) {
                            removed++;
                        }
                    }
                }
            }
        }
        if (removed > 0) {
            log.info("Removed {} job output(s) whose job was pruned", removed);
        }
        return removed;
    }

    /** Deletes a file or a directory tree; missing is fine. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Job ids are ULIDs; anything else could escape the directory. */
    private static String checked(String jobId) {
        if (!IdGenerator.looksLikeId(jobId)) {
            throw new IllegalArgumentException("not a job id");
        }
        return jobId;
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
