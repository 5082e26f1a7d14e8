package io.sluice.hooks;

import java.util.Map;

/**
 * What {@link UploadHooks#preFinish} tells the application about an upload whose bytes are all stored.
 *
 * @param id       the upload's id (what it will be listed under when allowed)
 * @param type     the detected media type
 * @param sha256   hex SHA-256 of the bytes
 * @param pipeline the pipeline the upload will be queued to, or null (none named, or not chosen yet)
 * @param client   the client as Sluice recorded it (the key id, or the remote address)
 */
public record PreFinish(String id, String filename, long size, String type, String sha256,
                        Map<String, String> metadata, String pipeline, Caller caller, String client) {

    public PreFinish {
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }
}
