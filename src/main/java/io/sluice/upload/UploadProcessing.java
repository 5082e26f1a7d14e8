package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

/**
 * What happens to an upload once it is stored: the background job of its pipeline. The upload paths (direct, tus,
 * IETF draft) call it at fixed points, so that the job commits in the same transaction as the upload record, or
 * neither does (invariant 3, docs/architecture.md). Implemented by the jobs package; {@link #NONE} where jobs are not wired.
 *
 * <p>Order for one upload: {@link #checkName} as soon as the request names a pipeline (for a PUT or a tus creation,
 * before a byte of the body is read) → the bytes are stored and the blob committed → {@link #plan} chooses the
 * pipeline from the detected type and runs its cheap precheck on the committed bytes → one transaction writes the
 * upload record and {@link #enqueue}s the job. A refusal from {@link #checkName} or {@link #plan} is answered to
 * the client and the caller removes the blob: nothing is recorded.
 *
 * <p>Implementations are safe to call from many request threads at once.
 */
public interface UploadProcessing {

    /** The form field, query parameter and tus / IETF metadata key that names a pipeline. */
    String PIPELINE_FIELD = "pipeline";

    /**
     * Checks a pipeline name a client gave.
     *
     * @param pipeline the name, or null when the client named none (then this does nothing)
     * @throws ApiException 400 {@code unknown_pipeline} when no pipeline has that name
     */
    void checkName(String pipeline);

    /**
     * Chooses the pipeline that processes {@code upload} and lets it look at the stored bytes.
     *
     * @param requested the pipeline the client named, or null for the default of the upload's detected type
     * @return the pipeline to enqueue, or null when none applies (no pipeline named and no default for the type)
     * @throws ApiException 400 {@code unknown_pipeline}; 415 {@code pipeline_type_mismatch} when the named pipeline
     *                      does not take the detected type; the precheck's own refusal (typically 422)
     * @throws IOException  when the stored bytes cannot be read
     */
    String plan(Upload upload, String requested) throws IOException;

    /**
     * Checks, before its bytes are all there, that the pipeline an upload named takes its detected type: the part
     * of {@link #plan} that needs only the type (a resumable upload's early check). The precheck waits for
     * {@link #plan}.
     *
     * @throws ApiException 400 {@code unknown_pipeline}; 415 {@code pipeline_type_mismatch}
     */
    default void checkType(String requested, String contentType) {
        checkName(requested);
    }

    /** Enqueues the job of {@code pipeline} (a result of {@link #plan}) over {@code upload} inside {@code tx}. */
    QueuedJob enqueue(Connection tx, Upload upload, String pipeline) throws SQLException;

    /** No pipelines: nothing is enqueued, and a request naming a pipeline is refused. */
    UploadProcessing NONE = new UploadProcessing() {
        @Override
        public void checkName(String pipeline) {
            if (pipeline != null) {
                throw ErrorCode.UNKNOWN_PIPELINE.error("no pipelines are configured",
                        Map.of("pipeline", pipeline));
            }
        }

        @Override
        public String plan(Upload upload, String requested) {
            checkName(requested);
            return null;
        }

        @Override
        public QueuedJob enqueue(Connection tx, Upload upload, String pipeline) {
            throw new IllegalStateException("no pipelines are configured");
        }
    };
}
