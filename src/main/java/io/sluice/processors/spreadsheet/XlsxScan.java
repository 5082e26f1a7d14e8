package io.sluice.processors.spreadsheet;

import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.dhatim.fastexcel.reader.CellAddress;

import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.IOException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One pass over every entry of an xlsx before fastexcel-reader parses anything: inflates each entry through a
 * {@link GuardedInputStream} (so the real inflated sizes are enforced, whatever the central directory says) and
 * parses the XML ones with the same parser fastexcel uses, lazily (no text is materialised), checking what would
 * make fastexcel's memory grow:
 * <ul>
 *   <li>a row's cells: fastexcel sizes a row's cell list by the highest column reference, so one cell
 *       {@code r="FXSHRXW1"} would allocate hundreds of millions of slots; references past column XFD, and more
 *       than 16,384 cells in a row, are refused;</li>
 *   <li>a row's bytes and a shared string's bytes (16 MiB), since fastexcel builds each value whole;</li>
 *   <li>element depth (the parser keeps a stack), shared-formula definitions (kept in a map for the whole sheet) and
 *       array formulas (searched for every numeric cell);</li>
 *   <li>the shared-strings table, kept in memory as far as cells reference it: its inflated bytes plus 32 bytes per
 *       string (about what a string costs on the heap beyond its characters), against
 *       {@code maxSharedStringsSize}.</li>
 * </ul>
 * Every entry is scanned, not only the ones the workbook points to, so a different reading of the package by
 * fastexcel cannot reach an unscanned part. An entry the parser rejects is only counted: fastexcel's identical
 * parser would stop at the same byte.
 */
final class XlsxScan {

    static final int MAX_DEPTH = 128;
    static final long MAX_ELEMENT_BYTES = 16L << 20;
    static final int MAX_SHARED_FORMULAS = 100_000;
    static final long MAX_ARRAY_FORMULA_WORK = 2_000_000_000L;
    /** Heap a Java string costs beyond its characters (object, array header, list slot), about. */
    static final int SHARED_STRING_OVERHEAD = 32;

    /**
     * What the scan saw in one entry.
     *
     * @param rows    outermost {@code <row>} elements
     * @param strings outermost {@code <si>} elements
     * @param root    the root element's local name, or null when the entry is not XML
     */
    record EntryStats(String name, long bytes, long rows, long strings, String root) {
    }

    private final XlsxPackage pkg;
    private final SpreadsheetOptions options;

    XlsxScan(XlsxPackage pkg, SpreadsheetOptions options) {
        this.pkg = pkg;
        this.options = options;
    }

    /** Scans every entry; call after {@link XlsxPackage#resolve()}. Keys are lower-case entry names. */
    Map<String, EntryStats> scanAll() throws IOException, SheetException {
        Map<String, EntryStats> out = new HashMap<>();
        for (ZipArchiveEntry e : pkg.entries()) {
            if (e.isDirectory()) {
                continue;
            }
            String lower = e.getName().toLowerCase(Locale.ROOT);
            boolean sst = pkg.sharedStringsEntries().contains(lower);
            try (GuardedInputStream in = pkg.open(e)) {
                if (sst) {
                    in.limit(options.maxSharedStringsSize(), () -> new GuardedInputStream.Tripped(
                            XlsxPackage.sharedStringsTooLarge(options.maxSharedStringsSize())));
                } else if (pkg.metadataEntries().contains(lower)) {
                    in.limit(XlsxPackage.MAX_METADATA_PART, () -> new GuardedInputStream.Tripped(
                            XlsxPackage.metadataTooLarge(e.getName())));
                }
                out.put(lower, scanEntry(in, e.getName(), sst));
            }
        }
        return out;
    }

    private EntryStats scanEntry(GuardedInputStream in, String name, boolean sst)
            throws IOException, SheetException {
        Counter c = new Counter();
        XMLStreamReader r = null;
        try {
            r = Xml.reader(in, name);
            walk(r, in, name, sst, c);
        } catch (XMLStreamException | RuntimeException e) {
            in.throwIfTripped();
            // Not XML, or broken XML: fastexcel's parser stops at the same byte. Count the rest.
            in.xml(false);
        } finally {
            Xml.closeQuietly(r);
        }
        in.drain();
        if (sst || "sst".equals(c.root)) {
            checkSharedStrings(in.position(), c.strings);
        }
        return new EntryStats(name, in.position(), c.rows, c.strings, c.root);
    }

    private static final class Counter {
        String root;
        long rows;
        long strings;
        long cells;
        long arrayFormulas;
        long sharedFormulas;
    }

