package io.sluice.tus;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** The file name in a {@code Content-Disposition} header (RFC 6266), which IETF draft -11 recommends. */
final class ContentDisposition {

    private ContentDisposition() {
    }

    /**
     * The {@code filename*} (RFC 8187, UTF-8 or ISO-8859-1) or else {@code filename} parameter, or null. A malformed
     * {@code filename*} is ignored in favour of {@code filename}, as RFC 6266 lets recipients do.
     */
    static String filename(String header) {
        if (header == null) {
            return null;
        }
        String plain = null;
        String extended = null;
        int i = header.indexOf(';');
        int n = header.length();
        while (i >= 0 && i < n) {
            // at a ';': read one parameter
            i++;
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == '\t')) {
                i++;
            }
            int nameStart = i;
            while (i < n && header.charAt(i) != '=' && header.charAt(i) != ';') {
                i++;
            }
            String name = header.substring(nameStart, i).strip().toLowerCase(Locale.ROOT);
            if (i >= n || header.charAt(i) == ';') {
                continue;
            }
            i++; // '='
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == '\t')) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && header.charAt(i) == '"') {
                i++;
                while (i < n && header.charAt(i) != '"') {
                    char c = header.charAt(i);
                    if (c == '\\' && i + 1 < n) {
                        c = header.charAt(++i);
                    }
                    value.append(c);
                    i++;
                }
                i = header.indexOf(';', i);
            } else {
                int end = header.indexOf(';', i);
                value.append(header, i, end < 0 ? n : end);
                i = end;
            }
            if (name.equals("filename")) {
                plain = value.toString().strip();
            } else if (name.equals("filename*")) {
                extended = decodeExtValue(value.toString().strip());
            }
        }
        return extended != null ? extended : plain;
    }

    /** RFC 8187 {@code charset'language'pct-encoded}, or null when malformed. */
    private static String decodeExtValue(String v) {
        int first = v.indexOf('\'');
        int second = first < 0 ? -1 : v.indexOf('\'', first + 1);
        if (second < 0) {
            return null;
        }
        String charsetName = v.substring(0, first).toUpperCase(Locale.ROOT);
        Charset charset = switch (charsetName) {
            case "UTF-8" -> StandardCharsets.UTF_8;
            case "ISO-8859-1" -> StandardCharsets.ISO_8859_1;
            default -> null;
        };
        if (charset == null) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        String encoded = v.substring(second + 1);
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '%') {
                if (i + 2 >= encoded.length()) {
                    return null;
                }
                int hi = Character.digit(encoded.charAt(i + 1), 16);
                int lo = Character.digit(encoded.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    return null;
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else if (c > 0x20 && c < 0x7f) {
                bytes.write(c);
            } else {
                return null;
            }
        }
        return bytes.toString(charset);
    }
}
