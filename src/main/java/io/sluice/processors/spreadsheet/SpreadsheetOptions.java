package io.sluice.processors.spreadsheet;

import io.sluice.config.Units;

import java.math.BigInteger;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code spreadsheet} processor's options, validated. Every refusal is an {@link IllegalArgumentException}
 * whose message starts with {@code options.<key>:}.
 *
 * @param requiredColumns      header names that must be present (matched trimmed and case-insensitively)
 * @param sheet                sheet name, 1-based index as a string of digits, or null for the first sheet (xlsx)
 * @param headerRow            1-based row (xlsx row number, csv line number) at or after which the header is the
 *                             first non-empty row
 * @param maxRows              most rows after the header the file may have
 * @param maxColumns           most cells a row may have
 * @param maxUncompressedSize  most bytes an xlsx may inflate to, all entries together
 * @param maxInflateRatio      most an xlsx entry may inflate relative to its compressed size
 * @param maxSharedStringsSize most bytes of the xlsx shared-strings table (its inflated XML plus 32 bytes a string);
 *                             a table larger than {@code sharedStringsCacheSize} is kept in a temporary file, so
 *                             this bounds disk, not heap
 * @param sharedStringsCacheSize most heap (estimated) the shared strings take: a table that fits is kept on the
 *                             heap, a larger one in a memory-mapped file with a cache of this size
 * @param csvSeparator         the csv field separator, or null to sniff it from the header line
 * @param encoding             the csv encoding when the file has no byte-order mark
 */
