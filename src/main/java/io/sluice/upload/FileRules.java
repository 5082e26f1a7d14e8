package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.upload.ResumableFailure.FileRefused;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The type and pipeline rules of {@link UploadService}, as the resumable layer meets them. Those rules refuse with
 * the upload layer's own errors (shared with direct uploads); this is the one place where such a refusal becomes a
 * {@link FileRefused}, so the resumable steps can tell it apart from a failure of storage or of the database.
 */
final class FileRules {

    private final UploadService uploads;

    FileRules(UploadService uploads) {
        this.uploads = uploads;
    }

    /** The type of a file from its first bytes and its name. */
    String detect(ByteBuffer head, String filename) {
        try {
            return uploads.types().detect(head, filename);
        } catch (ApiException e) {
            throw new ResumableException(new FileRefused(e));
        }
    }

    /**
     * Whether the token that created the upload allows {@code type} ({@link TokenTypes}), and the pipeline the upload
     * named takes it (the part of {@link #plan} that needs only the type).
     */
    void checkType(Map<String, String> metadata, String type) {
        try {
            TokenTypes.check(metadata, type);
            uploads.processing().checkType(ResumableCore.pipeline(metadata), type);
        } catch (ApiException e) {
            throw new ResumableException(new FileRefused(e));
        }
    }

    /** The pipeline that processes a finished upload, or null; its precheck reads the stored bytes. */
    String plan(Upload u, String pipeline) throws IOException {
        try {
            return uploads.processing().plan(u, pipeline);
        } catch (ApiException e) {
            throw new ResumableException(new FileRefused(e));
        }
    }
}
