package io.sluice.jobs;

import io.sluice.api.Json;
import io.sluice.isolation.ChildProcesses;
import io.sluice.isolation.RunSpec;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;
import io.sluice.storage.BlobFiles;
import io.sluice.storage.DiskFullException;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.local.Writeback;
import io.sluice.upload.Upload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Runs one attempt of a pipeline's job in the worker: the processor's task over the upload's stored bytes (read in
 * place, or a local copy of an object, {@link BlobFiles}), its rows to {@code outputs/tmp/<jobId>.<attempt>.ndjson},
 * and on success that file published as the job's output ({@link JobOutputs#publish}: in place on local disk, or
 * into the shared store) before the result is returned. The result is the processor's summary plus
 * {@code outputLines}. An isolated pipeline's task runs in a child JVM instead ({@link IsolatedRunner}), which
 * writes the same temporary file; publishing and clean-up are the same.
 *
 * <p>Disk: an attempt reserves the size of its upload on the data disk's {@link DiskLedger} for as long as it
 * runs, the estimate of what its output and scratch files take (every built-in processor writes rows or text of its
 * input, so about its size; what a {@code command} program writes is beyond Sluice's count). When that does not
 * fit, or the disk fills anyway, the attempt fails with {@code insufficient_storage}, retryable.
 *
 * <p>Failures: a {@link ProcessorException} becomes a {@link JobFailedException} with its code and retryability;
 * an upload that no longer exists fails the job with {@code upload_missing}, not retryable. Whatever happens, the
 * attempt's temporary output and scratch directory are removed before the handler returns. An attempt that was
 * fenced out after publishing (its lease was lost) replaced the output with one equal to what the winning attempt
 * writes, because processors are idempotent per upload.
 */
public final class PipelineHandler implements JobHandler {

    private static final Logger log = LoggerFactory.getLogger(PipelineHandler.class);

    /** How the handler finds the upload record of a job. */
    @FunctionalInterface
    public interface Uploads {
        Optional<Upload> find(String id) throws SQLException;
    }

    private final Pipelines.Pipeline pipeline;
    private final Uploads uploads;
    private final BlobFiles files;
    private final JobOutputs outputs;
    private final IsolatedRunner isolated;
    private final DiskLedger disk;
    private final ChildProcesses children;
    private final Writeback writeback;

    /**
     * @param children starts the attempts' processes (programs, child JVMs) and kills what earlier ones left
     * @param disk     the data disk's ledger, on which each attempt reserves its estimate
     */
    public PipelineHandler(Pipelines.Pipeline pipeline, Uploads uploads, BlobFiles files, JobOutputs outputs,
                           ChildProcesses children, DiskLedger disk) {
        this(pipeline, uploads, files, outputs, IsolatedRunner.forThisJvm(), children, disk, Writeback.disabled());
    }

    /** @param writeback starts writing an attempt's output to disk as it grows (see {@link FileContext}) */
    public PipelineHandler(Pipelines.Pipeline pipeline, Uploads uploads, BlobFiles files, JobOutputs outputs,
                           ChildProcesses children, DiskLedger disk, Writeback writeback) {
        this(pipeline, uploads, files, outputs, IsolatedRunner.forThisJvm(), children, disk, writeback);
    }

    /** @param isolated runs the jobs of an isolated pipeline ({@link Pipelines.Pipeline#isolated()}) */
    public PipelineHandler(Pipelines.Pipeline pipeline, Uploads uploads, BlobFiles files, JobOutputs outputs,
                           IsolatedRunner isolated, ChildProcesses children, DiskLedger disk) {
        this(pipeline, uploads, files, outputs, isolated, children, disk, Writeback.disabled());
    }

    private PipelineHandler(Pipelines.Pipeline pipeline, Uploads uploads, BlobFiles files, JobOutputs outputs,
                            IsolatedRunner isolated, ChildProcesses children, DiskLedger disk, Writeback writeback) {
        this.writeback = Objects.requireNonNull(writeback, "writeback");
        this.children = Objects.requireNonNull(children, "children");
        this.disk = Objects.requireNonNull(disk, "disk");
        this.isolated = Objects.requireNonNull(isolated, "isolated");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.uploads = Objects.requireNonNull(uploads, "uploads");
        this.files = Objects.requireNonNull(files, "files");
        this.outputs = Objects.requireNonNull(outputs, "outputs");
    }

    @Override
    public Result run(JobContext context) throws Exception {
        Job job = context.job();
        Upload upload = (job.uploadId() == null ? Optional.<Upload>empty() : uploads.find(job.uploadId()))
                .orElseThrow(() -> missing(job));
        try (DiskLedger.Reservation ignored = disk.reserve(upload.size())) {
            BlobFiles.BlobFile blob;
            try {
                blob = files.open(upload.storageKey());
            } catch (NoSuchFileException e) {
                throw missing(job);
            }
            try (blob) {
                return run(context, job, upload, blob.path());
            }
        } catch (IOException | RuntimeException e) {
            throw DiskFullException.of(e, disk.retryAfter()).<Exception>map(full -> new JobFailedException(
                    "insufficient_storage", full.getMessage(), true, e)).orElse(e);
        }
    }

    /** One attempt over {@code file}, the upload's bytes on this machine (in place, or a copy from object storage). */
    private Result run(JobContext context, Job job, Upload upload, Path file) throws Exception {
        Path temporary = outputs.temporaryFile(job.id(), job.attempt());
        Path workDir = outputs.workDir(job.id(), job.attempt());
        // Never two attempts at once: what a crashed or fenced-out attempt left running dies before this one starts.
        try {
            children.killEarlierAttempts(job.id(), job.attempt());
        } catch (IOException e) {
            throw new JobFailedException("previous_attempt_running", "an earlier attempt's process could not be "
                    + "stopped: " + e.getMessage(), true);
        }
        outputs.discardEarlierAttempts(job.id(), job.attempt());
        ProcessorContext.Launcher launcher = b -> children.start(b, job.id(), job.attempt());
        try {
            Map<String, Object> summary = new LinkedHashMap<>();
            long lines;
            if (pipeline.isolated()) {
                RunSpec spec = new RunSpec(pipeline.config().processor(), pipeline.config().options(), info(upload),
                        file.toString(), temporary.toString(), workDir.toString());
                IsolatedRunner.Outcome outcome = isolated.run(context, spec, pipeline.config().memory(),
                        job.timeout(), launcher);
                summary.putAll(outcome.summary());
                lines = outcome.outputLines();
            } else {
                try (FileContext fc = new FileContext(info(upload), file, workDir, temporary, context::progress,
                        context::checkpoint, launcher, disk, writeback)) {
                    Processor.Result result = pipeline.task().run(fc);
                    if (result != null) {
                        summary.putAll(result.summary());
                    }
                    lines = fc.output().lines();
                } catch (ProcessorException e) {
                    throw new JobFailedException(e.code(), e.getMessage(), e.retryable(), e);
                }
            }
            outputs.publish(temporary, job.id());
            summary.put("outputLines", lines);
            return Result.json(Json.mapper().writeValueAsString(summary));
        } finally {
            cleanUp(temporary, workDir, job);
        }
    }

    private static ProcessorContext.UploadInfo info(Upload u) {
        return new ProcessorContext.UploadInfo(u.id(), u.filename(), u.size(), u.sha256(), u.contentType(),
                u.metadata());
    }

    private static JobFailedException missing(Job job) {
        return new JobFailedException("upload_missing", "upload " + job.uploadId()
                + " no longer exists (deleted after the job was queued)", false);
    }

    private static void cleanUp(Path temporary, Path workDir, Job job) {
        try {
            Files.deleteIfExists(temporary);
            OutputStore.deleteTree(workDir);
        } catch (IOException e) {
            // Swept at the next start; never worth failing a job for.
            log.warn("could not remove the temporary files of job {} attempt {}: {}", job.id(), job.attempt(),
                    e.toString());
        }
    }
}
