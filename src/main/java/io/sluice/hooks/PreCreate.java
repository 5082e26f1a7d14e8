package io.sluice.hooks;

import java.util.Map;

/**
 * What {@link UploadHooks#preCreate} tells the application about an upload about to be created.
 *
 * @param filename the display name Sluice would store it under (already sanitized)
 * @param size     the declared size in bytes, or null when not known yet (a multipart part, a deferred length)
 * @param type     the media type the client declared, or null
 * @param metadata the client's metadata (form fields before the file, tus / IETF metadata)
 * @param pipeline the pipeline the client named, or null
 * @param client   the client as Sluice records it on the upload (the key id, or the remote address)
 * @param address  the remote address of the request, or null where the caller does not know it
 */
public record PreCreate(String filename, Long size, String type, Map<String, String> metadata, String pipeline,
                        Caller caller, String client, String address) {

    public PreCreate {
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }
}
