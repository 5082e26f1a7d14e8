package io.sluice.upload;

import java.time.Instant;
import java.util.Map;

/**
 * An upload as the API shows it. {@code metadata} only appears when the upload has some; {@code job} only in the
 * response that stored the upload, when a pipeline applied, and in the list (the upload's latest job); {@code owner}
 * (the owning key's id) only in an admin's list.
 */
public record UploadView(String id, String filename, long size, String sha256, String contentType,
                         Instant createdAt, Map<String, String> metadata, QueuedJob job, String owner) {

    public static UploadView of(Upload u) {
        return of(u, null);
    }

    public static UploadView of(Upload u, QueuedJob job) {
        return new UploadView(u.id(), u.filename(), u.size(), u.sha256(), u.contentType(), u.createdAt(),
                u.metadata().isEmpty() ? null : u.metadata(), job, null);
    }

    /** A row of the list: with its latest job, and its owner when the caller is an admin. */
    public static UploadView listed(Upload u, QueuedJob job, boolean showOwner) {
        return new UploadView(u.id(), u.filename(), u.size(), u.sha256(), u.contentType(), u.createdAt(),
                u.metadata().isEmpty() ? null : u.metadata(), job, showOwner ? u.owner() : null);
    }
}
