package io.sluice.processors;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sluice.api.Json;
import io.sluice.isolation.ChildProcess;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.local.Writeback;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A {@link ProcessorContext} over local files: the upload's bytes at a path, output appended to an NDJSON file.
 * The worker (and tests, and the child JVM of an isolated job) build one per attempt; what happens to the output
 * file afterwards (kept on success, removed otherwise) is the caller's.
 */
public final class FileContext implements ProcessorContext, AutoCloseable {

    /** Receives progress reports. */
    @FunctionalInterface
    public interface Progress {
        void report(int percent, String stage, Long etaSeconds);
    }

    private static final byte NEWLINE = '\n';

    private final UploadInfo upload;
    private final Path file;
    private final Path workDir;
    private final Progress progress;
    private final Runnable checkpoint;
    private final Launcher launcher;
    private final DiskLedger disk;
    private final OutputStream out;
    private final Writeback.Tracker outputWriteback;
    /** Flushing after each value would write every row to the file separately. */
    private final ObjectWriter writer = Json.mapper().writer().without(SerializationFeature.FLUSH_AFTER_WRITE_VALUE);
    /** Streams the rows that serialise themselves; made on the first such row. */
    private JsonGenerator json;
    private long lines;

    /**
     * @param outputFile created (or truncated) now
     * @param checkpoint throws when the run must stop
     */
    public FileContext(UploadInfo upload, Path file, Path workDir, Path outputFile, Progress progress,
                       Runnable checkpoint) throws IOException {
        this(upload, file, workDir, outputFile, progress, checkpoint, b -> ChildProcess.unmanaged(b.start()));
    }

    /** @param launcher how {@link #start} starts programs (the worker's ties them to the server's life) */
    public FileContext(UploadInfo upload, Path file, Path workDir, Path outputFile, Progress progress,
                       Runnable checkpoint, Launcher launcher) throws IOException {
        this(upload, file, workDir, outputFile, progress, checkpoint, launcher, null);
    }

    /** @param disk the data disk's ledger, on which {@link #scratch()} files are counted; null: not counted */
    public FileContext(UploadInfo upload, Path file, Path workDir, Path outputFile, Progress progress,
                       Runnable checkpoint, Launcher launcher, DiskLedger disk) throws IOException {
        this(upload, file, workDir, outputFile, progress, checkpoint, launcher, disk, Writeback.disabled());
    }

    /**
     * @param writeback starts writing the output to disk while it grows, so that publishing it (an fsync of the
     *                  whole file) waits only for its tail: for a million-row spreadsheet that fsync otherwise
     *                  wrote some 150 MB at the end, about a tenth of the job (docs/benchmarks.md, "output
     *                  write-back")
     */
    public FileContext(UploadInfo upload, Path file, Path workDir, Path outputFile, Progress progress,
                       Runnable checkpoint, Launcher launcher, DiskLedger disk, Writeback writeback)
            throws IOException {
        this.launcher = launcher;
        this.disk = disk;
        this.upload = upload;
        this.file = file;
        this.workDir = workDir;
        this.progress = progress;
        this.checkpoint = checkpoint;
        Files.createDirectories(workDir);
        OutputStream output = Files.newOutputStream(outputFile, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        this.outputWriteback = writeback.track(outputFile, 0);
        this.out = new BufferedOutputStream(new WrittenBack(output, outputWriteback), 64 * 1024);
    }

    @Override
    public UploadInfo upload() {
        return upload;
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public Output output() {
        return new Output() {
            @Override
            public void write(Object row) throws IOException {
                // Jackson escapes newlines inside strings, so one value is always one line.
                if (row instanceof JsonLine l) {
                    // Plain generator calls, no provider: written as the JsonSerializable branch would write it.
                    l.writeTo(generator());
                    json.writeRaw((char) NEWLINE);
                } else if (row instanceof JsonSerializable) {
                    // A value that writes itself (a spreadsheet row, a JsonNode) cannot fail half-way through for
                    // anything but I/O, which fails the attempt: streamed through one generator, no byte array.
                    writer.writeValue(generator(), row);
                    json.writeRaw((char) NEWLINE);
                } else {
                    // Anything else may fail to serialise after part of it is written: whole or not at all.
                    byte[] line = writer.writeValueAsBytes(row);
                    if (json != null) {
                        json.flush(); // what it holds comes first (not passed on to the file: see generator())
                    }
                    out.write(line);
                    out.write(NEWLINE);
                }
                lines++;
            }

            @Override
            public long lines() {
                return lines;
            }
        };
    }

    @Override
    public void progress(int percent, String stage, Long etaSeconds) {
        progress.report(Math.clamp(percent, 0, 100), stage, etaSeconds);
    }

    @Override
    public void checkpoint() {
        checkpoint.run();
    }

    @Override
    public Path workDir() {
        return workDir;
    }

    @Override
    public Scratch scratch() {
        if (disk == null) {
            return Scratch.UNCOUNTED;
        }
        return new Scratch() {
            private DiskLedger.Reservation reservation;

            @Override
            public void wrote(long bytes) throws IOException {
                if (reservation == null) {
                    reservation = disk.reserve(0);
                }
                reservation.advance(bytes, bytes + 1);
            }

            @Override
            public void close() {
                if (reservation != null) {
                    reservation.close();
                }
            }
        };
    }

    @Override
    public ChildProcess start(ProcessBuilder builder) throws IOException {
        return launcher.start(builder);
    }

    private JsonGenerator generator() throws IOException {
        if (json == null) {
            JsonGenerator g = writer.createGenerator(out);
            // Lines are separated by the newline written after each value, not by Jackson's root separator (a space).
            g.setRootValueSeparator(null);
            g.disable(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM);
            json = g;
        }
        return json;
    }

    /** Flushes and closes the output file. */
    @Override
    public void close() throws IOException {
        try (outputWriteback; out) {
            if (json != null) {
                json.close();
            }
        }
    }

    /** The output file's stream, handing what reached the file to write-back as it grows. */
    private static final class WrittenBack extends FilterOutputStream {
        private final Writeback.Tracker tracker;
        private long written;

        WrittenBack(OutputStream file, Writeback.Tracker tracker) {
            super(file);
            this.tracker = tracker;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            tracker.written(++written);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            written += len;
            tracker.written(written);
        }
    }
}
