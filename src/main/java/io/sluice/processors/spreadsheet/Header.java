package io.sluice.processors.spreadsheet;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A header row turned into the JSON keys of the rows: each cell trimmed; an empty cell becomes
 * {@code column_<n>} (1-based position); a repeated name gets {@code _2}, {@code _3}, ... Trailing empty cells are
 * not columns.
 *
 * @param found the non-empty header texts as the file has them (trimmed), for messages
 * @param names one key per column
 */
record Header(List<String> found, List<String> names) {

    Header {
        found = List.copyOf(found);
        names = List.copyOf(names);
    }

    /** @param cells the header row's cell texts, null for an absent cell */
    static Header of(List<String> cells) {
        int width = cells.size();
        while (width > 0 && isBlank(cells.get(width - 1))) {
            width--;
        }
        List<String> found = new ArrayList<>();
        List<String> names = new ArrayList<>();
        Set<String> used = new HashSet<>();
        for (int i = 0; i < width; i++) {
            String text = cells.get(i) == null ? "" : cells.get(i).strip();
            if (!text.isEmpty()) {
                found.add(text);
            }
            String base = text.isEmpty() ? "column_" + (i + 1) : text;
            String name = base;
            for (int n = 2; !used.add(name); n++) {
                name = base + "_" + n;
            }
            names.add(name);
        }
        return new Header(found, names);
    }

    int width() {
        return names.size();
    }

    /** The required columns not in the header, compared trimmed and ignoring case, in the order given. */
    List<String> missing(List<String> required) {
        Set<String> have = new HashSet<>();
        for (String f : found) {
            have.add(f.toLowerCase(Locale.ROOT));
        }
        List<String> missing = new ArrayList<>();
        for (String r : required) {
            if (!have.contains(r.strip().toLowerCase(Locale.ROOT))) {
                missing.add(r);
            }
        }
        return missing;
    }

    /** Throws {@code missing_columns} with the missing and found names when a required column is absent. */
    void requireColumns(List<String> required) throws SheetException {
        List<String> missing = missing(required);
        if (!missing.isEmpty()) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("missing", missing);
            details.put("found", found);
            throw new SheetException(SheetException.MISSING_COLUMNS, "missing required column"
                    + (missing.size() == 1 ? " " : "s ") + String.join(", ", missing) + " (the header has "
                    + (found.isEmpty() ? "no names" : String.join(", ", found)) + ")", details);
        }
    }

    static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
