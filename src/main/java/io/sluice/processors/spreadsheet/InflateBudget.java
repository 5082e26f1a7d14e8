package io.sluice.processors.spreadsheet;

import java.util.Map;

/**
 * Inflated bytes of one xlsx, all entries together, against {@code maxUncompressedSize}. One per run or precheck;
 * not thread-safe (one reader at a time).
 */
final class InflateBudget {

    private final long limit;
    private long used;

    InflateBudget(long limit) {
        this.limit = limit;
    }

    /** Counts {@code n} more inflated bytes, or throws {@code too_large} once past the limit. */
    void take(long n) throws SheetException {
        used += n;
        if (used > limit) {
            throw tooLarge(limit);
        }
    }

    long used() {
        return used;
    }

    static SheetException tooLarge(long limit) {
        return new SheetException(SheetException.TOO_LARGE, "the workbook inflates to more than "
                + Sizes.format(limit) + " (options.maxUncompressedSize)", Map.of("limit", limit));
    }
}
