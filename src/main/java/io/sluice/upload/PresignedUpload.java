package io.sluice.upload;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * A presigned direct upload: what the client declared when it asked for a URL, and how far it got.
 *
 * @param id          the upload id and blob key once the bytes are recorded
 * @param storage     where the URL points: Sluice itself ({@code LOCAL}) or the object store ({@code PRESIGNER})
 * @param pipeline    the pipeline the client named, or null for the default of the detected type
 * @param client      who asked for the URL (admission's client key), recorded on the upload
 * @param jobId       the job started at completion, or null (not completed, or no pipeline applied)
 * @param lockOwner   the request or sweep working on the row now (any process), or null
 * @param lockUntil   when that lock runs out (a crashed holder's lock is taken over after it), or null
 * @param completedAt null until the upload is recorded
 * @param owner       the API key that asked for the URL, or null (open mode); the upload is recorded as its
 * @param metadata    what the upload is recorded with: the token's {@code sluice.metadata} claim with the preCreate
 *                    hook's metadata merged over it (empty for a row made before the column existed)
 */
public record PresignedUpload(String id, String filename, long size, String contentType, String pipeline,
                              Storage storage, State state, String client, String jobId, String lockOwner,
                              Instant lockUntil, Instant expiresAt, Instant createdAt, Instant completedAt,
                              String owner, Map<String, String> metadata) {

    public PresignedUpload {
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    /** Where the bytes go. */
    public enum Storage {
        /** A Sluice-signed URL to {@code PUT /api/v1/presigned/{id}}: the bytes pass through Sluice. */
        LOCAL,
        /** The store's own presigned URL (S3): the bytes go straight to the object store. */
        PRESIGNER;

        String dbValue() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Storage fromDb(String v) {
            return valueOf(v.toUpperCase(Locale.ROOT));
        }
    }

    public enum State {
        /** Waiting for the bytes (a PUT, or a completion call / storage event after an S3 PUT). */
        PENDING,
        /** The upload and its job are recorded; every later completion returns them. */
        COMPLETED;

        String dbValue() {
            return name().toLowerCase(Locale.ROOT);
        }

        static State fromDb(String v) {
            return valueOf(v.toUpperCase(Locale.ROOT));
        }
    }

    public boolean isExpired(Instant now) {
        return state == State.PENDING && !expiresAt.isAfter(now);
    }
}
