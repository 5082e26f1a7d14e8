package io.sluice.processors;

import io.sluice.isolation.ChildProcess;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** What a {@link Processor.Task} gets for one attempt of one job. Used from the job's thread only. */
public interface ProcessorContext {

    /** The upload's id, filename, size, sha256 and detected type. */
    UploadInfo upload();

    /**
     * The upload's bytes as a local, read-only file (storage that is not local is spooled to {@link #workDir()}
     * first).
     */
    Path file() throws IOException;

    /** Where rows go: one JSON object per line, kept only if this attempt succeeds. */
    Output output();

    /**
     * Reports progress; cheap to call often (writes are throttled).
     *
     * @param percent    0..100
     * @param stage      a short word or phrase ("parsing", "page 12 of 300")
     * @param etaSeconds estimated seconds left, or null when unknown
     */
    void progress(int percent, String stage, Long etaSeconds);

    /** Stops the run (throws) when the job was cancelled, its lease was lost or its time is up. */
    void checkpoint();

    /** A private directory for this attempt's temporary files; removed after the attempt. */
    Path workDir();

    /**
     * Counts a scratch file in {@link #workDir()} on the data disk's ledger, as the attempt's own reservation is, so
     * that a large one cannot take the disk out from under uploads. Close it when the file is removed.
     */
    default Scratch scratch() {
        return Scratch.UNCOUNTED;
    }

    /** Disk space held for a scratch file while it grows. */
    interface Scratch extends AutoCloseable {
        /** For contexts without a ledger (tests, the child JVM of an isolated job, whose parent reserved). */
        Scratch UNCOUNTED = new Scratch() {
            @Override
            public void wrote(long bytes) {
            }

            @Override
            public void close() {
            }
        };

        /**
         * Reports that the file now holds {@code bytes}, reserving ahead of it.
         *
         * @throws IOException a {@code DiskFullException} when the disk cannot take more
         */
        void wrote(long bytes) throws IOException;

        @Override
        void close();
    }

    /**
     * Starts an external program for this attempt. Use this rather than {@link ProcessBuilder#start()}: in a worker
     * the program is tied to the server's life (it dies with it, even on {@code kill -9}) and recorded, so that
     * what a crashed attempt left is killed before the job runs again. Close the result when done with it.
     */
    default ChildProcess start(ProcessBuilder builder) throws IOException {
        return ChildProcess.unmanaged(builder.start());
    }

    /** How a context starts programs ({@link #start}). */
    @FunctionalInterface
    interface Launcher {
        ChildProcess start(ProcessBuilder builder) throws IOException;
    }

    /** The stored upload, as processors see it. */
    record UploadInfo(String id, String filename, long size, String sha256, String contentType,
                      Map<String, String> metadata) {
    }

    /** NDJSON output of a job. */
    interface Output {
        /** Appends {@code row} (a Map, record or any Jackson-serialisable value) as one line. */
        void write(Object row) throws IOException;

        /** Lines written so far. */
        long lines();
    }
}
