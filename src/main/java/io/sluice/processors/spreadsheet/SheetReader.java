package io.sluice.processors.spreadsheet;

import org.codehaus.stax2.XMLStreamReader2;
import org.codehaus.stax2.typed.TypedValueDecoder;
import org.dhatim.fastexcel.reader.CellAddress;

import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Streams the rows of one sheet part, checking the guards in the same pass, so the sheet's XML is inflated and
 * parsed once. It reads cells as fastexcel-reader 0.20 did (the reader the processor used before, whose results the
 * tests and the README pin): the same cell types, values, row numbers and column placement; formulas are not
 * expanded, since only the cached values become output.
 *
 * <p>Guards, each checked before what it protects is built (with {@link GuardedInputStream}'s zip-bomb, size and
 * tag checks underneath): element depth; a row's cells (no reference past column XFD, at most 16,384 cells) and its
 * bytes (16 MiB, enforced while the row is read); shared-formula definitions and array-formula work, limits kept from
 * when fastexcel kept those in maps. Everything is streaming: only the current row is on the heap.
 */
final class SheetReader implements Closeable {

    static final int MAX_DEPTH = 128;
    static final long MAX_ELEMENT_BYTES = 16L << 20;
    static final int MAX_SHARED_FORMULAS = 100_000;
    static final long MAX_ARRAY_FORMULA_WORK = 2_000_000_000L;

    /** A cell's kind, as fastexcel-reader typed it. */
    enum Kind { EMPTY, STRING, NUMBER, BOOLEAN, FORMULA, ERROR }

    /**
     * One cell; the reader's, refilled for the same column of the next row (a row is consumed before the next is
     * read), so a million rows make no million cells.
     */
    static final class Cell {
        private Kind kind;
        private Object value;
        private String raw;
        private int row;
        private int column;
        private String formatId;
        private String formatString;

        /**
         * @param value  a String, Long, {@link ValueType.Decimal}, BigDecimal or Boolean, or null
         * @param raw    the text as stored (a shared string's value for shared strings); null for a whole number
         *               read while {@link #keepNumberText} is off
         * @param row    1-based row number of the row holding it
         * @param column 0-based
         */
        Cell set(Kind kind, Object value, String raw, int row, int column, String formatId, String formatString) {
            this.kind = kind;
            this.value = value;
            this.raw = raw;
            this.row = row;
            this.column = column;
            this.formatId = formatId;
            this.formatString = formatString;
            return this;
        }

        Kind kind() {
            return kind;
        }

        Object value() {
            return value;
        }

        String raw() {
            return raw;
        }

        int column() {
            return column;
        }

        String formatId() {
            return formatId;
        }

        String formatString() {
            return formatString;
        }

        /** Text for headers: the value's text, "" when there is none. */
        String text() {
            return value == null ? "" : value.toString();
        }

        /** "B7". */
        String address() {
            return new CellAddress(row - 1, column).toString();
        }

        Integer formatIdNumber() {
            return formatId == null ? null : Integer.parseInt(formatId);
        }
    }

    /**
     * A row: its number (its {@code r}, else its position) and its cells by column, null where none; the reader's,
     * valid until the next row is read.
     */
    static final class Row {
        private int number;
        private final List<Cell> cells = new ArrayList<>(16);

        int number() {
            return number;
        }

        List<Cell> cells() {
            return cells;
        }
    }

