package io.sluice.processors.spreadsheet;

import io.sluice.processors.ProcessorContext;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an xlsx sheet into a {@link TableWriter} in one pass: the package and its small parts
 * ({@link XlsxPackage}), the shared strings ({@link SharedStrings}: on the heap, or in a file past the cache), then
 * the sheet's rows ({@link SheetReader}), every byte through a {@link GuardedInputStream}, inflated and checked a
 * few chunks ahead of the parser on a second thread ({@link ReadAhead}). Progress is the sheet's
 * inflated bytes read over its declared size.
 */
final class XlsxTable {

    private XlsxTable() {
    }

    static Map<String, Object> run(ProcessorContext ctx, SpreadsheetOptions options) throws Exception {
        Path file = ctx.file();
        ctx.progress(0, "checking", null);
        ctx.checkpoint();
        InflateBudget budget = new InflateBudget(options.maxUncompressedSize());
        try (XlsxPackage pkg = XlsxPackage.open(file, options, budget, ctx::checkpoint)) {
            pkg.resolve();
            XlsxPackage.SheetRef sheet = pkg.select(options.sheet());
            ZipArchiveEntry entry = sheet.entry() == null ? null : pkg.entry(sheet.entry());
            if (entry == null) {
                throw SheetException.malformed("sheet '" + sheet.name() + "' has no part in the workbook", null);
            }
            XlsxPackage.Formats formats = pkg.readFormats();
            try (SharedStrings strings = sharedStrings(ctx, pkg, options)) {
                return read(ctx, options, pkg, sheet, entry, formats, strings);
            }
        } catch (GuardedInputStream.Tripped t) {
            throw t.refusal();
        }
    }

    private static SharedStrings sharedStrings(ProcessorContext ctx, XlsxPackage pkg, SpreadsheetOptions options)
            throws IOException, SheetException {
        String name = pkg.sharedStringsEntry();
        ZipArchiveEntry e = name == null ? null : pkg.entry(name);
        if (e == null) {
            return SharedStrings.NONE;
        }
        ctx.progress(0, "reading shared strings", null);
        try (GuardedInputStream in = pkg.open(e).limit(options.maxSharedStringsSize(), () ->
                new GuardedInputStream.Tripped(XlsxPackage.sharedStringsTooLarge(options.maxSharedStringsSize())));
             ReadAhead ahead = new ReadAhead(in, e.getName())) {
            return SharedStrings.read(ahead, e.getName(), options, ctx.workDir(), ctx.scratch());
        }
    }

    private static Map<String, Object> read(ProcessorContext ctx, SpreadsheetOptions options, XlsxPackage pkg,
                                            XlsxPackage.SheetRef sheet, ZipArchiveEntry entry,
                                            XlsxPackage.Formats formats, SharedStrings strings) throws Exception {
        long declared = entry.getSize();
        boolean date1904 = pkg.date1904();
        try (GuardedInputStream in = pkg.open(entry);
             ReadAhead ahead = new ReadAhead(in, entry.getName());
             SheetReader reader = new SheetReader(ahead, entry.getName(), strings, formats)) {
            TableWriter out = new TableWriter(ctx, options, false,
                    () -> declared <= 0 ? 0.0 : Math.min(1.0, (double) reader.position() / declared));
            SheetReader.Row row;
            int number = 0;
            Object[] values = new Object[16]; // reused for every row
            while ((row = reader.next()) != null) {
                // rows without an r attribute are numbered by position; keep numbers rising from 1.
                number = row.number() > number ? row.number() : number + 1;
                if (!out.hasHeader()) {
                    if (number >= options.headerRow() && !isEmpty(row)) {
                        out.header(number, headerTexts(row));
                        reader.keepNumberText(false);
                    }
                    continue;
                }
                List<SheetReader.Cell> cells = row.cells();
                if (values.length < cells.size()) {
                    values = new Object[Math.max(cells.size(), values.length * 2)];
                }
                for (int i = 0; i < cells.size(); i++) {
                    SheetReader.Cell c = cells.get(i);
                    values[i] = c == null ? null : value(c, number, i, out, date1904);
                }
                out.row(number, values, cells.size());
            }
            if (!out.hasHeader()) {
                throw new SheetException(SheetException.NO_HEADER, "sheet '" + sheet.name() + "' has no non-empty row"
                        + " at or after row " + options.headerRow() + " (options.headerRow)");
            }
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("format", "xlsx");
            extra.put("sheet", sheet.name() == null ? "" : sheet.name()); // summaries hold no nulls
            if (strings.spilled()) {
                extra.put("sharedStrings", Map.of("strings", strings.size(), "onDisk", true));
            }
            return out.finish(extra);
        }
    }

