package io.sluice.processors.spreadsheet;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Pattern;

/** The type inferred for a column: what all its non-empty cells have in common. */
enum ValueType {
    EMPTY, INTEGER, NUMBER, BOOLEAN, DATE, STRING, MIXED;

    private static final Pattern INTEGER_TEXT = Pattern.compile("[-+]?\\d{1,18}");
    private static final Pattern NUMBER_TEXT = Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d{1,4})?");
    private static final Pattern DATE_TEXT = Pattern.compile(
            "\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?");

    /** The summary's name for it. */
    String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The type of a column that had {@code this} so far and now sees a cell of type {@code next}. */
    ValueType merge(ValueType next) {
        if (next == EMPTY || next == this) {
            return this;
        }
        if (this == EMPTY) {
            return next;
        }
        if (this == INTEGER && next == NUMBER || this == NUMBER && next == INTEGER) {
            return NUMBER;
        }
        return MIXED;
    }

    /**
     * The type of one cell value as a row carries it: null or blank text is empty; {@link DateText} is a date;
     * numbers are integers when whole.
     *
     * @param inferFromText read the type of text from its content (csv), else text is a string (xlsx)
     */
    static ValueType of(Object value, boolean inferFromText) {
        return switch (value) {
            case null -> EMPTY;
            case DateText d -> DATE;
            case Decimal d -> NUMBER;
            case Boolean b -> BOOLEAN;
            case Long l -> INTEGER;
            case Integer i -> INTEGER;
            case BigInteger i -> INTEGER;
            case BigDecimal d -> isWhole(d) ? INTEGER : NUMBER;
            case Number n -> NUMBER;
            case String s when s.isBlank() -> EMPTY;
            case String s when inferFromText -> ofText(s.strip());
            default -> STRING;
        };
    }

    private static ValueType ofText(String s) {
        if (INTEGER_TEXT.matcher(s).matches()) {
            return INTEGER;
        }
        if (NUMBER_TEXT.matcher(s).matches()) {
            return NUMBER;
        }
        if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
            return BOOLEAN;
        }
        if (DATE_TEXT.matcher(s).matches()) {
            return DATE;
        }
        return STRING;
    }

    static boolean isWhole(BigDecimal d) {
        return d.signum() == 0 || d.scale() <= 0 || d.stripTrailingZeros().scale() <= 0;
    }

    /**
     * A number that is not whole, as the exact text {@link BigDecimal#toString()} would give for it (what an xlsx
     * {@code <v>} holds in the common case, such as {@code 1.25}): written as that number, without a BigDecimal.
     */
    record Decimal(String text) {
        @Override
        public String toString() {
            return text;
        }
    }

    /** A date or time as ISO-8601 text: written as a string, counted as a date. */
    record DateText(String iso) {
        @Override
        public String toString() {
            return iso;
        }
    }
}
