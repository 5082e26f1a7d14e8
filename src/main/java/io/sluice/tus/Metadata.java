package io.sluice.tus;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import static io.sluice.tus.ResumableHttp.shorten;

/**
 * The tus {@code Upload-Metadata} header: comma-separated pairs of a key and an optional base64 value.
 *
 * <p>Refused with 400 {@code invalid_metadata}: an empty or repeated key, a key with spaces or commas, a value
 * that is not base64 or not UTF-8 text, and a header longer than the configured cap.
 */
final class Metadata {

    private Metadata() {
    }

    /** @return decoded pairs in header order; a key without value maps to "" */
    static Map<String, String> parse(String header, int maxBytes) {
        Map<String, String> out = new LinkedHashMap<>();
        if (header == null || header.isBlank()) {
            return out;
        }
        if (header.length() > maxBytes) {
            throw invalid("Upload-Metadata is longer than " + maxBytes + " bytes");
        }
        for (String pair : header.split(",", -1)) {
            String p = pair.strip();
            if (p.isEmpty()) {
                throw invalid("Upload-Metadata has an empty pair");
            }
            int space = p.indexOf(' ');
            String key = space < 0 ? p : p.substring(0, space);
            String encoded = space < 0 ? "" : p.substring(space + 1).strip();
            if (encoded.indexOf(' ') >= 0) {
                throw invalid("Upload-Metadata pair '" + shorten(key) + "' has more than a key and a value");
            }
            for (int i = 0; i < key.length(); i++) {
                char c = key.charAt(i);
                if (c <= 0x20 || c >= 0x7f) {
                    throw invalid("Upload-Metadata key '" + shorten(key) + "' must be printable ASCII without spaces");
                }
            }
            if (out.containsKey(key)) {
                throw invalid("Upload-Metadata key '" + shorten(key) + "' appears twice");
            }
            out.put(key, decode(key, encoded));
        }
        return out;
    }

    private static String decode(String key, String encoded) {
        if (encoded.isEmpty()) {
            return "";
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            throw invalid("the value of Upload-Metadata key '" + shorten(key) + "' is not base64");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw invalid("the value of Upload-Metadata key '" + shorten(key) + "' is not UTF-8 text");
        }
    }

    private static ApiException invalid(String message) {
        return ErrorCode.INVALID_METADATA.error(message);
    }
}
