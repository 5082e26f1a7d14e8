package io.sluice.upload;

import io.sluice.api.ErrorCode;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An upload token's {@code allowedTypes}, carried by the resumable upload it created until its type is detected.
 * The token is not stored and the bytes arrive in later requests (possibly with another token of the same subject),
 * so the creation writes the claim into the upload's metadata under {@link #KEY}; the first append's early check
 * and the finish read it there. A client can neither set nor remove it ({@link #strip} runs on what a client sends),
 * and it never leaves the server: the stored upload, the hooks and the API see the metadata without it.
 */
final class TokenTypes {

    /** Not a key a tus or IETF client can send: {@link #strip} drops it from every client's metadata. */
    static final String KEY = "sluice:allowedTypes";

    private TokenTypes() {
    }

    /** The client's metadata without {@link #KEY} (the same map when it has none). */
    static Map<String, String> strip(Map<String, String> metadata) {
        if (!metadata.containsKey(KEY)) {
            return metadata;
        }
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.remove(KEY);
        return m;
    }

    /** {@code metadata} carrying the token's types (none: as it is). */
    static Map<String, String> carry(Map<String, String> metadata, List<String> allowedTypes) {
        if (allowedTypes.isEmpty()) {
            return metadata;
        }
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.put(KEY, String.join(",", allowedTypes));
        return m;
    }

    /** 415 {@code type_not_allowed}, as for a direct upload with the token, when the detected type is not allowed. */
    static void check(Map<String, String> metadata, String detectedType) {
        String carried = metadata.get(KEY);
        if (carried == null || detectedType == null) {
            return;
        }
        List<String> allowed = Arrays.asList(carried.split(","));
        if (!new TypePatterns(allowed).accepts(detectedType)) {
            throw ErrorCode.TYPE_NOT_ALLOWED.error("files of type " + detectedType
                    + " are not accepted with this token", Map.of("detectedType", detectedType,
                    "allowedTypes", allowed));
        }
    }
}