    private final XMLStreamReader r;
    /** {@link #r} when it reads attributes as characters (aalto's does), else null: then every cell takes Strings. */
    private final XMLStreamReader2 typed;
    private final AttributeChars attribute = new AttributeChars();
    private final GuardedInput in;
    private final String entry;
    private final SharedStrings strings;
    private final XlsxPackage.Formats formats;
    private final StringBuilder text = new StringBuilder();
    private int depth;
    /** The local name of the element {@link #advance()} last started or ended (asked once per event). */
    private String local;
    private boolean inSheetData;
    private boolean done;
    private int trackedRow;
    /** The current row, and its cells by column, reused: a row is consumed before the next is read. */
    private final Row current = new Row();
    private Cell[] cellPool = new Cell[16];
    /** The current row's {@link #MAX_ELEMENT_BYTES} refusal (the row being read is {@link #trackedRow}). */
    private final Supplier<SheetException> rowTooLarge;
    /** The text {@link #valueChars()} collected, reused: a number or an index needs no String. */
    private char[] valueBuffer = new char[64];
    private int valueLength;
    /** A number's text is kept in its cell only while asked for (the header row prints numbers as written). */
    private boolean keepNumberText = true;
    /** The current cell's attributes, as {@link #attributes} read them. */
    private boolean hasRef;
    private int refColumn;
    private String refText;
    private int typeCode;
    private String typeText;
    private boolean hasStyle;
    private int styleNumber;
    private String styleText;
    private long cells;
    private long sharedFormulas;
    private long arrayFormulas;

    <I extends InputStream & GuardedInput> SheetReader(I in, String entry, SharedStrings strings,
                                                       XlsxPackage.Formats formats)
            throws SheetException, IOException {
        this.in = in;
        this.entry = entry;
        this.rowTooLarge = () -> elementTooLarge("row " + trackedRow, entry);
        this.strings = strings;
        this.formats = formats;
        try {
            this.r = Xml.reader(in, entry);
        } catch (XMLStreamException | RuntimeException e) {
            in.throwIfTripped();
            throw SheetException.malformed("the sheet cannot be read: " + e.getMessage(), e);
        }
        this.typed = r instanceof XMLStreamReader2 r2 ? r2 : null;
    }

    /**
     * Whether number cells keep their text ({@link Cell#raw()}): on until the header is found, whose numbers are
     * printed as written ({@code 42.000}); off after it, where a whole number's raw text is never asked for.
     */
    void keepNumberText(boolean keep) {
        this.keepNumberText = keep;
    }

    /** The next row, or null after the last; a parse failure is {@code malformed_file}, a guard its own code. */
    Row next() throws SheetException, IOException {
        if (done) {
            return null;
        }
        try {
            Row row = readRow();
            if (row == null) {
                done = true;
            }
            return row;
        } catch (XMLStreamException | RuntimeException e) {
            in.throwIfTripped();
            done = true;
            throw SheetException.malformed("the sheet cannot be read: " + rootMessage(e), e);
        }
    }

    /** Inflated bytes of the sheet read so far. */
    long position() {
        return in.position();
    }

    @Override
    public void close() {
        Xml.closeQuietly(r);
    }

