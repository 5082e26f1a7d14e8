package io.sluice.jobs;

import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Where the NDJSON outputs of succeeded jobs live, and where attempts write them meanwhile.
 *
 * <p>An attempt always writes to a local {@link #temporaryFile} and works in a local {@link #workDir} (processors
 * want files). {@link #publish} then makes the file the job's output, durably and completely or not at all, and
 * replaces an earlier attempt's output: publishing twice for one job (a retry after a crash between publish and
 * the job's success, a fenced-out attempt) neither fails nor leaves two outputs. Where the published output lives
 * depends on the implementation: in place on the worker's disk ({@link OutputStore}, {@code storage.type: local}),
 * or in the shared blob store ({@link StoredJobOutputs}), so that an API node can serve what a worker on another
 * machine wrote.
 */
public interface JobOutputs {

    /** The output file of one attempt while it runs. */
    Path temporaryFile(String jobId, int attempt);

    /** The scratch directory of one attempt (not created here). */
    Path workDir(String jobId, int attempt);

    /** Makes {@code temporaryFile} the output of job {@code jobId} (see the class comment). */
    void publish(Path temporaryFile, String jobId) throws IOException;

    /** A published output opened for reading from its start; the caller closes it. */
    record Opened(ReadableByteChannel channel, long size) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** The output of job {@code jobId}, or empty when there is none (never published, removed, not a job id). */
    Optional<Opened> open(String jobId) throws IOException;

    /** Removes the output of job {@code jobId}; false when there was none. */
    boolean delete(String jobId) throws IOException;

    /**
     * Removes what attempts that did not end left behind (temporary files, work directories), keeping those of
     * attempts for which {@code attemptRunning} answers true. Returns how many.
     */
    int sweepTemporary(BiPredicate<String, Integer> attemptRunning) throws IOException;

    /**
     * Removes the temporary files and work directories of a job's attempts before {@code attempt}. Called when
     * {@code attempt} starts: those attempts are fenced out (their lease was taken back), so nothing they wrote can
     * be published, and a crashed one's files must not wait for the hourly sweep (the start-up sweep keeps them
     * while their lease looked live).
     */
    default void discardEarlierAttempts(String jobId, int attempt) throws IOException {
        for (int earlier = 1; earlier < attempt; earlier++) {
            Files.deleteIfExists(temporaryFile(jobId, earlier));
            Path work = workDir(jobId, earlier);
            if (Files.exists(work)) {
                OutputStore.deleteTree(work);
            }
        }
    }

    /** Removes outputs whose job no longer exists ({@code jobExists} answers false); returns how many. */
    int sweepOrphans(Predicate<String> jobExists) throws IOException;
}
