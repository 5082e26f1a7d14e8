package io.sluice.upload;

import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MediaTypeRegistry;
import org.apache.tika.mime.MimeTypes;

import java.util.List;

/**
 * Which detected types a list of patterns accepts: the one rule behind {@code limits.allowedTypes} and a
 * pipeline's {@code types}. An empty list accepts every type. Each pattern is one of:
 * <ul>
 *   <li>{@code type/subtype}: that type exactly (parameters ignored, and an alias Tika knows is the same type:
 *       {@code text/xml} is {@code application/xml});</li>
 *   <li>{@code type/*}: every type whose top-level type is {@code type};</li>
 *   <li>{@code type/subtype+subtypes}: that type and every type Tika's hierarchy derives from it. Opt-in because the
 *       hierarchy is wide: {@code text/plain+subtypes} admits csv, but also shell scripts and source code, and
 *       {@code application/octet-stream+subtypes} admits everything.</li>
 * </ul>
 * Immutable and thread-safe (Tika's registry is read-only once loaded).
 */
public final class TypePatterns {

    /** The suffix that widens an exact pattern to the type's descendants. */
    public static final String SUBTYPES = "+subtypes";

    private static final MediaTypeRegistry REGISTRY = MimeTypes.getDefaultMimeTypes().getMediaTypeRegistry();

    private final List<String> patterns;

    /** @param patterns lower-case patterns, as the configuration loader validated them */
    public TypePatterns(List<String> patterns) {
        this.patterns = List.copyOf(patterns);
    }

    public boolean isEmpty() {
        return patterns.isEmpty();
    }

    public List<String> patterns() {
        return patterns;
    }

    /** @param contentType a detected type such as {@code text/csv; charset=UTF-8}; unparseable is refused */
    public boolean accepts(String contentType) {
        if (patterns.isEmpty()) {
            return true;
        }
        MediaType type = MediaType.parse(contentType);
        return type != null && accepts(type);
    }

    public boolean accepts(MediaType type) {
        if (patterns.isEmpty()) {
            return true;
        }
        MediaType base = REGISTRY.normalize(type.getBaseType());
        for (String pattern : patterns) {
            if (pattern.endsWith("/*")) {
                if (base.getType().equals(pattern.substring(0, pattern.length() - 2))) {
                    return true;
                }
            } else if (pattern.endsWith(SUBTYPES)) {
                MediaType root = REGISTRY.normalize(MediaType.parse(
                        pattern.substring(0, pattern.length() - SUBTYPES.length())));
                if (base.equals(root) || REGISTRY.isInstanceOf(base, root)) {
                    return true;
                }
            } else if (base.equals(REGISTRY.normalize(MediaType.parse(pattern)))) {
                return true;
            }
        }
        return false;
    }
}
