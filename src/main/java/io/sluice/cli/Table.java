package io.sluice.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;

/**
 * A plain text table: columns padded to their widest cell, two spaces apart. Cells are {@linkplain #escape
 * escaped}: they hold what clients chose (key names, filenames), and a raw escape sequence would drive the
 * operator's terminal.
 */
final class Table {
    private Table() {
    }

    static void print(PrintWriter out, List<String[]> given) {
        List<String[]> rows = given.stream().map(r -> Arrays.stream(r).map(Table::escape)
                .toArray(String[]::new)).toList();
        int cols = rows.getFirst().length;
        int[] width = new int[cols];
        for (String[] r : rows) {
            for (int i = 0; i < cols; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                line.append(i == cols - 1 ? r[i] : String.format("%-" + width[i] + "s  ", r[i]));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /**
     * Control characters (C0, DEL, C1) and the bidirectional overrides and isolates as Java-style escapes:
     * {@code \n}, {@code \r}, {@code \t}, else a backslash, {@code u} and four hex digits (ESC is {@code u001b});
     * a backslash is doubled so an escape cannot be faked. Other characters, non-ASCII letters included, are kept.
     * A general escaper (commons-text's escapeJava) would also escape every non-ASCII letter, which a name in
     * another script must not be.
     */
    static String escape(String cell) {
        if (cell == null) {
            return "";
        }
        StringBuilder b = null;
        for (int i = 0; i < cell.length(); i++) {
            char c = cell.charAt(i);
            String e = switch (c) {
                case '\\' -> "\\\\";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                default -> Character.isISOControl(c) || (c >= '\u202A' && c <= '\u202E')
                        || (c >= '\u2066' && c <= '\u2069') ? String.format("\\u%04x", (int) c) : null;
            };
            if (e != null && b == null) {
                b = new StringBuilder(cell.length() + 8).append(cell, 0, i);
            }
            if (b != null) {
                if (e != null) {
                    b.append(e);
                } else {
                    b.append(c);
                }
            }
        }
        return b == null ? cell : b.toString();
    }
}
