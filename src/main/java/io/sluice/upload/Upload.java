package io.sluice.upload;

import io.sluice.api.Principal;

import java.time.Instant;
import java.util.Map;

/**
 * A stored, complete upload. Only complete uploads exist as records: a row is written after its bytes are durable.
 *
 * @param storageKey the blob key; chosen by Sluice, never derived from the filename
 * @param client     who uploaded it (remote address or key id), for audits and per-client limits
 * @param metadata   the optional form fields sent with a multipart upload
 * @param owner      the API key that created it; null in open mode (see {@link Principal})
 */
public record Upload(
        String id,
        String filename,
        long size,
        String sha256,
        String contentType,
        Instant createdAt,
        String storageKey,
        String client,
        Map<String, String> metadata,
        String owner) {

    public Upload {
        metadata = Map.copyOf(metadata);
    }
}
