package io.sluice.processors.spreadsheet;

import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.dhatim.fastexcel.reader.CellAddress;

import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The upload-time check of an xlsx: the central directory's declared sizes, then the header row, read with our own
 * streaming XML reader from at most {@link #BUDGET} inflated bytes of the sheet and of the shared strings. Nothing
 * else of the sheet is inflated, so the cost does not depend on the file's size.
 *
 * <p>When the header is not within the budget (a sheet with megabytes of markup before its first row) the check
 * passes and the job decides: it is the authority, and checks the required columns again.
 */
final class XlsxHeaderCheck {

    static final long BUDGET = 8L << 20;

    private XlsxHeaderCheck() {
    }

    static void precheck(Path file, SpreadsheetOptions options) throws IOException, SheetException {
        InflateBudget budget = new InflateBudget(options.maxUncompressedSize());
        try (XlsxPackage pkg = XlsxPackage.open(file, options, budget, () -> {
        })) {
            pkg.resolve();
            XlsxPackage.SheetRef sheet = pkg.select(options.sheet());
            ZipArchiveEntry entry = sheet.entry() == null ? null : pkg.entry(sheet.entry());
            if (entry == null) {
                throw SheetException.malformed("sheet '" + sheet.name() + "' has no part in the workbook", null);
            }
            List<Cell> cells = headerCells(pkg, entry, options);
            if (cells == null) {
                return;
            }
            List<String> texts = texts(pkg, cells);
            if (texts == null) {
                return;
            }
            Header h = Header.of(texts);
            if (h.width() > options.maxColumns()) {
                throw TableWriter.tooManyColumns(0, h.width(), options.maxColumns());
            }
            h.requireColumns(options.requiredColumns());
        } catch (CountingInputStream.BudgetExhausted e) {
            // undecided within the budget
        } catch (GuardedInputStream.Tripped t) {
            throw t.refusal();
        }
    }

    /** A header cell: its column and either its text or its shared-string index. */
    private record Cell(int column, String text, int sharedIndex) {
    }

    /** The header row's cells, or null when the header was not found within the budget. */
    private static List<Cell> headerCells(XlsxPackage pkg, ZipArchiveEntry entry, SpreadsheetOptions options)
            throws IOException, SheetException {
        try (GuardedInputStream in = pkg.open(entry).limit(BUDGET,
                () -> new CountingInputStream.BudgetExhausted(BUDGET))) {
            XMLStreamReader r = null;
            try {
                r = Xml.reader(in, entry.getName());
                return walk(r, entry.getName(), options);
            } catch (XMLStreamException | RuntimeException e) {
                in.throwIfTripped();
                throw SheetException.malformed("sheet " + entry.getName() + " is not valid XML: " + e.getMessage(), e);
            } finally {
                Xml.closeQuietly(r);
            }
        }
    }

    private static List<Cell> walk(XMLStreamReader r, String name, SpreadsheetOptions options)
            throws XMLStreamException, SheetException {
        int depth = 0;
        boolean inSheetData = false;
        int lastRow = 0;
        while (r.hasNext()) {
            int ev = r.next();
            if (ev == XMLStreamConstants.END_ELEMENT) {
                depth--;
                if ("sheetData".equals(r.getLocalName())) {
                    return List.of();
                }
                continue;
            }
            if (ev != XMLStreamConstants.START_ELEMENT) {
                continue;
            }
            if (++depth > SheetReader.MAX_DEPTH) {
                throw new SheetException(SheetException.TOO_COMPLEX, "sheet " + name + " nests elements more than "
                        + SheetReader.MAX_DEPTH + " deep");
            }
            String local = r.getLocalName();
            if ("sheetData".equals(local)) {
                inSheetData = true;
            } else if (inSheetData && "row".equals(local)) {
                Integer declared = rowNumber(r.getAttributeValue(null, "r"));
                int number = declared != null && declared > lastRow ? declared : lastRow + 1;
                lastRow = number;
                List<Cell> cells = row(r, name);
                depth--; // row() consumed the row's end
                if (number >= options.headerRow() && cells.stream().anyMatch(c -> c.sharedIndex >= 0
                        || !Header.isBlank(c.text))) {
                    return cells;
                }
            }
        }
        return List.of();
    }

    private static Integer rowNumber(String r) {
        try {
            return r == null ? null : Integer.valueOf(r);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Reads one row's cells, up to and including its end tag. */
    private static List<Cell> row(XMLStreamReader r, String name) throws XMLStreamException, SheetException {
        List<Cell> cells = new ArrayList<>();
        int tracked = 0;
        int depth = 1;
        while (r.hasNext()) {
            int ev = r.next();
            if (ev == XMLStreamConstants.END_ELEMENT) {
                if (--depth == 0) {
                    return cells;
                }
            } else if (ev == XMLStreamConstants.START_ELEMENT) {
                if (++depth > SheetReader.MAX_DEPTH) {
                    throw new SheetException(SheetException.TOO_COMPLEX, "sheet " + name + " nests too deep");
                }
                if (!"c".equals(r.getLocalName())) {
                    continue;
                }
                String ref = r.getAttributeValue(null, "r");
                int column = tracked;
                if (ref != null) {
                    try {
                        column = new CellAddress(ref).getColumn();
                    } catch (RuntimeException e) {
                        throw SheetException.malformed("sheet " + name + " has a bad cell reference " + ref, e);
                    }
                }
                tracked = column + 1;
                if (column < 0 || column >= SpreadsheetOptions.EXCEL_MAX_COLUMNS
                        || cells.size() >= SpreadsheetOptions.EXCEL_MAX_COLUMNS) {
                    throw new SheetException(SheetException.TOO_MANY_COLUMNS, "the header row of " + name
                            + " has a cell beyond column XFD (" + SpreadsheetOptions.EXCEL_MAX_COLUMNS + " columns)",
                            Map.of("limit", SpreadsheetOptions.EXCEL_MAX_COLUMNS));
                }
                cells.add(cell(r, column));
                depth--; // cell() consumed the cell's end
            }
        }
        return cells;
    }

    /** Reads one {@code <c>} up to its end tag, as fastexcel would show it as text. */
    private static Cell cell(XMLStreamReader r, int column) throws XMLStreamException {
        String type = r.getAttributeValue(null, "t");
        StringBuilder v = null;
        StringBuilder inline = null;
        int depth = 1;
        String in = null;
        while (r.hasNext()) {
            int ev = r.next();
            if (ev == XMLStreamConstants.START_ELEMENT) {
                depth++;
                String local = r.getLocalName();
                if (depth == 2 && ("v".equals(local) || "is".equals(local))) {
                    in = local;
                    if ("v".equals(local)) {
                        v = new StringBuilder();
                    } else {
                        inline = new StringBuilder();
                    }
                }
            } else if (ev == XMLStreamConstants.END_ELEMENT) {
                if (--depth == 0) {
                    break;
                }
                if (depth == 1) {
                    in = null;
                }
            } else if (in != null && (ev == XMLStreamConstants.CHARACTERS || ev == XMLStreamConstants.CDATA
                    || ev == XMLStreamConstants.SPACE)) {
                ("v".equals(in) ? v : inline).append(r.getText());
            }
        }
        if ("inlineStr".equals(type)) {
            return new Cell(column, inline == null ? "" : inline.toString(), -1);
        }
        String raw = v == null ? "" : v.toString();
        if ("s".equals(type)) {
            try {
                return raw.isEmpty() ? new Cell(column, "", -1) : new Cell(column, null, Integer.parseInt(raw));
            } catch (NumberFormatException e) {
                return new Cell(column, raw, -1);
            }
        }
        if ("b".equals(type)) {
            return new Cell(column, "1".equals(raw) ? "true" : "0".equals(raw) ? "false" : raw, -1);
        }
        if (type == null || "n".equals(type)) {
            try {
                return new Cell(column, raw.isEmpty() ? "" : new BigDecimal(raw).toPlainString(), -1);
            } catch (NumberFormatException e) {
                return new Cell(column, raw, -1);
            }
        }
        return new Cell(column, raw, -1);
    }

    /** The header texts by column, resolving shared strings; null when they are not within the budget. */
    private static List<String> texts(XlsxPackage pkg, List<Cell> cells) throws IOException, SheetException {
        Map<Integer, String> shared = new HashMap<>();
        int maxIndex = -1;
        for (Cell c : cells) {
            maxIndex = Math.max(maxIndex, c.sharedIndex);
        }
        if (maxIndex >= 0) {
            shared = sharedStrings(pkg, maxIndex);
            if (shared == null) {
                return null;
            }
        }
        TreeMap<Integer, String> byColumn = new TreeMap<>();
        for (Cell c : cells) {
            byColumn.put(c.column, c.sharedIndex >= 0 ? shared.getOrDefault(c.sharedIndex, "") : c.text);
        }
        List<String> texts = new ArrayList<>();
        if (!byColumn.isEmpty()) {
            for (int i = 0; i <= byColumn.lastKey(); i++) {
                texts.add(byColumn.get(i));
            }
        }
        return texts;
    }

    /** Shared strings 0..maxIndex, or null when they are not within the budget. */
    private static Map<Integer, String> sharedStrings(XlsxPackage pkg, int maxIndex)
            throws IOException, SheetException {
        String name = pkg.sharedStringsEntry();
        ZipArchiveEntry entry = name == null ? null : pkg.entry(name);
        Map<Integer, String> out = new HashMap<>();
        if (entry == null) {
            return out;
        }
        long limit = Math.min(BUDGET, pkg.sharedStringsLimit());
        try (GuardedInputStream in = pkg.open(entry).limit(limit, () -> limit < BUDGET
                ? new GuardedInputStream.Tripped(XlsxPackage.sharedStringsTooLarge(limit))
                : new CountingInputStream.BudgetExhausted(BUDGET))) {
            XMLStreamReader r = null;
            try {
                r = Xml.reader(in, entry.getName());
                int index = -1;
                StringBuilder text = null;
                int phonetic = 0;
                boolean inT = false;
                while (r.hasNext() && index <= maxIndex) {
                    int ev = r.next();
                    if (ev == XMLStreamConstants.START_ELEMENT) {
                        switch (r.getLocalName()) {
                            case "si" -> {
                                index++;
                                text = new StringBuilder();
                            }
                            case "rPh" -> phonetic++;
                            case "t" -> inT = phonetic == 0;
                            default -> {
                            }
                        }
                    } else if (ev == XMLStreamConstants.END_ELEMENT) {
                        switch (r.getLocalName()) {
                            case "si" -> {
                                if (text != null) {
                                    out.put(index, text.toString());
                                }
                                text = null;
                            }
                            case "rPh" -> phonetic = Math.max(0, phonetic - 1);
                            case "t" -> inT = false;
                            default -> {
                            }
                        }
                    } else if (inT && text != null && (ev == XMLStreamConstants.CHARACTERS
                            || ev == XMLStreamConstants.CDATA || ev == XMLStreamConstants.SPACE)) {
                        text.append(r.getText());
                    }
                }
                return out;
            } catch (XMLStreamException | RuntimeException e) {
                in.throwIfTripped();
                throw SheetException.malformed("shared strings " + entry.getName() + " are not valid XML", e);
            } finally {
                Xml.closeQuietly(r);
            }
        }
    }
}
