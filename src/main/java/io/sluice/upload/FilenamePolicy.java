package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * What a client-supplied filename may be. The result is only ever a display name and a download hint: storage
 * paths are derived from ids, never from names.
 *
 * <p>Rules: directory parts are dropped ({@code ../../etc/passwd} becomes {@code passwd}; old browsers send
 * {@code C:\path\file.txt}); control and bidi-override characters are refused (they exist only to spoof or inject);
 * the name is NFC-normalised, trimmed of spaces and trailing dots, and capped at {@link #MAX_BYTES} UTF-8 bytes
 * keeping the extension.
 */
public final class FilenamePolicy {

    public static final int MAX_BYTES = 255;
    private static final int MAX_EXTENSION_CHARS = 16;

    public String sanitize(String raw) {
        if (raw == null || raw.isBlank()) {
            throw ErrorCode.INVALID_FILENAME.error("a filename is required");
        }
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (Character.isISOControl(c) || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069')) {
                throw ErrorCode.INVALID_FILENAME.error(
                        "the filename contains control characters (U+" + String.format("%04X", (int) c) + ")");
            }
        }
        String name = raw;
        int slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
        if (slash >= 0) {
            name = name.substring(slash + 1);
        }
        name = Normalizer.normalize(name, Normalizer.Form.NFC).strip();
        while (name.endsWith(".") || name.endsWith(" ")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.isEmpty()) {
            throw ErrorCode.INVALID_FILENAME.error("the filename has no name part: '" + raw + "'");
        }
        return cap(name);
    }

    private static String cap(String name) {
        if (name.getBytes(StandardCharsets.UTF_8).length <= MAX_BYTES) {
            return name;
        }
        int dot = name.lastIndexOf('.');
        String ext = dot > 0 && name.length() - dot <= MAX_EXTENSION_CHARS ? name.substring(dot) : "";
        String stem = ext.isEmpty() ? name : name.substring(0, dot);
        int budget = MAX_BYTES - ext.getBytes(StandardCharsets.UTF_8).length;
        StringBuilder sb = new StringBuilder();
        int used = 0;
        for (int i = 0; i < stem.length(); ) {
            int cp = stem.codePointAt(i);
            int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (used + len > budget) {
                break;
            }
            sb.appendCodePoint(cp);
            used += len;
            i += Character.charCount(cp);
        }
        return sb + ext;
    }
}