    private static boolean isEmpty(SheetReader.Row row) {
        for (SheetReader.Cell c : row.cells()) {
            if (c != null && !Header.isBlank(c.text())) {
                return false;
            }
        }
        return true;
    }

    private static List<String> headerTexts(SheetReader.Row row) {
        List<String> texts = new ArrayList<>(row.cells().size());
        for (SheetReader.Cell c : row.cells()) {
            texts.add(c == null ? null : isNumber(c.value()) ? new BigDecimal(c.raw()).toPlainString() : c.text());
        }
        return texts;
    }

    /** A cell as a row value: numbers as numbers (dates, by their format, as ISO text), errors as their text. */
    private static Object value(SheetReader.Cell c, int rowNumber, int column, TableWriter out, boolean date1904) {
        Object v = c.value();
        switch (c.kind()) {
            case EMPTY -> {
                return null;
            }
            case ERROR -> {
                String raw = c.raw();
                out.error(rowNumber, out.columnName(column), "cell " + c.address() + " holds an error or an"
                        + " unreadable value: " + raw);
                return raw == null || raw.isEmpty() ? null : raw;
            }
            default -> {
                if (isNumber(v)) {
                    Object date = date(c, date1904);
                    return date != null ? date : v instanceof BigDecimal d ? number(d) : v;
                }
                if (v instanceof Boolean || v == null) {
                    return v;
                }
                return v.toString();
            }
        }
    }

    /** A number cell's value: Long and Decimal for the common shapes, BigDecimal for the rest. */
    private static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof ValueType.Decimal || v instanceof BigDecimal;
    }

    private static Object date(SheetReader.Cell c, boolean date1904) {
        if (c.formatId() == null && c.formatString() == null) {
            return null;
        }
        Integer id;
        try {
            id = c.formatIdNumber();
        } catch (NumberFormatException e) {
            id = null;
        }
        DateFormats.Kind kind = DateFormats.kind(id, c.formatString());
        if (kind == DateFormats.Kind.NOT_DATE) {
            return null;
        }
        LocalDateTime t;
        try {
            // A whole number's text is not kept past the header; its double is the same as its text's.
            t = excelDate(c.raw() != null ? Double.parseDouble(c.raw()) : ((Long) c.value()).doubleValue(), date1904);
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

    /**
     * An Excel serial date as fastexcel-reader converted it: whole days from 1900-01-01 (with Excel's phantom
     * 1900-02-29 below day 61) or from 1904-01-02, the fraction rounded to the millisecond.
     */
    static LocalDateTime excelDate(double serial, boolean date1904) {
        int days = (int) Math.floor(serial);
        long millis = (long) ((serial - days) * 86_400_000 + 0.5);
        if (millis == 86_400_000) {
            days++;
            millis = 0;
        }
        int year = date1904 ? 1904 : 1900;
        int adjust = date1904 ? 1 : days < 61 ? 0 : -1;
        LocalDate date = LocalDate.of(year, 1, 1).plusDays(days + adjust - 1L);
        return LocalDateTime.of(date, LocalTime.ofNanoOfDay(millis * 1_000_000));
    }

    /** Whole numbers that fit in a long become longs (4, not 4.0); others stay exact decimals. */
    private static Object number(BigDecimal d) {
        if (d.precision() - d.scale() <= 18 && ValueType.isWhole(d)) {
            return d.longValue();
        }
        return d;
    }
}