    private Row readRow() throws XMLStreamException, SheetException {
        if (!inSheetData) {
            while (true) {
                int ev = advance();
                if (ev == XMLStreamConstants.END_DOCUMENT) {
                    return null;
                }
                if (ev == XMLStreamConstants.START_ELEMENT && "sheetData".equals(local)) {
                    inSheetData = true;
                    break;
                }
            }
        }
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.END_DOCUMENT) {
                return null;
            }
            if (ev == XMLStreamConstants.END_ELEMENT && "sheetData".equals(local)) {
                return null;
            }
            if (ev == XMLStreamConstants.START_ELEMENT && "row".equals(local)) {
                break;
            }
        }
        trackedRow++;
        String ref = r.getAttributeValue(null, "r");
        int number = ref == null ? trackedRow : Integer.parseInt(ref);
        int rowOrdinal = trackedRow;
        in.element(MAX_ELEMENT_BYTES, rowTooLarge);
        List<Cell> row = current.cells;
        row.clear();
        int index = 0;
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.END_DOCUMENT) {
                break;
            }
            if (ev == XMLStreamConstants.END_ELEMENT && "row".equals(local)) {
                break;
            }
            if (ev != XMLStreamConstants.START_ELEMENT || !"c".equals(local)) {
                continue;
            }
            Cell cell = cell(number, index++, rowOrdinal);
            int column = cell.column();
            while (row.size() <= column) {
                row.add(null);
            }
            row.set(column, cell);
        }
        in.endElement();
        current.number = number;
        return current;
    }

    private Cell cell(int rowNumber, int index, int rowOrdinal) throws XMLStreamException, SheetException {
        attributes();
        int column = !hasRef ? index : refText == null ? refColumn : column(refText);
        cells++;
        if (index >= SpreadsheetOptions.EXCEL_MAX_COLUMNS || column < 0
                || column >= SpreadsheetOptions.EXCEL_MAX_COLUMNS) {
            throw new SheetException(SheetException.TOO_MANY_COLUMNS, "row " + rowOrdinal + " of " + entry
                    + " has a cell beyond column XFD (" + SpreadsheetOptions.EXCEL_MAX_COLUMNS + " columns), Excel's"
                    + " limit", Map.of("entry", entry, "limit", SpreadsheetOptions.EXCEL_MAX_COLUMNS));
        }
        checkArrayWork();
        String formatId = null;
        String formatString = null;
        if (hasStyle) {
            int s = styleText == null ? styleNumber : Integer.parseInt(styleText);
            if (s < formats.ids().size()) {
                formatId = formats.ids().get(s);
                formatString = formatId == null ? null : formats.codes().get(formatId);
            }
        }
        return switch (typeCode) {
            case T_NONE, T_N -> other(rowNumber, column, Kind.NUMBER, formatId, formatString);
            case T_S -> sharedString(rowNumber, column);
            case T_INLINE -> inlineString(rowNumber, column);
            case T_STR -> other(rowNumber, column, Kind.FORMULA, formatId, formatString);
            case T_B -> other(rowNumber, column, Kind.BOOLEAN, formatId, formatString);
            case T_E -> other(rowNumber, column, Kind.ERROR, formatId, formatString);
            default -> throw new IllegalStateException("Unknown cell type : " + typeText);
        };
    }

    private static final int T_NONE = 0, T_S = 1, T_INLINE = 2, T_N = 3, T_STR = 4, T_B = 5, T_E = 6, T_OTHER = 7;
    private static final char[] INLINE_STR = "inlineStr".toCharArray();
    private static final char[] STR = "str".toCharArray();

    /**
     * Reads the cell's {@code r}, {@code t} and {@code s} into fields. The usual values ({@code B7}, {@code s},
     * {@code 3}) are read from the parser's characters, without the Strings that asking for an attribute's value
     * makes (the parser then builds one String of all values and one substring per value: half of the job's
     * garbage); anything else, and any value the typed read might have trimmed, takes the Strings as before, so
     * every cell reads as it did.
     */
    private void attributes() throws XMLStreamException {
        hasRef = false;
        refText = null;
        typeCode = T_NONE;
        typeText = null;
        hasStyle = false;
        styleText = null;
        boolean slow = typed == null;
        for (int i = 0, n = r.getAttributeCount(); i < n && !slow; i++) {
            String ns = r.getAttributeNamespace(i);
            if (ns != null && !ns.isEmpty()) {
                continue;
            }
            String name = r.getAttributeLocalName(i);
            int which = "r".equals(name) ? 'r' : "t".equals(name) ? 't' : "s".equals(name) ? 's' : 0;
            if (which == 0) {
                continue;
            }
            typed.getAttributeAs(i, attribute);
            if (!attribute.exact()) {
                slow = true;
            } else if (which == 'r') {
                hasRef = true;
                refColumn = attribute.column();
                slow = refColumn == Integer.MIN_VALUE;
            } else if (which == 't') {
                typeCode = attribute.type();
                slow = typeCode == T_OTHER;
            } else {
                hasStyle = true;
                styleNumber = attribute.smallNumber();
                slow = styleNumber < 0;
            }
        }
        if (slow) {
            attributeStrings();
        }
    }

    /** {@link #attributes()} the way every cell was read before: each value as a String. */
    private void attributeStrings() {
        hasRef = false;
        refText = null;
        typeCode = T_NONE;
        typeText = null;
        hasStyle = false;
        styleText = null;
        String ref = null;
        String type = null;
        String style = null;
        // One pass over the attributes: asking for each by name searches them every time.
        for (int i = 0, n = r.getAttributeCount(); i < n; i++) {
            String ns = r.getAttributeNamespace(i);
            if (ns != null && !ns.isEmpty()) {
                continue;
            }
            switch (r.getAttributeLocalName(i)) {
                case "r" -> ref = r.getAttributeValue(i);
                case "t" -> type = r.getAttributeValue(i);
                case "s" -> style = r.getAttributeValue(i);
                default -> {
                }
            }
        }
        if (ref != null) {
            hasRef = true;
            refText = ref;
        }
        if (style != null) {
            hasStyle = true;
            styleText = style;
        }
        if (type != null) {
            typeText = type;
            typeCode = "s".equals(type) ? T_S : "inlineStr".equals(type) ? T_INLINE : "n".equals(type) ? T_N
                    : "str".equals(type) ? T_STR : "b".equals(type) ? T_B : "e".equals(type) ? T_E : T_OTHER;
        }
    }

    /**
     * One attribute value as the parser's characters. The typed read trims surrounding whitespace, which reading
     * the String does not: a value with whitespace (or nothing) beside it in the parser's buffer, where the
     * parser keeps the values one after another, is not {@link #exact()}, and the cell is read with Strings.
     */
    private static final class AttributeChars extends TypedValueDecoder {
        private char[] buf;
        private int start;
        private int end;
        private boolean exact;

        @Override
        public void decode(String value) {
            exact = false; // a copy: whether it was trimmed cannot be told
        }

        @Override
        public void decode(char[] b, int from, int to) {
            buf = b;
            start = from;
            end = to;
            exact = to > from && (from == 0 || b[from - 1] > ' ') && (to >= b.length || b[to] > ' ');
        }

        @Override
        public void handleEmptyValue() {
            exact = false;
        }

        boolean exact() {
            return exact;
        }

        /** The column of a reference such as {@code AB12} (1-3 letters, then digits), else MIN_VALUE. */
        int column() {
            int i = start;
            int column = 0;
            while (i < end && i - start < 4 && buf[i] >= 'A' && buf[i] <= 'Z') {
                column = column * 26 + (buf[i] - 'A' + 1);
                i++;
            }
            int letters = i - start;
            int digits = i;
            while (digits < end && buf[digits] >= '0' && buf[digits] <= '9') {
                digits++;
            }
            if (letters == 0 || letters == 4 || digits == i || digits != end) {
                return Integer.MIN_VALUE;
            }
            return column - 1;
        }

        /** The cell type's code; {@link #T_OTHER} for anything but the six types. */
        int type() {
            int n = end - start;
            if (n == 1) {
                return switch (buf[start]) {
                    case 's' -> T_S;
                    case 'n' -> T_N;
                    case 'b' -> T_B;
                    case 'e' -> T_E;
                    default -> T_OTHER;
                };
            }
            if (Arrays.equals(buf, start, end, INLINE_STR, 0, INLINE_STR.length)) {
                return T_INLINE;
            }
            return Arrays.equals(buf, start, end, STR, 0, STR.length) ? T_STR : T_OTHER;
        }

        /** 1-9 digits as an int, else -1. */
        int smallNumber() {
            return digits(buf, start, end);
        }
    }

    /** 1-9 ASCII digits as an int, else -1. */
    private static int digits(char[] b, int from, int to) {
        if (to <= from || to - from > 9) {
            return -1;
        }
        int v = 0;
        for (int i = from; i < to; i++) {
            char c = b[i];
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /** The reader's cell for {@code column} (below {@link SpreadsheetOptions#EXCEL_MAX_COLUMNS}, checked before). */
    private Cell cellAt(int column) {
        if (column >= cellPool.length) {
            cellPool = Arrays.copyOf(cellPool, Math.max(column + 1, cellPool.length * 2));
        }
        Cell c = cellPool[column];
        if (c == null) {
            c = new Cell();
            cellPool[column] = c;
        }
        return c;
    }

    /** A reference's column: letters then digits read here, anything else as fastexcel's CellAddress reads it. */
    private static int column(String ref) {
        int column = 0;
        int i = 0;
        int n = ref.length();
        while (i < n && i < 4 && ref.charAt(i) >= 'A' && ref.charAt(i) <= 'Z') {
            column = column * 26 + (ref.charAt(i) - 'A' + 1);
            i++;
        }
        int digits = i;
        while (digits < n && ref.charAt(digits) >= '0' && ref.charAt(digits) <= '9') {
            digits++;
        }
        if (i == 0 || i == 4 || digits == i || digits != n) {
            return new CellAddress(ref).getColumn();
        }
        return column - 1;
    }

    private Cell inlineString(int rowNumber, int column) throws XMLStreamException, SheetException {
        String value = null;
        String formula = null;
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.END_DOCUMENT
                    || ev == XMLStreamConstants.END_ELEMENT && "c".equals(local)) {
                break;
            }
            if (ev == XMLStreamConstants.START_ELEMENT) {
                if ("is".equals(local)) {
                    value = textUntilEnd();
                } else if ("f".equals(local)) {
                    formula = textUntilEnd();
                }
            }
        }
        return cellAt(column).set(formula == null ? Kind.STRING : Kind.FORMULA, value, value, rowNumber, column, null,
                null);
    }

    private Cell sharedString(int rowNumber, int column) throws XMLStreamException, SheetException {
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.END_DOCUMENT
                    || ev == XMLStreamConstants.END_ELEMENT && "c".equals(local)) {
                return cellAt(column).set(Kind.STRING, "", "", rowNumber, column, null, null);
            }
            if (ev == XMLStreamConstants.START_ELEMENT && "v".equals(local)) {
                break;
            }
        }
        valueChars();
        if (valueLength == 0) {
            return cellAt(column).set(Kind.STRING, "", "", rowNumber, column, null, null);
        }
        int index = digits(valueBuffer, 0, valueLength);
        String s = strings.get(index >= 0 ? index : Integer.parseInt(new String(valueBuffer, 0, valueLength)));
        return cellAt(column).set(Kind.STRING, s, s, rowNumber, column, null, null);
    }

    private Cell other(int rowNumber, int column, Kind type, String formatId, String formatString)
            throws XMLStreamException, SheetException {
        Kind kind = type;
        Object value = null;
        String raw = null;
        boolean formula = false;
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.END_DOCUMENT
                    || ev == XMLStreamConstants.END_ELEMENT && "c".equals(local)) {
                break;
            }
            if (ev != XMLStreamConstants.START_ELEMENT) {
                continue;
            }
            if ("v".equals(local)) {
                valueChars();
                Long whole = kind == Kind.NUMBER ? wholeNumber(valueBuffer, valueLength) : null;
                if (whole != null) {
                    // The common case, a whole number: no String unless the header row may print it as written.
                    value = whole;
                    raw = keepNumberText ? new String(valueBuffer, 0, valueLength) : null;
                    continue;
                }
                raw = new String(valueBuffer, 0, valueLength);
                if (raw.isEmpty()) {
                    value = null;
                } else {
                    value = parse(kind, raw);
                    if (value == null) {
                        kind = Kind.ERROR; // unreadable: an ERROR cell, reported per row
                    }
                }
            } else if ("f".equals(local)) {
                formula = !textUntilEnd().isEmpty() || formula;
            }
        }
        if (!formula && value == null && kind == Kind.NUMBER) {
            return cellAt(column).set(Kind.EMPTY, null, raw, rowNumber, column, null, null);
        }
        return cellAt(column).set(formula ? Kind.FORMULA : kind, value, raw, rowNumber, column, formatId,
                formatString);
    }

    /** A {@code <v>}'s value by its cell's kind, or null when it does not parse as that kind. */
    private static Object parse(Kind kind, String raw) {
        return switch (kind) {
            case NUMBER -> {
                Object quick = quickNumber(raw);
                if (quick != null) {
                    yield quick;
                }
                try {
                    yield new BigDecimal(raw);
                } catch (NumberFormatException e) {
                    yield null;
                }
            }
            case BOOLEAN -> "0".equals(raw) ? Boolean.FALSE : "1".equals(raw) ? Boolean.TRUE : null;
            default -> raw;
        };
    }

    /**
     * The common shapes of a number without a BigDecimal, as the row will carry them: {@code -?\d{1,18}} and a
     * whole {@code -?\d{1,18}\.0+} as a Long; a decimal already in the form {@link BigDecimal#toString()} gives
     * ({@code -?(0|[1-9]\d*)\.\d*[1-9]\d*}, at most five zeros after "0.") as a {@link ValueType.Decimal} of the
     * same text. Null for anything else (exponents, a sign of +, leading zeros before a fraction, 19 digits and
     * more, text that is no number), which the BigDecimal path then reads or refuses.
     */
    static Object quickNumber(String raw) {
        int n = raw.length();
        int i = n > 0 && raw.charAt(0) == '-' ? 1 : 0;
        int intStart = i;
        while (i < n && isDigit(raw.charAt(i))) {
            i++;
        }
        int intDigits = i - intStart;
        if (intDigits == 0 || intDigits > 18) {
            return null;
        }
        if (i == n) {
            return Long.parseLong(raw);
        }
        if (raw.charAt(i) != '.' || i + 1 == n) {
            return null;
        }
        int dot = i++;
        int firstNonZero = -1;
        for (; i < n; i++) {
            char c = raw.charAt(i);
            if (!isDigit(c)) {
                return null;
            }
            if (c != '0' && firstNonZero < 0) {
                firstNonZero = i;
            }
        }
        if (firstNonZero < 0) {
            return Long.parseLong(raw, 0, dot, 10); // 42.000 is the whole number 42
        }
        boolean zeroInt = intDigits == 1 && raw.charAt(intStart) == '0';
        if (!zeroInt && raw.charAt(intStart) == '0') {
            return null; // 007.5: BigDecimal drops the zeros
        }
        if (zeroInt && firstNonZero - dot - 1 > 5) {
            return null; // 0.0000001: BigDecimal writes 1E-7
        }
        return new ValueType.Decimal(raw);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /**
     * A whole number's value, read as {@link #quickNumber} reads it ({@code -?\d{1,18}}, or that and {@code .0+}),
     * from characters; null for any other text.
     */
    static Long wholeNumber(char[] b, int n) {
        int i = n > 0 && b[0] == '-' ? 1 : 0;
        int intStart = i;
        long v = 0;
        while (i < n && isDigit(b[i])) {
            v = v * 10 + (b[i] - '0');
            i++;
        }
        int intDigits = i - intStart;
        if (intDigits == 0 || intDigits > 18) {
            return null;
        }
        if (i < n) {
            if (b[i] != '.' || i + 1 == n) {
                return null;
            }
            for (int j = i + 1; j < n; j++) {
                if (b[j] != '0') {
                    return null;
                }
            }
        }
        return intStart == 1 ? -v : v;
    }

    /**
     * {@link #textUntilEnd()} into {@link #valueBuffer} ({@link #valueLength} characters) instead of a String: the
     * parser's characters are copied, and only a value that needs a String becomes one.
     */
    private void valueChars() throws XMLStreamException, SheetException {
        int length = 0;
        int open = 1;
        while (true) {
            int ev = advance();
            switch (ev) {
                case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE -> {
                    int n = r.getTextLength();
                    if (length + n > valueBuffer.length) {
                        valueBuffer = Arrays.copyOf(valueBuffer, Math.max(length + n, valueBuffer.length * 2));
                    }
                    System.arraycopy(r.getTextCharacters(), r.getTextStart(), valueBuffer, length, n);
                    length += n;
                }
                case XMLStreamConstants.START_ELEMENT -> open++;
                case XMLStreamConstants.END_ELEMENT -> {
                    if (--open == 0) {
                        valueLength = length;
                        return;
                    }
                }
                case XMLStreamConstants.END_DOCUMENT -> {
                    valueLength = length;
                    return;
                }
                default -> {
                }
            }
        }
    }

    /** All text up to the end of the element just started (children's text included). */
    private String textUntilEnd() throws XMLStreamException, SheetException {
        // The usual <v>42</v> has one text event: its String straight from the parser, no builder in between.
        String single = null;
        boolean many = false;
        int open = 1;
        while (true) {
            int ev = advance();
            switch (ev) {
                case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE -> {
                    if (single == null && !many) {
                        single = r.getText();
                    } else {
                        if (!many) {
                            text.setLength(0);
                            text.append(single);
                            many = true;
                        }
                        text.append(r.getTextCharacters(), r.getTextStart(), r.getTextLength());
                    }
                }
                case XMLStreamConstants.START_ELEMENT -> open++;
                case XMLStreamConstants.END_ELEMENT -> {
                    if (--open == 0) {
                        return many ? text.toString() : single == null ? "" : single;
                    }
                }
                case XMLStreamConstants.END_DOCUMENT -> {
                    return many ? text.toString() : single == null ? "" : single;
                }
                default -> {
                }
            }
        }
    }

    /** The next event, with the depth and formula guards applied to every element. */
    private int advance() throws XMLStreamException, SheetException {
        if (!r.hasNext()) {
            return XMLStreamConstants.END_DOCUMENT;
        }
        int ev = r.next();
        if (ev == XMLStreamConstants.START_ELEMENT) {
            local = r.getLocalName();
            if (++depth > MAX_DEPTH) {
                throw tooDeep(entry);
            }
            if ("f".equals(local)) {
                formula();
            }
        } else if (ev == XMLStreamConstants.END_ELEMENT) {
            local = r.getLocalName();
            depth--;
        }
        return ev;
    }

    private void formula() throws SheetException {
        if (r.getAttributeValue(null, "ref") == null) {
            return;
        }
        String type = r.getAttributeValue(null, "t");
        if ("shared".equals(type) && ++sharedFormulas > MAX_SHARED_FORMULAS) {
            throw new SheetException(SheetException.TOO_COMPLEX, "entry " + entry + " defines more than "
                    + MAX_SHARED_FORMULAS + " shared formulas", Map.of("entry", entry, "limit", MAX_SHARED_FORMULAS));
        }
        if ("array".equals(type)) {
            arrayFormulas++;
            checkArrayWork();
        }
    }

    private void checkArrayWork() throws SheetException {
        if (arrayFormulas > 0 && arrayFormulas * cells > MAX_ARRAY_FORMULA_WORK) {
            throw new SheetException(SheetException.TOO_COMPLEX, "entry " + entry + " has " + arrayFormulas
                    + " array formulas over more than " + cells + " cells; reading it would take too long",
                    Map.of("entry", entry));
        }
    }

    static SheetException tooDeep(String entry) {
        return new SheetException(SheetException.TOO_COMPLEX, "entry " + entry + " nests elements more than "
                + MAX_DEPTH + " deep", Map.of("entry", entry, "limit", MAX_DEPTH));
    }

    static SheetException elementTooLarge(String what, String entry) {
        return new SheetException(SheetException.TOO_LARGE, what + " of " + entry + " is larger than "
                + (MAX_ELEMENT_BYTES >> 20) + " MiB", Map.of("entry", entry, "limit", MAX_ELEMENT_BYTES));
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
