package io.sluice.processors.spreadsheet;

import io.sluice.config.Units;

import java.util.Locale;

/** Byte counts for messages: exact ({@code 50MiB}) when round, else bytes. */
final class Sizes {

    private Sizes() {
    }

    /** Exact binary units when round ({@code 50MiB}), else bytes, with MiB to one decimal above 1 MiB. */
    static String format(long bytes) {
        String s = Units.formatSize(bytes);
        if (s.endsWith("iB")) {
            return s;
        }
        return bytes >= 1L << 20 ? String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20)) : bytes + " bytes";
    }
}
