package io.sluice.hooks;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A preCreate hook's "yes", with what the application changes about the upload.
 *
 * @param metadata merged over the client's (the application's keys win)
 * @param pipeline the pipeline the upload goes to, whatever the client named; null keeps the client's
 * @param filename the name to store the upload under; null keeps the client's
 */
public record Allowed(Map<String, String> metadata, String pipeline, String filename) {

    /** Allowed as asked: no hook, a failed call under {@code hooks.failOpen}, or a bare {@code {"allow": true}}. */
    public static final Allowed AS_ASKED = new Allowed(Map.of(), null, null);

    public Allowed {
        metadata = Map.copyOf(metadata);
    }

    /** The client's metadata with the application's merged over it. */
    public Map<String, String> metadata(Map<String, String> asked) {
        if (metadata.isEmpty()) {
            return asked;
        }
        Map<String, String> merged = new LinkedHashMap<>(asked);
        merged.putAll(metadata);
        return Map.copyOf(merged);
    }

    public String pipeline(String asked) {
        return pipeline != null ? pipeline : asked;
    }

    public String filename(String asked) {
        return filename != null ? filename : asked;
    }
}