    private void walk(XMLStreamReader r, GuardedInputStream in, String name, boolean sstByType, Counter c)
            throws XMLStreamException, SheetException {
        int depth = 0;
        boolean inRow = false;
        long rowStart = 0;
        int cellsInRow = 0;
        int trackedColumn = 0;
        boolean inString = false;
        long stringStart = 0;
        boolean sst = sstByType;
        while (r.hasNext()) {
            int ev = r.next();
            if (ev == XMLStreamConstants.START_ELEMENT) {
                if (++depth > MAX_DEPTH) {
                    throw new SheetException(SheetException.TOO_COMPLEX, "entry " + name + " nests elements more than "
                            + MAX_DEPTH + " deep", Map.of("entry", name, "limit", MAX_DEPTH));
                }
                String local = r.getLocalName();
                if (depth == 1) {
                    c.root = local;
                    sst = sst || "sst".equals(local);
                }
                switch (local) {
                    case "row" -> {
                        // fastexcel reads a row from its start to the first </row>, ignoring nested <row> starts.
                        if (!inRow) {
                            inRow = true;
                            rowStart = in.position();
                            cellsInRow = 0;
                            trackedColumn = 0;
                            c.rows++;
                        }
                    }
                    case "c" -> {
                        if (inRow) {
                            int column = column(r.getAttributeValue(null, "r"), trackedColumn);
                            trackedColumn = column + 1;
                            c.cells++;
                            if (++cellsInRow > SpreadsheetOptions.EXCEL_MAX_COLUMNS || column < 0
                                    || column >= SpreadsheetOptions.EXCEL_MAX_COLUMNS) {
                                throw new SheetException(SheetException.TOO_MANY_COLUMNS, "row " + c.rows + " of "
                                        + name + " has a cell beyond column XFD (" + SpreadsheetOptions.EXCEL_MAX_COLUMNS
                                        + " columns), Excel's limit", Map.of("entry", name,
                                        "limit", SpreadsheetOptions.EXCEL_MAX_COLUMNS));
                            }
                            checkArrayWork(c, name);
                        }
                    }
                    case "f" -> {
                        String type = r.getAttributeValue(null, "t");
                        if (r.getAttributeValue(null, "ref") != null) {
                            if ("shared".equals(type) && ++c.sharedFormulas > MAX_SHARED_FORMULAS) {
                                throw new SheetException(SheetException.TOO_COMPLEX, "entry " + name + " defines more"
                                        + " than " + MAX_SHARED_FORMULAS + " shared formulas",
                                        Map.of("entry", name, "limit", MAX_SHARED_FORMULAS));
                            }
                            if ("array".equals(type)) {
                                c.arrayFormulas++;
                                checkArrayWork(c, name);
                            }
                        }
                    }
                    case "si" -> {
                        if (!inString) {
                            inString = true;
                            stringStart = in.position();
                            c.strings++;
                            if (sst) {
                                checkSharedStrings(in.position(), c.strings);
                            }
                        }
                    }
                    default -> {
                    }
                }
            } else if (ev == XMLStreamConstants.END_ELEMENT) {
                depth--;
                String local = r.getLocalName();
                if (inRow && "row".equals(local)) {
                    inRow = false;
                    checkElementBytes(in.position() - rowStart, "row " + c.rows, name);
                } else if (inString && "si".equals(local)) {
                    inString = false;
                    checkElementBytes(in.position() - stringStart, "shared string " + c.strings, name);
                }
            }
        }
    }

    private void checkSharedStrings(long bytes, long strings) throws SheetException {
        long estimate = bytes + SHARED_STRING_OVERHEAD * strings;
        if (estimate > options.maxSharedStringsSize()) {
            throw new SheetException(SheetException.SHARED_STRINGS_TOO_LARGE, "the shared strings table needs about "
                    + Sizes.format(estimate) + " of memory (" + strings + " strings so far), more than "
                    + Sizes.format(options.maxSharedStringsSize()) + " (options.maxSharedStringsSize)",
                    Map.of("limit", options.maxSharedStringsSize()));
        }
    }

    /** The column fastexcel will give a cell: its reference's, else one past the previous cell's. */
    private static int column(String ref, int tracked) {
        if (ref == null) {
            return tracked;
        }
        try {
            return new CellAddress(ref).getColumn();
        } catch (RuntimeException e) {
            return tracked; // fastexcel fails on this cell; nothing past it is read
        }
    }

    private static void checkArrayWork(Counter c, String name) throws SheetException {
        if (c.arrayFormulas > 0 && c.arrayFormulas * c.cells > MAX_ARRAY_FORMULA_WORK) {
            throw new SheetException(SheetException.TOO_COMPLEX, "entry " + name + " has " + c.arrayFormulas
                    + " array formulas over more than " + c.cells + " cells; reading it would take too long",
                    Map.of("entry", name));
        }
    }

    private static void checkElementBytes(long bytes, String what, String name) throws SheetException {
        if (bytes > MAX_ELEMENT_BYTES) {
            throw new SheetException(SheetException.TOO_LARGE, what + " of " + name + " is larger than "
                    + (MAX_ELEMENT_BYTES >> 20) + " MiB", Map.of("entry", name, "limit", MAX_ELEMENT_BYTES));
        }
    }
}
