package io.sluice.config;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsing and formatting of the human units used in configuration: sizes ({@code 10MB}, {@code 512KiB}) and
 * durations ({@code 500ms}, {@code 1m30s}). Pure static helpers; every rejection is an
 * {@link IllegalArgumentException} whose message says what would have been accepted.
 */
public final class Units {

    private static final String SIZE_FORMS = "a non-negative number of bytes with an optional unit"
            + " B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based), e.g. 1048576, 10MB, 512KiB, 1.5GiB";
    private static final String DURATION_FORMS = "a non-negative duration such as 500ms, 30s, 5m, 2h, 1d, 1m30s"
            + " or a plain number of seconds";

    // \d is ASCII-only without UNICODE_CHARACTER_CLASS, so exotic digits cannot sneak in.
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)");
    private static final Pattern PLAIN_NUMBER = Pattern.compile("\\d+(?:\\.\\d+)?");
    // "ms" must come before "m" and "s" so that 500ms is not read as 500 minutes followed by garbage.
    private static final Pattern DURATION_PART =
            Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)\\s*", Pattern.CASE_INSENSITIVE);

    private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);
    private static final BigDecimal NANOS_PER_SECOND = BigDecimal.valueOf(1_000_000_000L);

    private static final long KIB = 1L << 10, MIB = 1L << 20, GIB = 1L << 30, TIB = 1L << 40;
    private static final long KB = 1_000L, MB = 1_000_000L, GB = 1_000_000_000L, TB = 1_000_000_000_000L;

    private Units() {
    }

    /**
     * A value that has the right shape but does not fit in a {@code long} (bytes) or a {@link Duration}. Kept apart
     * so callers can say "too large" instead of "not a size".
     */
    static final class TooLarge extends IllegalArgumentException {
        TooLarge(String message) {
            super(message);
        }
    }

    /**
     * Parses a byte size: plain bytes ({@code 1048576}) or a number with a decimal ({@code KB, MB, GB, TB}) or
     * binary ({@code KiB, MiB, GiB, TiB}) unit, case-insensitive, optionally separated by spaces. Fractions are
     * allowed and rounded down to whole bytes ({@code 1.5KiB} is 1536).
     *
     * @throws IllegalArgumentException for null, blank, negative, malformed, unknown unit or more than
     *                                  {@link Long#MAX_VALUE} bytes ({@link TooLarge})
     */
    public static long parseSize(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty size; expected " + SIZE_FORMS);
        }
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: '" + text + "'; expected " + SIZE_FORMS);
        }
        long multiplier = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "", "B" -> 1;
            case "KB" -> KB;
            case "MB" -> MB;
            case "GB" -> GB;
            case "TB" -> TB;
            case "KIB" -> KIB;
            case "MIB" -> MIB;
            case "GIB" -> GIB;
            case "TIB" -> TIB;
            default -> throw new IllegalArgumentException(
                    "unknown size unit '" + m.group(2) + "' in '" + text + "'; expected " + SIZE_FORMS);
        };
        BigDecimal bytes = new BigDecimal(m.group(1))
                .multiply(BigDecimal.valueOf(multiplier))
                .setScale(0, RoundingMode.FLOOR);
        if (bytes.compareTo(LONG_MAX) > 0) {
            throw new TooLarge("size too large: '" + text + "'; at most " + Long.MAX_VALUE + " bytes");
        }
        return bytes.longValueExact();
    }

    /**
     * Parses a duration: one or more {@code <number><unit>} parts with units {@code ms, s, m, h, d}
     * ({@code 500ms}, {@code 1m30s}, {@code 1h 30m}), a plain number of seconds ({@code 30}), or ISO-8601
     * ({@code PT30S}). Fractions are allowed ({@code 1.5s}) and rounded down to whole nanoseconds.
     *
     * @throws IllegalArgumentException for null, blank, negative, malformed or out-of-range input
     */
    public static Duration parseDuration(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty duration; expected " + DURATION_FORMS);
        }
        String s = text.strip();
        if (PLAIN_NUMBER.matcher(s).matches()) {
            return toDuration(new BigDecimal(s).multiply(NANOS_PER_SECOND), text);
        }
        if (s.charAt(0) == 'P' || s.charAt(0) == 'p') {
            return parseIso(s, text);
        }
        Matcher m = DURATION_PART.matcher(s);
        BigDecimal nanos = BigDecimal.ZERO;
        int pos = 0;
        while (pos < s.length()) {
            m.region(pos, s.length());
            if (!m.lookingAt()) {
                throw new IllegalArgumentException("not a duration: '" + text + "'; expected " + DURATION_FORMS);
            }
            long unitNanos = switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                case "d" -> 86_400_000_000_000L;
                default -> throw new IllegalStateException("pattern and switch disagree on " + m.group(2));
            };
            nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unitNanos)));
            pos = m.end();
        }
        return toDuration(nanos, text);
    }

    private static Duration parseIso(String s, String original) {
        Duration d;
        try {
            d = Duration.parse(s.toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("not a duration: '" + original + "'; expected " + DURATION_FORMS);
        }
        if (d.isNegative()) {
            throw new IllegalArgumentException("negative duration: '" + original + "'; expected " + DURATION_FORMS);
        }
        return d;
    }

    private static Duration toDuration(BigDecimal nanos, String original) {
        BigDecimal[] secondsAndNanos = nanos.setScale(0, RoundingMode.FLOOR).divideAndRemainder(NANOS_PER_SECOND);
        if (secondsAndNanos[0].compareTo(LONG_MAX) > 0) {
            throw new TooLarge("duration too large: '" + original + "'");
        }
        return Duration.ofSeconds(secondsAndNanos[0].longValueExact(), secondsAndNanos[1].longValueExact());
    }

    /**
     * Formats bytes so that {@link #parseSize} gives the same number back: the largest binary unit that divides
     * exactly ({@code 10GiB}, {@code 256KiB}), else the largest exact decimal unit ({@code 10MB}), else bytes
     * ({@code 1500B}).
     */
    public static String formatSize(long bytes) {
        if (bytes <= 0) {
            return bytes + "B";
        }
        long[] units = {TIB, GIB, MIB, KIB, TB, GB, MB, KB};
        String[] names = {"TiB", "GiB", "MiB", "KiB", "TB", "GB", "MB", "KB"};
        for (int i = 0; i < units.length; i++) {
            if (bytes % units[i] == 0) {
                return bytes / units[i] + names[i];
            }
        }
        return bytes + "B";
    }

    /**
     * Formats a duration in the notation {@link #parseDuration} reads: {@code 30s}, {@code 1m30s}, {@code 500ms},
     * {@code 1d2h}, {@code 0s}. Sub-millisecond precision and negative durations fall back to ISO-8601
     * ({@code PT0.0000015S}), which is also readable by {@link #parseDuration} when non-negative.
     */
    public static String formatDuration(Duration duration) {
        if (duration.isNegative() || duration.getNano() % 1_000_000 != 0) {
            return duration.toString();
        }
        if (duration.isZero()) {
            return "0s";
        }
        StringBuilder out = new StringBuilder();
        append(out, duration.toDays(), "d");
        append(out, duration.toHoursPart(), "h");
        append(out, duration.toMinutesPart(), "m");
        append(out, duration.toSecondsPart(), "s");
        append(out, duration.toMillisPart(), "ms");
        return out.toString();
    }

    private static void append(StringBuilder out, long amount, String unit) {
        if (amount != 0) {
            out.append(amount).append(unit);
        }
    }
}
