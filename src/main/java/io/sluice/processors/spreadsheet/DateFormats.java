package io.sluice.processors.spreadsheet;

import java.util.Locale;

/**
 * Whether an Excel number format shows a date or a time. Excel stores dates as numbers; only the cell's format
 * says which numbers are dates. Built-in formats 14-22 and 45-47 are dates and times (27-36 and 50-58 are dates in
 * East Asian locales); a custom format is a date when, outside quoted text, escapes and bracketed colours or
 * conditions, it has date or time letters (d, m, y, h, s, or elapsed-time brackets such as [h]) and no digit
 * placeholders (0, #, ?) other than fractional seconds.
 */
final class DateFormats {

    /** What a date format shows. */
    enum Kind { NOT_DATE, DATE, TIME, DATE_TIME }

    private DateFormats() {
    }

    static Kind kind(Integer formatId, String format) {
        if (formatId != null) {
            int id = formatId;
            if (id == 14 || id == 15 || id == 16 || id == 17 || id >= 27 && id <= 31 || id >= 34 && id <= 36
                    || id >= 50 && id <= 58) {
                return Kind.DATE;
            }
            if (id >= 18 && id <= 21 || id == 32 || id == 33 || id >= 45 && id <= 47) {
                return Kind.TIME;
            }
            if (id == 22) {
                return Kind.DATE_TIME;
            }
        }
        return format == null ? Kind.NOT_DATE : ofPattern(format);
    }

    static Kind ofPattern(String format) {
        // Only the first section (positive numbers) decides.
        String f = firstSection(format);
        StringBuilder kept = new StringBuilder();
        boolean elapsed = false;
        for (int i = 0; i < f.length(); i++) {
            char c = f.charAt(i);
            if (c == '"') {
                int end = f.indexOf('"', i + 1);
                i = end < 0 ? f.length() : end;
            } else if (c == '\\' || c == '_' || c == '*') {
                i++; // escaped or padding character
            } else if (c == '[') {
                int end = f.indexOf(']', i + 1);
                String inside = (end < 0 ? f.substring(i + 1) : f.substring(i + 1, end)).toLowerCase(Locale.ROOT);
                if (inside.matches("h+|m+|s+")) {
                    elapsed = true;
                }
                i = end < 0 ? f.length() : end;
            } else {
                kept.append(Character.toLowerCase(c));
            }
        }
        String k = kept.toString().replace("am/pm", "").replace("a/p", "").replaceAll("\\.0+", "");
        if (k.equals("general") || k.indexOf('#') >= 0 || k.indexOf('?') >= 0 || k.indexOf('0') >= 0
                || k.indexOf('@') >= 0) {
            return Kind.NOT_DATE;
        }
        boolean date = k.indexOf('y') >= 0 || k.indexOf('d') >= 0;
        boolean time = elapsed || k.indexOf('h') >= 0 || k.indexOf('s') >= 0;
        if (!date && !time && k.indexOf('m') >= 0) {
            date = true; // "mmm yy" without y, "mmmm": months; next to h or s, m is minutes
        }
        if (date && time) {
            return Kind.DATE_TIME;
        }
        return date ? Kind.DATE : time ? Kind.TIME : Kind.NOT_DATE;
    }

    private static String firstSection(String format) {
        boolean quoted = false;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == '\\') {
                i++;
            } else if (c == ';' && !quoted) {
                return format.substring(0, i);
            }
        }
        return format;
    }
}
