package io.sluice.processors.pdf;

import java.util.Map;
import java.util.Set;

/**
 * The {@code pdf} processor's options, validated once at start-up.
 *
 * @param chunkSize    most characters (UTF-16 code units) in one chunk; at least {@value #MIN_CHUNK_SIZE}
 * @param chunkOverlap characters each chunk repeats from the end of the one before; {@code 0 <= overlap < chunkSize}
 * @param maxPages     a document with more pages fails with {@code too_many_pages} before any text is extracted
 * @param password     the user (or owner) password of encrypted documents, or null
 */
public record PdfOptions(int chunkSize, int chunkOverlap, int maxPages, String password) {

    static final int MIN_CHUNK_SIZE = 100;
    static final int DEFAULT_CHUNK_SIZE = 1000;
    static final int DEFAULT_CHUNK_OVERLAP = 200;
    static final int DEFAULT_MAX_PAGES = 2000;

    private static final Set<String> KNOWN = Set.of("chunkSize", "chunkOverlap", "maxPages", "password");

    public PdfOptions {
        if (chunkSize < MIN_CHUNK_SIZE) {
            throw new IllegalArgumentException("options.chunkSize: must be >= " + MIN_CHUNK_SIZE + ", got " + chunkSize);
        }
        if (chunkOverlap < 0 || chunkOverlap >= chunkSize) {
            throw new IllegalArgumentException("options.chunkOverlap: must be >= 0 and < chunkSize (" + chunkSize
                    + "), got " + chunkOverlap);
        }
        if (maxPages < 1) {
            throw new IllegalArgumentException("options.maxPages: must be >= 1, got " + maxPages);
        }
    }

    /** The defaults: 1000-character chunks overlapping by 200, at most 2000 pages, no password. */
    public static PdfOptions defaults() {
        return new PdfOptions(DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP, DEFAULT_MAX_PAGES, null);
    }

    /**
     * Reads a pipeline's options (as parsed from YAML: numbers may arrive as Integer, Long or a digit string).
     * Unknown keys are refused, so that a misspelt option does not silently fall back to its default.
     *
     * @throws IllegalArgumentException naming {@code options.<key>}
     */
    public static PdfOptions parse(Map<String, Object> options) {
        Map<String, Object> o = options == null ? Map.of() : options;
        for (String key : o.keySet()) {
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("options." + key + ": unknown option (known: chunkSize, "
                        + "chunkOverlap, maxPages, password)");
            }
        }
        Object pw = o.get("password");
        if (pw != null && !(pw instanceof String)) {
            throw new IllegalArgumentException("options.password: must be a string");
        }
        return new PdfOptions(integer(o, "chunkSize", DEFAULT_CHUNK_SIZE),
                integer(o, "chunkOverlap", DEFAULT_CHUNK_OVERLAP),
                integer(o, "maxPages", DEFAULT_MAX_PAGES),
                (String) pw);
    }

    private static int integer(Map<String, Object> o, String key, int dflt) {
        Object v = o.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
                return Math.toIntExact(((Number) v).longValue());
            }
            if (v instanceof String s) {
                return Integer.parseInt(s.strip());
            }
        } catch (ArithmeticException | NumberFormatException e) {
            // falls through to the message below
        }
        throw new IllegalArgumentException("options." + key + ": must be an integer, got '" + v + "'");
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "PdfOptions[chunkSize=" + chunkSize + ", chunkOverlap=" + chunkOverlap + ", maxPages=" + maxPages
                + ", password=" + (password == null ? "none" : "***") + "]";
    }
}
