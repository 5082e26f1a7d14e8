package io.sluice.jobs;

import io.sluice.api.ApiException;
import io.sluice.processors.ProcessorException;
import io.sluice.storage.BlobFiles;
import io.sluice.upload.QueuedJob;
import io.sluice.upload.Upload;
import io.sluice.upload.UploadProcessing;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Objects;

/**
 * The upload paths' side of background jobs: which pipeline an upload gets, its precheck, and the enqueue in the
 * upload's own transaction ({@link UploadProcessing}'s contract).
 *
 * <p>A precheck runs on the request thread, on the committed blob read in place or from a local copy ({@link BlobFiles}). Its refusal
 * is answered as it is: an {@link ApiException} unchanged, a {@link ProcessorException} as 422 with its code; any
 * other failure is a server error. Either way the caller deletes the blob and records nothing.
 */
public final class UploadJobs implements UploadProcessing {

    private final Pipelines pipelines;
    private final JobQueue queue;
    private final BlobFiles files;
    private final JobEvents events;

    public UploadJobs(Pipelines pipelines, JobQueue queue, BlobFiles files) {
        this(pipelines, queue, files, JobEvents.NONE);
    }

    /** @param events told of each upload that got a job, inside the upload's transaction */
    public UploadJobs(Pipelines pipelines, JobQueue queue, BlobFiles files, JobEvents events) {
        this.pipelines = Objects.requireNonNull(pipelines, "pipelines");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.files = Objects.requireNonNull(files, "files");
        this.events = Objects.requireNonNull(events, "events");
    }

    @Override
    public void checkName(String pipeline) {
        if (pipeline != null) {
            pipelines.require(pipeline);
        }
    }

    @Override
    public void checkType(String requested, String contentType) {
        if (requested != null) {
            pipelines.choose(requested, contentType);
        }
    }

    @Override
    public String plan(Upload upload, String requested) throws IOException {
        Pipelines.Pipeline p = pipelines.choose(requested, upload.contentType()).orElse(null);
        if (p == null) {
            return null;
        }
        precheck(p, upload);
        return p.name();
    }

    private void precheck(Pipelines.Pipeline p, Upload upload) throws IOException {
        try (BlobFiles.BlobFile blob = files.open(upload.storageKey())) {
            p.task().precheck(blob.path(), upload.contentType());
        } catch (ApiException | IOException e) {
            throw e;
        } catch (ProcessorException e) {
            throw ApiException.refusedByProcessor(e.code(), e.getMessage(), Map.of("pipeline", p.name()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("precheck of pipeline " + p.name() + " was interrupted", e);
        } catch (Exception e) {
            throw new IOException("precheck of pipeline " + p.name() + " failed on upload " + upload.id(), e);
        }
    }

    @Override
    public QueuedJob enqueue(Connection tx, Upload upload, String pipeline) throws SQLException {
        Pipelines.Pipeline p = pipelines.find(pipeline)
                .orElseThrow(() -> new IllegalArgumentException("no pipeline named " + pipeline));
        Job job = queue.enqueue(tx, NewJob.forUpload(upload.id(), p.name(), p.config().maxAttempts(),
                p.config().timeout()));
        events.uploadCompleted(tx, upload, job);
        return QueuedJob.of(job.id(), job.state().dbValue());
    }
}
