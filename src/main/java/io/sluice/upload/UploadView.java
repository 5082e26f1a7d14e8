package io.sluice.upload;

import java.time.Instant;
import java.util.Map;

/**
 * An upload as the API shows it. {@code metadata} only appears when the upload has some; {@code job} only in the
 * response that stored the upload, when a pipeline applied.
 */
public record UploadView(String id, String filename, long size, String sha256, String contentType,
                         Instant createdAt, Map<String, String> metadata, QueuedJob job) {

    public static UploadView of(Upload u) {
        return of(u, null);
    }

    public static UploadView of(Upload u, QueuedJob job) {
        return new UploadView(u.id(), u.filename(), u.size(), u.sha256(), u.contentType(), u.createdAt(),
                u.metadata().isEmpty() ? null : u.metadata(), job);
    }
}
