package io.sluice.processors.spreadsheet;

import org.dhatim.fastexcel.reader.CellAddress;

import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.Closeable;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
     * One cell.
     *
     * @param value  a String, Long, {@link ValueType.Decimal}, BigDecimal or Boolean, or null
     * @param raw    the text as stored (a shared string's value for shared strings)
     * @param row    1-based row number of the row holding it
     * @param column 0-based
     */
    record Cell(Kind kind, Object value, String raw, int row, int column, String formatId, String formatString) {
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
     * A row: its number (its {@code r}, else its position) and its cells by column, null where none; the list is
     * the reader's, valid until the next row is read.
     */
    record Row(int number, List<Cell> cells) {
    }

    private final XMLStreamReader r;
    private final GuardedInputStream in;
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
    /** The current row's cells, reused: a row is consumed before the next is read. */
    private final List<Cell> cellsOfRow = new ArrayList<>(16);
    private long cells;
    private long sharedFormulas;
    private long arrayFormulas;

    SheetReader(GuardedInputStream in, String entry, SharedStrings strings, XlsxPackage.Formats formats)
            throws SheetException, IOException {
        this.in = in;
        this.entry = entry;
        this.strings = strings;
        this.formats = formats;
        try {
            this.r = Xml.reader(in, entry);
        } catch (XMLStreamException | RuntimeException e) {
            in.throwIfTripped();
            throw SheetException.malformed("the sheet cannot be read: " + e.getMessage(), e);
        }
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
        in.element(MAX_ELEMENT_BYTES, () -> elementTooLarge("row " + rowOrdinal, entry));
        List<Cell> row = cellsOfRow;
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
        return new Row(number, row);
    }

    private Cell cell(int rowNumber, int index, int rowOrdinal) throws XMLStreamException, SheetException {
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
        int column = ref == null ? index : column(ref);
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
        if (style != null) {
            int s = Integer.parseInt(style);
            if (s < formats.ids().size()) {
                formatId = formats.ids().get(s);
                formatString = formatId == null ? null : formats.codes().get(formatId);
            }
        }
        // equals, not a switch: a switch on a fresh String hashes it first.
        if (type == null) {
            return other(rowNumber, column, Kind.NUMBER, formatId, formatString);
        }
        if ("s".equals(type)) {
            return sharedString(rowNumber, column);
        }
        if ("inlineStr".equals(type)) {
            return inlineString(rowNumber, column);
        }
        return other(rowNumber, column, kindOf(type), formatId, formatString);
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
        return new Cell(formula == null ? Kind.STRING : Kind.FORMULA, value, value, rowNumber, column, null, null);
    }

    private Cell sharedString(int rowNumber, int column) throws XMLStreamException, SheetException {
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.END_DOCUMENT
                    || ev == XMLStreamConstants.END_ELEMENT && "c".equals(local)) {
                return new Cell(Kind.STRING, "", "", rowNumber, column, null, null);
            }
            if (ev == XMLStreamConstants.START_ELEMENT && "v".equals(local)) {
                break;
            }
        }
        String v = textUntilEnd();
        if (v.isEmpty()) {
            return new Cell(Kind.STRING, "", "", rowNumber, column, null, null);
        }
        String s = strings.get(Integer.parseInt(v));
        return new Cell(Kind.STRING, s, s, rowNumber, column, null, null);
    }

    private static Kind kindOf(String type) {
        if ("n".equals(type)) {
            return Kind.NUMBER;
        }
        if ("str".equals(type)) {
            return Kind.FORMULA;
        }
        if ("b".equals(type)) {
            return Kind.BOOLEAN;
        }
        if ("e".equals(type)) {
            return Kind.ERROR;
        }
        throw new IllegalStateException("Unknown cell type : " + type);
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
                raw = textUntilEnd();
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
            return new Cell(Kind.EMPTY, null, raw, rowNumber, column, null, null);
        }
        return new Cell(formula ? Kind.FORMULA : kind, value, raw, rowNumber, column, formatId, formatString);
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
