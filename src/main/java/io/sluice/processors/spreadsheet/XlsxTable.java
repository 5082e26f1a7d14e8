package io.sluice.processors.spreadsheet;

import io.sluice.processors.ProcessorContext;
import org.dhatim.fastexcel.reader.Cell;
import org.dhatim.fastexcel.reader.ReadableWorkbook;
import org.dhatim.fastexcel.reader.ReadingOptions;
import org.dhatim.fastexcel.reader.Row;
import org.dhatim.fastexcel.reader.Sheet;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads an xlsx sheet into a {@link TableWriter}: first the guards ({@link XlsxPackage}, {@link XlsxScan}), then
 * fastexcel-reader, streaming rows. Progress is rows read over the sheet's row count, which the scan counted.
 */
final class XlsxTable {

    private XlsxTable() {
    }

    static Map<String, Object> run(ProcessorContext ctx, SpreadsheetOptions options) throws Exception {
        Path file = ctx.file();
        ctx.progress(0, "checking", null);
        ctx.checkpoint();
        XlsxPackage.SheetRef sheet;
        long sheetRows;
        boolean formats;
        InflateBudget budget = new InflateBudget(options.maxUncompressedSize());
        try (XlsxPackage pkg = XlsxPackage.open(file, options, budget, ctx::checkpoint)) {
            pkg.resolve();
            sheet = pkg.select(options.sheet());
            Map<String, XlsxScan.EntryStats> stats = new XlsxScan(pkg, options).scanAll();
            XlsxScan.EntryStats s = sheet.entry() == null ? null : stats.get(sheet.entry().toLowerCase(Locale.ROOT));
            if (s == null) {
                throw SheetException.malformed("sheet '" + sheet.name() + "' has no part in the workbook", null);
            }
            sheetRows = s.rows();
            formats = pkg.hasStyles();
        } catch (GuardedInputStream.Tripped t) {
            throw t.refusal();
        }

        long[] read = {0};
        TableWriter out = new TableWriter(ctx, options, false,
                () -> sheetRows == 0 ? 1.0 : (double) read[0] / sheetRows);
        try (ReadableWorkbook wb = open(file, formats)) {
            Sheet fx = wb.getSheet(sheet.index()).orElseThrow(() -> SheetException.malformed(
                    "sheet '" + sheet.name() + "' cannot be read", null));
            try (Stream<Row> stream = fx.openStream()) {
                Iterator<Row> rows = stream.iterator();
                Row row;
                int number = 0;
                while ((row = next(rows)) != null) {
                    read[0]++;
                    // fastexcel numbers rows without an r attribute from 0; keep numbers rising from 1.
                    number = row.getRowNum() > number ? row.getRowNum() : number + 1;
                    if (!out.hasHeader()) {
                        if (number >= options.headerRow() && !isEmpty(row)) {
                            out.header(number, headerTexts(row));
                            if (sheetRows - read[0] > options.maxRows()) {
                                throw TableWriter.tooManyRows(options.maxRows()); // before writing anything
                            }
                        }
                        continue;
                    }
                    out.row(number, values(row, number, out));
                }
            }
        }
        if (!out.hasHeader()) {
            throw new SheetException(SheetException.NO_HEADER, "sheet '" + sheet.name() + "' has no non-empty row at or"
                    + " after row " + options.headerRow() + " (options.headerRow)");
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("format", "xlsx");
        extra.put("sheet", sheet.name() == null ? "" : sheet.name()); // summaries hold no nulls
        return out.finish(extra);
    }

    private static ReadableWorkbook open(Path file, boolean formats) throws SheetException {
        try {
            // Unreadable cell values become ERROR cells (reported per row) instead of failing the sheet.
            return new ReadableWorkbook(file.toFile(), new ReadingOptions(formats, true));
        } catch (IOException | RuntimeException e) {
            throw SheetException.malformed("the workbook cannot be read: " + e.getMessage(), e);
        }
    }

    /** The next row, or null at the end; anything fastexcel throws means the sheet is malformed. */
    private static Row next(Iterator<Row> rows) throws SheetException {
        try {
            return rows.hasNext() ? rows.next() : null;
        } catch (RuntimeException e) {
            throw SheetException.malformed("the sheet cannot be read: " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private static boolean isEmpty(Row row) {
        for (int i = 0; i < row.getCellCount(); i++) {
            Cell c = row.getCell(i);
            if (c != null && !Header.isBlank(c.getText())) {
                return false;
            }
        }
        return true;
    }

    private static List<String> headerTexts(Row row) {
        List<String> texts = new ArrayList<>(row.getCellCount());
        for (int i = 0; i < row.getCellCount(); i++) {
            Cell c = row.getCell(i);
            texts.add(c == null ? null : text(c));
        }
        return texts;
    }

    private static String text(Cell c) {
        Object v = c.getValue();
        return v instanceof BigDecimal d ? d.toPlainString() : c.getText();
    }

    private static List<Object> values(Row row, int number, TableWriter out) {
        List<Object> values = new ArrayList<>(row.getCellCount());
        for (int i = 0; i < row.getCellCount(); i++) {
            Cell c = row.getCell(i);
            values.add(c == null ? null : value(c, number, i, out));
        }
        return values;
    }

    /** A cell as a row value: numbers as numbers (dates, by their format, as ISO text), errors as their text. */
    private static Object value(Cell c, int rowNumber, int column, TableWriter out) {
        Object v = c.getValue();
        switch (c.getType()) {
            case EMPTY -> {
                return null;
            }
            case ERROR -> {
                String raw = c.getRawValue();
                out.error(rowNumber, out.columnName(column), "cell " + c.getAddress() + " holds an error or an"
                        + " unreadable value: " + raw);
                return raw == null || raw.isEmpty() ? null : raw;
            }
            default -> {
                if (v instanceof BigDecimal d) {
                    Object date = date(c);
                    return date != null ? date : number(d);
                }
                if (v instanceof Boolean || v == null) {
                    return v;
                }
                return v.toString();
            }
        }
    }

    private static Object date(Cell c) {
        Integer id;
        try {
            id = c.getDataFormatId();
        } catch (NumberFormatException e) {
            id = null;
        }
        DateFormats.Kind kind = DateFormats.kind(id, c.getDataFormatString());
        if (kind == DateFormats.Kind.NOT_DATE) {
            return null;
        }
        LocalDateTime t;
        try {
            t = c.asDate();
        } catch (RuntimeException e) {
            return null; // not a representable date: keep the number
        }
        return new ValueType.DateText(switch (kind) {
            case DATE -> t.getHour() == 0 && t.getMinute() == 0 && t.getSecond() == 0 && t.getNano() == 0
                    ? t.toLocalDate().toString() : t.toString();
            case TIME -> t.toLocalTime().toString();
            default -> t.toString();
        });
    }

    /** Whole numbers that fit in a long become longs (4, not 4.0); others stay exact decimals. */
    private static Object number(BigDecimal d) {
        if (d.precision() - d.scale() <= 18 && ValueType.isWhole(d)) {
            return d.longValue();
        }
        return d;
    }
}
