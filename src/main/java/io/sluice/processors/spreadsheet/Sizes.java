package io.sluice.processors.spreadsheet;

import io.sluice.config.Units;

/** Byte counts for messages: exact ({@code 50MiB}) when round, else bytes. */
final class Sizes {

    private Sizes() {
    }

    static String format(long bytes) {
        String s = Units.formatSize(bytes);
        return s.endsWith("B") && !s.endsWith("iB") && !s.matches(".*[KMGT]B") ? bytes + " bytes" : s;
    }
}
