package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import io.sluice.processors.JsonLine;
import io.sluice.processors.ProcessorContext;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * Turns a header and a stream of rows into NDJSON lines and a summary, whatever the format. Holds nothing per row:
 * per column a type and a count, and at most {@link #MAX_ERRORS} errors.
 *
 * <p>Each row becomes one JSON object with every header name as a key (null for an empty cell), in header order.
 * Rows whose cells are all empty are skipped. Values beyond the header's width are dropped and reported as an
 * error of that row. Progress is reported as the source's fraction done, stage {@code rows}, whenever the whole
 * percent changes and every {@link #EVERY_ROWS} rows, which is also how often {@link ProcessorContext#checkpoint()}
 * runs.
 *
 * <p>A row is written as one reused {@link Line} that the output streams through its JSON generator: no tree and
 * no byte array per row. Its bytes are what an {@code ObjectNode} of the same values serialised to before.
 */
final class TableWriter {

    static final int MAX_ERRORS = 100;
    static final int EVERY_ROWS = 1_000;
    static final String STAGE = "rows";

    private final ProcessorContext ctx;
    private final SpreadsheetOptions options;
    private final boolean inferFromText;
    private final DoubleSupplier fractionDone;
    private final long startNanos = System.nanoTime();
    private final List<Map<String, Object>> errors = new ArrayList<>();
    private Header header;
    private long headerRowNumber;
    private ValueType[] types;
    private long[] empty;
    private Line line;
    private long rows;
    private long rowsSeen;
    private long emptyRows;
    private long errorCount;
    private int lastPercent = -1;

    /**
     * @param inferFromText infer column types from text (csv); xlsx cells carry their type
     * @param fractionDone  how far the source is, 0..1; called at most once per row
     */
    TableWriter(ProcessorContext ctx, SpreadsheetOptions options, boolean inferFromText, DoubleSupplier fractionDone) {
        this.ctx = ctx;
        this.options = options;
        this.inferFromText = inferFromText;
        this.fractionDone = fractionDone;
    }

    boolean hasHeader() {
        return header != null;
    }

    /**
     * Sets the header and checks it: required columns, {@code maxColumns}.
     *
     * @param cells the header cells' texts (null for absent cells)
     */
    void header(long rowNumber, List<String> cells) throws SheetException {
        Header h = Header.of(cells);
        if (h.width() > options.maxColumns()) {
            throw tooManyColumns(rowNumber, h.width(), options.maxColumns());
        }
        h.requireColumns(options.requiredColumns());
        header = h;
        headerRowNumber = rowNumber;
        types = new ValueType[h.width()];
        Arrays.fill(types, ValueType.EMPTY);
        empty = new long[h.width()];
        line = new Line(h.names());
    }

    /**
     * Writes one data row.
     *
     * @param values the row's values by column position: null, String, Boolean, Long, BigDecimal,
     *               {@link ValueType.DateText} or {@link ValueType.Decimal}; may be shorter or longer than the header
     */
    void row(long rowNumber, List<?> values) throws IOException, SheetException {
        row(rowNumber, values.toArray(), values.size());
    }

    /** {@link #row(long, List)} over the first {@code size} of {@code values}, which the caller may reuse after. */
    void row(long rowNumber, Object[] values, int size) throws IOException, SheetException {
        rowsSeen++;
        if (rowsSeen > options.maxRows()) {
            throw tooManyRows(options.maxRows());
        }
        int last = size - 1;
        while (last >= 0 && ValueType.of(values[last], false) == ValueType.EMPTY) {
            last--;
        }
        if (last < 0) {
            emptyRows++;
            afterRow();
            return;
        }
        if (last + 1 > options.maxColumns()) {
            throw tooManyColumns(rowNumber, last + 1, options.maxColumns());
        }
        int width = header.width();
        if (last >= width) {
            int extra = 0;
            for (int i = width; i <= last; i++) {
                if (ValueType.of(values[i], false) != ValueType.EMPTY) {
                    extra++;
                }
            }
            error(rowNumber, null, extra + (extra == 1 ? " value" : " values") + " beyond the header's " + width
                    + " columns (dropped)");
        }
        Object[] out = line.values;
        for (int i = 0; i < width; i++) {
            Object v = i < size ? values[i] : null;
            ValueType t = ValueType.of(v, inferFromText);
            if (t == ValueType.EMPTY) {
                empty[i]++;
                out[i] = null;
                continue;
            }
            types[i] = types[i].merge(t);
            out[i] = v;
        }
        ctx.output().write(line);
        rows++;
        afterRow();
    }

    /** Records an error of one cell or row; the list keeps the first {@link #MAX_ERRORS}. */
    void error(long rowNumber, String column, String message) {
        errorCount++;
        if (errors.size() < MAX_ERRORS) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("row", rowNumber);
            if (column != null) {
                e.put("column", column);
            }
            e.put("message", message);
            errors.add(e);
        }
    }

    /** The header's name for a column position, or its 1-based number past the header. */
    String columnName(int index) {
        return header != null && index < header.width() ? header.names().get(index) : "column_" + (index + 1);
    }

    /** Rows after the header seen so far, empty ones included (what {@code maxRows} counts). */
    long rowsSeen() {
        return rowsSeen;
    }

    /** Reports 100% and returns the summary; {@code extra} (format, sheet, ...) goes first. */
    Map<String, Object> finish(Map<String, Object> extra) {
        ctx.progress(100, STAGE, 0L);
        Map<String, Object> s = new LinkedHashMap<>(extra);
        s.put("headerRow", headerRowNumber);
        s.put("rows", rows);
        s.put("emptyRowsSkipped", emptyRows);
        s.put("columns", header.names());
        Map<String, Object> typeMap = new LinkedHashMap<>();
        Map<String, Object> emptyMap = new LinkedHashMap<>();
        for (int i = 0; i < header.width(); i++) {
            typeMap.put(header.names().get(i), types[i].label());
            emptyMap.put(header.names().get(i), empty[i]);
        }
        s.put("types", typeMap);
        s.put("emptyCells", emptyMap);
        s.put("errorCount", errorCount);
        s.put("errors", List.copyOf(errors));
        return s;
    }

    private void afterRow() {
        int percent = (int) Math.floor(Math.clamp(fractionDone.getAsDouble(), 0.0, 1.0) * 100);
        // 100 is reported by finish(), once the output is complete.
        percent = Math.min(percent, 99);
        boolean every = rowsSeen % EVERY_ROWS == 0;
        if (every) {
            ctx.checkpoint();
        }
        if (percent != lastPercent || every) {
            lastPercent = percent;
            ctx.progress(percent, STAGE, eta(percent));
        }
    }

    private Long eta(int percent) {
        if (percent <= 0) {
            return null;
        }
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        return Math.round(elapsed * (100 - percent) / percent);
    }

    /**
     * One row as a JSON object, every header name a key in header order; written by the output as soon as it is
     * handed over, then refilled for the next row. Each value is written with the generator call its
     * {@code ObjectNode} value node made (so the bytes are the same): numbers as numbers, dates as ISO text.
     */
    private static final class Line implements JsonSerializable, JsonLine {
        private final SerializedString[] names;
        final Object[] values;

        Line(List<String> names) {
            this.names = new SerializedString[names.size()];
            for (int i = 0; i < this.names.length; i++) {
                this.names[i] = new SerializedString(names.get(i));
            }
            this.values = new Object[this.names.length];
        }

        @Override
        public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
            writeTo(g);
        }

        @Override
        public void writeTo(JsonGenerator g) throws IOException {
            g.writeStartObject();
            for (int i = 0; i < names.length; i++) {
                g.writeFieldName(names[i]);
                switch (values[i]) {
                    case null -> g.writeNull();
                    case String s -> g.writeString(s);
                    case Boolean b -> g.writeBoolean(b);
                    case Long l -> g.writeNumber(l.longValue());
                    case BigInteger n -> g.writeNumber(n);
                    case BigDecimal d -> g.writeNumber(d);
                    case ValueType.Decimal d -> g.writeNumber(d.text());
                    case ValueType.DateText d -> g.writeString(d.iso());
                    default -> g.writeString(values[i].toString());
                }
            }
            g.writeEndObject();
        }

        @Override
        public void serializeWithType(JsonGenerator g, SerializerProvider provider, TypeSerializer typeSer)
                throws IOException {
            serialize(g, provider);
        }
    }

    static SheetException tooManyRows(long limit) {
        return new SheetException(SheetException.TOO_MANY_ROWS, "the sheet has more than " + limit
                + " rows after the header (options.maxRows)", Map.of("limit", limit));
    }

    static SheetException tooManyColumns(long rowNumber, int columns, int limit) {
        return new SheetException(SheetException.TOO_MANY_COLUMNS, "row " + rowNumber + " has " + columns
                + " columns, more than " + limit + " (options.maxColumns)", Map.of("row", rowNumber, "limit", limit));
    }
}