public record SpreadsheetOptions(
        List<String> requiredColumns,
        String sheet,
        int headerRow,
        long maxRows,
        int maxColumns,
        long maxUncompressedSize,
        double maxInflateRatio,
        long maxSharedStringsSize,
        long sharedStringsCacheSize,
        Character csvSeparator,
        Charset encoding) {

    public static final long DEFAULT_MAX_ROWS = 1_000_000;
    public static final int DEFAULT_MAX_COLUMNS = 1_000;
    public static final long DEFAULT_MAX_UNCOMPRESSED_SIZE = 1L << 30;        // 1 GiB
    public static final double DEFAULT_MAX_INFLATE_RATIO = 100;
    public static final long DEFAULT_MAX_SHARED_STRINGS_SIZE = 1L << 30;      // 1 GiB, on disk past the cache
    public static final long DEFAULT_SHARED_STRINGS_CACHE_SIZE = 4L << 20;   // 4 MiB of heap
    /** Excel's own column limit (XFD): rows wider than this are refused whatever maxColumns says. */
    public static final int EXCEL_MAX_COLUMNS = 16_384;

    private static final Set<String> KEYS = Set.of("requiredColumns", "sheet", "headerRow", "maxRows", "maxColumns",
            "maxUncompressedSize", "maxInflateRatio", "maxSharedStringsSize", "sharedStringsCacheSize", "csvSeparator",
            "encoding");

    public SpreadsheetOptions {
        requiredColumns = List.copyOf(requiredColumns);
    }

    /** The defaults: no required columns, first sheet, header on row 1. */
    public static SpreadsheetOptions defaults() {
        return parse(Map.of());
    }

    /**
     * @param options the pipeline's options (YAML scalars, lists); null is empty
     * @throws IllegalArgumentException naming {@code options.<key>} for an unknown key or a bad value
     */
    public static SpreadsheetOptions parse(Map<String, Object> options) {
        Map<String, Object> o = options == null ? Map.of() : options;
        for (String key : o.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("options." + key + ": unknown option; known options are "
                        + new TreeSet<>(KEYS));
            }
        }
        return new SpreadsheetOptions(
                stringList(o, "requiredColumns"),
                sheet(o.get("sheet")),
                (int) count(o, "headerRow", 1, 1, EXCEL_MAX_ROWS),
                count(o, "maxRows", DEFAULT_MAX_ROWS, 1, Long.MAX_VALUE),
                (int) count(o, "maxColumns", DEFAULT_MAX_COLUMNS, 1, EXCEL_MAX_COLUMNS),
                size(o, "maxUncompressedSize", DEFAULT_MAX_UNCOMPRESSED_SIZE),
                ratio(o.get("maxInflateRatio")),
                size(o, "maxSharedStringsSize", DEFAULT_MAX_SHARED_STRINGS_SIZE),
                size(o, "sharedStringsCacheSize", DEFAULT_SHARED_STRINGS_CACHE_SIZE),
                separator(o.get("csvSeparator")),
                encoding(o.get("encoding")));
    }

    /** Excel's row limit; a header row beyond it cannot exist. */
    static final int EXCEL_MAX_ROWS = 1_048_576;

    private static List<String> stringList(Map<String, Object> o, String key) {
        Object v = o.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException("options." + key + ": must be a list of column names");
        }
        List<String> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof String s) || s.isBlank()) {
                throw new IllegalArgumentException("options." + key + ": every entry must be a non-blank string, got "
                        + item);
            }
            out.add(s.strip());
        }
        return out;
    }

    private static String sheet(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof Number n) {
            if (!isWhole(n) || n.longValue() < 1 || n.longValue() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("options.sheet: a sheet index must be a whole number >= 1, got " + v);
            }
            return Long.toString(n.longValue());
        }
        if (v instanceof String s && !s.isBlank()) {
            return s;
        }
        throw new IllegalArgumentException("options.sheet: must be a sheet name or a 1-based index, got " + v);
    }

    private static long count(Map<String, Object> o, String key, long dflt, long min, long max) {
        Object v = o.get(key);
        if (v == null) {
            return dflt;
        }
        long n;
        if (v instanceof Number num && isWhole(num)) {
            n = num.longValue();
        } else if (v instanceof String s && s.strip().matches("\\d{1,18}")) {
            n = Long.parseLong(s.strip());
        } else {
            throw new IllegalArgumentException("options." + key + ": must be a whole number, got " + v);
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException("options." + key + ": must be between " + min + " and " + max
                    + ", got " + n);
        }
        return n;
    }

    private static long size(Map<String, Object> o, String key, long dflt) {
        Object v = o.get(key);
        if (v == null) {
            return dflt;
        }
        long n;
        if (v instanceof Number num && isWhole(num)) {
            n = num.longValue();
        } else if (v instanceof String s) {
            try {
                n = Units.parseSize(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("options." + key + ": " + e.getMessage());
            }
        } else {
            throw new IllegalArgumentException("options." + key + ": must be a size such as 512MiB or a number of bytes,"
                    + " got " + v);
        }
        if (n < 1) {
            throw new IllegalArgumentException("options." + key + ": must be at least 1 byte, got " + v);
        }
        return n;
    }

    private static double ratio(Object v) {
        if (v == null) {
            return DEFAULT_MAX_INFLATE_RATIO;
        }
        double r;
        if (v instanceof Number n) {
            r = n.doubleValue();
        } else if (v instanceof String s) {
            try {
                r = Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("options.maxInflateRatio: must be a number, got " + v);
            }
        } else {
            throw new IllegalArgumentException("options.maxInflateRatio: must be a number, got " + v);
        }
        if (!(r >= 1) || Double.isInfinite(r)) {
            throw new IllegalArgumentException("options.maxInflateRatio: must be a finite number >= 1, got " + v);
        }
        return r;
    }

    private static Character separator(Object v) {
        if (v == null || "auto".equals(v)) {
            return null;
        }
        if (v instanceof String s) {
            String t = switch (s) {
                case "\\t", "tab", "TAB" -> "\t";
                default -> s;
            };
            if (t.length() == 1 && t.charAt(0) != '"' && t.charAt(0) != '\r' && t.charAt(0) != '\n') {
                return t.charAt(0);
            }
        }
        throw new IllegalArgumentException("options.csvSeparator: must be auto or one character other than a quote"
                + " or line break (\"\\t\" or tab for a tab), got " + v);
    }

    private static Charset encoding(Object v) {
        if (v == null) {
            return StandardCharsets.UTF_8;
        }
        if (v instanceof String s) {
            try {
                return Charset.forName(s.strip());
            } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
                throw new IllegalArgumentException("options.encoding: unknown character set '" + s + "'");
            }
        }
        throw new IllegalArgumentException("options.encoding: must be a character set name such as UTF-8, got " + v);
    }

    private static boolean isWhole(Number n) {
        return n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                || (n instanceof BigInteger b && b.bitLength() < 64)
                || ((n instanceof Double || n instanceof Float) && n.doubleValue() == Math.rint(n.doubleValue())
                    && Math.abs(n.doubleValue()) < 9e15);
    }
}
