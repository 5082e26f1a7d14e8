package io.sluice.storage;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Optional capability of a {@link BlobStore}: a URL a client can send one blob's bytes to directly, without them
 * passing through Sluice (an S3 presigned PUT). Stores without it (local disk) get a Sluice-signed URL to Sluice
 * itself instead; that is the presign API's business, not the store's.
 *
 * <p>Contract:
 * <ul>
 *   <li>A PUT of exactly {@code size} bytes with the returned method, URL and headers, before {@code expiresAt},
 *       makes the committed blob {@code key} exist with those bytes; after it, {@link BlobStore#size} and
 *       {@link BlobStore#openRange} see it. Any other request to the URL is refused by the storage.</li>
 *   <li>Presigning creates nothing: a URL that is never used leaves nothing behind.</li>
 * </ul>
 */
public interface Presigner {

    /** A signed request for one PUT of {@code size} bytes of {@code contentType} to {@code key}, valid for {@code ttl}. */
    PresignedRequest presignPut(String key, long size, String contentType, Duration ttl) throws IOException;

    /** A signed GET of a committed blob, for download redirects. */
    PresignedRequest presignGet(String key, Duration ttl) throws IOException;

    /** What the client must send: method, absolute URL and the headers that are part of the signature. */
    record PresignedRequest(String method, URI url, Map<String, String> headers, Instant expiresAt) {
        public PresignedRequest {
            headers = Map.copyOf(headers);
        }
    }
}
