package io.sluice.processors.spreadsheet;

import org.apache.commons.compress.archivers.zip.UnsupportedZipFeatureException;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An xlsx opened for checking: its zip (commons-compress, as fastexcel-reader opens it), the checks on what the
 * central directory declares, and the parts fastexcel-reader will read, found the way it finds them
 * ({@code [Content_Types].xml} overrides, the workbook's relationships, its {@code <sheet>} list).
 *
 * <p>Opening walks the central directory first ({@link ZipDirectory}) and refuses an archive before commons-compress
 * builds its entries. Every part read here goes through a {@link GuardedInputStream} with a 16 MiB limit: these are
 * small in any real workbook.
 */
final class XlsxPackage implements Closeable {

    static final String WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
    static final String MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml";
    static final String SHARED_STRINGS_TYPE =
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml";
    static final String STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml";
    static final String RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    static final String CONTENT_TYPES = "[Content_Types].xml";
    /** Limit on each part fastexcel-reader loads whole into collections (content types, workbook, rels, styles). */
    static final long MAX_METADATA_PART = 16L << 20;

    private static final Pattern FILENAME = Pattern.compile("^(.*/)([^/]+)$");

    /** A sheet as the workbook lists it, with the zip entry its relationship points to (null if none). */
    record SheetRef(int index, String name, String relationshipId, String entry) {
    }

    /**
     * Cell formats as fastexcel-reader read them from the styles part: the {@code numFmtId} of every
     * {@code <cellXfs>} entry (a cell's {@code s} indexes it) and the custom format codes by id.
     */
    record Formats(List<String> ids, Map<String, String> codes) {
        static final Formats NONE = new Formats(List.of(), Map.of());
    }

    private final ZipFile zip;
    private final SpreadsheetOptions options;
    private final InflateBudget budget;
    private final Runnable tick;
    private final Map<String, ZipArchiveEntry> byLowerName = new HashMap<>();
    private Set<String> sharedStringsEntries = Set.of();
    private Set<String> metadataEntries = Set.of();
    private List<SheetRef> sheets = List.of();

    private XlsxPackage(ZipFile zip, SpreadsheetOptions options, InflateBudget budget, Runnable tick) {
        this.zip = zip;
        this.options = options;
        this.budget = budget;
        this.tick = tick;
    }

    /**
     * Opens the archive and checks what its central directory declares: entry count, duplicate names, each entry's
     * inflate ratio, the total size.
     */
    static XlsxPackage open(Path file, SpreadsheetOptions options, InflateBudget budget, Runnable tick)
            throws IOException, SheetException {
        ZipDirectory.walk(file);
        ZipFile zip;
        try {
            zip = ZipFile.builder().setPath(file).get();
        } catch (IOException e) {
            throw SheetException.malformed("not an xlsx workbook: " + e.getMessage(), e);
        }
        XlsxPackage pkg = new XlsxPackage(zip, options, budget, tick);
        try {
            pkg.checkDeclared();
            return pkg;
        } catch (SheetException | RuntimeException e) {
            pkg.close();
            throw e;
        }
    }

    private void checkDeclared() throws SheetException {
        long total = 0;
        for (ZipArchiveEntry e : Collections.list(zip.getEntries())) {
            String lower = e.getName().toLowerCase(Locale.ROOT);
            if (byLowerName.putIfAbsent(lower, e) != null) {
                throw SheetException.malformed("the archive has two entries named " + e.getName()
                        + " (names must differ beyond case)", null);
            }
            long size = e.getSize();
            if (size < 0) {
                continue;
            }
            if (size > GuardedInputStream.RATIO_GRACE_BYTES
                    && size > options.maxInflateRatio() * Math.max(e.getCompressedSize(), 1)) {
                throw GuardedInputStream.ratioExceeded(e.getName(), options.maxInflateRatio());
            }
            total += size;
            if (total > options.maxUncompressedSize()) {
                throw InflateBudget.tooLarge(options.maxUncompressedSize());
            }
        }
    }

    /** The entries in the order their data sits in the file. */
    Iterable<ZipArchiveEntry> entries() {
        return Collections.list(zip.getEntriesInPhysicalOrder());
    }

    /** The entry fastexcel-reader would read for a part name: exact name, else the same name in another case. */
    ZipArchiveEntry entry(String partName) {
        String name = partName.startsWith("/") ? partName.substring(1) : partName;
        ZipArchiveEntry e = zip.getEntry(name);
        return e != null ? e : byLowerName.get(name.toLowerCase(Locale.ROOT));
    }

    /** A guarded stream over an entry's inflated bytes, with the tag check on. */
    GuardedInputStream open(ZipArchiveEntry e) throws IOException, SheetException {
        try {
            return new GuardedInputStream(zip.getInputStream(e), e.getName(), e.getSize(), e.getCompressedSize(),
                    options.maxInflateRatio(), budget, tick).xml(true);
        } catch (UnsupportedZipFeatureException ex) {
            throw SheetException.malformed("entry " + e.getName() + " cannot be read: " + ex.getMessage(), ex);
        }
    }

    /**
     * Finds the parts: content types, workbook, its relationships and sheets, shared strings. Checks the declared
     * size of the shared strings and of the parts fastexcel-reader loads whole.
     */
    void resolve() throws IOException, SheetException {
        ContentTypes types = readContentTypes();
        String workbookEntry = strip(types.workbook);
        Matcher m = FILENAME.matcher(types.workbook);
        if (!m.matches()) {
            throw SheetException.malformed("not an xlsx workbook: workbook part name " + types.workbook
                    + " has no folder", null);
        }
        String relsName = m.replaceFirst("$1_rels/$2.rels");
        String folder = relsName.substring(0, relsName.indexOf("_rel"));
        Map<String, String> targets = readRelationships(relsName, folder);
        sheets = readSheets(workbookEntry, targets);

        Set<String> meta = new HashSet<>();
        meta.add(CONTENT_TYPES.toLowerCase(Locale.ROOT));
        meta.add(strip(relsName).toLowerCase(Locale.ROOT));
        for (String p : types.workbooks) {
            meta.add(strip(p).toLowerCase(Locale.ROOT));
        }
        for (String p : types.styles) {
            meta.add(strip(p).toLowerCase(Locale.ROOT));
        }
        metadataEntries = Set.copyOf(meta);
        Set<String> sst = new HashSet<>();
        for (String p : types.sharedStringsParts) {
            sst.add(strip(p).toLowerCase(Locale.ROOT));
        }
        sharedStringsEntries = Set.copyOf(sst);
        for (String name : sharedStringsEntries) {
            ZipArchiveEntry e = byLowerName.get(name);
            if (e != null && e.getSize() > options.maxSharedStringsSize()) {
                throw sharedStringsTooLarge(options.maxSharedStringsSize());
            }
        }
        for (String name : metadataEntries) {
            ZipArchiveEntry e = byLowerName.get(name);
            if (e != null && e.getSize() > MAX_METADATA_PART) {
                throw metadataTooLarge(e.getName());
            }
        }
    }

    /** Lower-case entry names of every part the content types declare as shared strings. */
    Set<String> sharedStringsEntries() {
        return sharedStringsEntries;
    }

    /** Lower-case entry names of the parts fastexcel-reader loads whole (content types, workbook, rels, styles). */
    Set<String> metadataEntries() {
        return metadataEntries;
    }

    /** {@code options.maxSharedStringsSize}. */
    long sharedStringsLimit() {
        return options.maxSharedStringsSize();
    }

    /** The entry fastexcel-reader reads the shared strings from, or null. */
    String sharedStringsEntry() {
        return sharedStringsEntry;
    }

    private String sharedStringsEntry;
    private String stylesPart;
    private boolean hasStyles;
    private boolean date1904;

    /** Whether the workbook counts dates from 1904 (old Mac Excel) rather than 1900. */
    boolean date1904() {
        return date1904;
    }

    /** The styles part's cell formats, or none when the workbook has no styles part ({@link #hasStyles()}). */
    Formats readFormats() throws IOException, SheetException {
        if (!hasStyles) {
            return Formats.NONE;
        }
        return readPart(stylesPart, r -> {
            List<String> ids = new ArrayList<>();
            Map<String, String> codes = new HashMap<>();
            boolean inCellXfs = false;
            while (r.hasNext()) {
                int ev = r.next();
                if (ev == XMLStreamConstants.START_ELEMENT) {
                    String local = r.getLocalName();
                    if ("numFmt".equals(local)) {
                        String id = r.getAttributeValue(null, "numFmtId");
                        String code = r.getAttributeValue(null, "formatCode");
                        if (id == null || code == null) {
                            throw SheetException.malformed("the workbook cannot be read: a numFmt in " + stylesPart
                                    + " lacks numFmtId or formatCode", null);
                        }
                        codes.put(id, code);
                    } else if ("cellXfs".equals(local)) {
                        inCellXfs = true;
                    } else if (inCellXfs && "xf".equals(local)) {
                        ids.add(r.getAttributeValue(null, "numFmtId"));
                    }
                } else if (ev == XMLStreamConstants.END_ELEMENT && "cellXfs".equals(r.getLocalName())) {
                    inCellXfs = false;
                }
            }
            return new Formats(Collections.unmodifiableList(ids), Map.copyOf(codes));
        });
    }

    /**
     * Whether fastexcel-reader can read cell formats (which tell dates from numbers): it fails on a workbook without
     * a styles part when asked to.
     */
    boolean hasStyles() {
        return hasStyles;
    }

    List<SheetRef> sheets() {
        return sheets;
    }

    /**
     * The sheet the options ask for: a name (exact, else ignoring case), a 1-based index, or the first.
     *
     * @throws SheetException {@code sheet_not_found} listing the sheets there are
     */
    SheetRef select(String wanted) throws SheetException {
        if (sheets.isEmpty()) {
            throw new SheetException(SheetException.SHEET_NOT_FOUND, "the workbook has no sheets");
        }
        if (wanted == null) {
            return sheets.getFirst();
        }
        for (SheetRef s : sheets) {
            if (wanted.equals(s.name())) {
                return s;
            }
        }
        for (SheetRef s : sheets) {
            if (wanted.equalsIgnoreCase(s.name())) {
                return s;
            }
        }
        if (wanted.matches("\\d{1,9}")) {
            int index = Integer.parseInt(wanted);
            if (index >= 1 && index <= sheets.size()) {
                return sheets.get(index - 1);
            }
        }
        List<String> names = sheets.stream().map(SheetRef::name).toList();
        throw new SheetException(SheetException.SHEET_NOT_FOUND, "no sheet '" + wanted + "' (options.sheet); the"
                + " workbook has " + names, Map.of("sheet", wanted, "sheets", names));
    }

    static SheetException sharedStringsTooLarge(long limit) {
        return new SheetException(SheetException.SHARED_STRINGS_TOO_LARGE, "the shared strings table is larger than "
                + Sizes.format(limit) + " (options.maxSharedStringsSize)", Map.of("limit", limit));
    }

    static SheetException metadataTooLarge(String entry) {
        return new SheetException(SheetException.ZIP_BOMB, "part " + entry + " is larger than "
                + (MAX_METADATA_PART >> 20) + " MiB; it is a few KiB in any real workbook",
                Map.of("entry", entry, "limit", MAX_METADATA_PART));
    }

    private static String strip(String partName) {
        return partName.startsWith("/") ? partName.substring(1) : partName;
    }

    /** What {@code [Content_Types].xml} declares; the first three are what fastexcel-reader ends up using. */
    private static final class ContentTypes {
        String workbook;
        String sharedStrings;
        String style;
        final Set<String> workbooks = new LinkedHashSet<>();
        final Set<String> sharedStringsParts = new LinkedHashSet<>();
        final Set<String> styles = new LinkedHashSet<>();
    }

    private ContentTypes readContentTypes() throws IOException, SheetException {
        ContentTypes t = readPart(CONTENT_TYPES, r -> {
            ContentTypes c = new ContentTypes();
            boolean fastexcelDone = false;
            while (r.hasNext()) {
                if (r.next() != XMLStreamConstants.START_ELEMENT || !"Override".equals(r.getLocalName())) {
                    continue;
                }
                String type = r.getAttributeValue(null, "ContentType");
                String name = r.getAttributeValue(null, "PartName");
                if (type == null || name == null) {
                    throw SheetException.malformed("not an xlsx workbook: an Override in " + CONTENT_TYPES
                            + " lacks ContentType or PartName", null);
                }
                // fastexcel-reader keeps the last of each until it has all three; every candidate is checked.
                switch (type) {
                    case WORKBOOK_TYPE, MACRO_WORKBOOK_TYPE -> {
                        c.workbooks.add(name);
                        if (!fastexcelDone) {
                            c.workbook = name;
                        }
                    }
                    case SHARED_STRINGS_TYPE -> {
                        c.sharedStringsParts.add(name);
                        if (!fastexcelDone) {
                            c.sharedStrings = name;
                        }
                    }
                    case STYLES_TYPE -> {
                        c.styles.add(name);
                        if (!fastexcelDone) {
                            c.style = name;
                        }
                    }
                    default -> {
                    }
                }
                fastexcelDone = fastexcelDone || c.workbook != null && c.sharedStrings != null && c.style != null;
            }
            return c;
        });
        if (t.workbook == null) {
            t.workbook = "/xl/workbook.xml";
        }
        t.workbooks.add(t.workbook);
        sharedStringsEntry = t.sharedStrings == null ? null : strip(t.sharedStrings);
        hasStyles = t.style != null && entry(t.style) != null;
        stylesPart = t.style;
        return t;
    }

    private Map<String, String> readRelationships(String relsName, String folder) throws IOException, SheetException {
        return readPart(relsName, r -> {
            Map<String, String> targets = new HashMap<>();
            while (r.hasNext()) {
                if (r.next() == XMLStreamConstants.START_ELEMENT && "Relationship".equals(r.getLocalName())) {
                    String id = r.getAttributeValue(null, "Id");
                    String target = r.getAttributeValue(null, "Target");
                    if (target == null) {
                        throw SheetException.malformed("not an xlsx workbook: a relationship in " + relsName
                                + " has no Target", null);
                    }
                    targets.put(id, target.startsWith("/") ? target : folder + target);
                }
            }
            return targets;
        });
    }

    private List<SheetRef> readSheets(String workbookEntry, Map<String, String> targets)
            throws IOException, SheetException {
        return readPart(workbookEntry, r -> {
            List<SheetRef> out = new ArrayList<>();
            boolean inSheets = false;
            while (r.hasNext()) {
                int ev = r.next();
                if (ev == XMLStreamConstants.START_ELEMENT && "sheets".equals(r.getLocalName())) {
                    inSheets = true;
                } else if (ev == XMLStreamConstants.END_ELEMENT && "sheets".equals(r.getLocalName())) {
                    inSheets = false;
                } else if (ev == XMLStreamConstants.START_ELEMENT && "workbookPr".equals(r.getLocalName())) {
                    String d = r.getAttributeValue(null, "date1904");
                    date1904 = d != null && ("1".equals(d) || "true".equalsIgnoreCase(d));
                } else if (inSheets && ev == XMLStreamConstants.START_ELEMENT && "sheet".equals(r.getLocalName())) {
                    String id = r.getAttributeValue(RELATIONSHIPS_NS, "id");
                    String target = targets.get(id);
                    out.add(new SheetRef(out.size(), r.getAttributeValue(null, "name"), id,
                            target == null ? null : strip(target)));
                }
            }
            return out;
        });
    }

    /** Reads one small part as XML. */
    @FunctionalInterface
    private interface PartReader<T> {
        T read(XMLStreamReader r) throws XMLStreamException, SheetException;
    }

    private <T> T readPart(String partName, PartReader<T> reader) throws IOException, SheetException {
        ZipArchiveEntry e = entry(partName);
        if (e == null) {
            throw SheetException.malformed("not an xlsx workbook: it has no " + strip(partName), null);
        }
        try (GuardedInputStream in = open(e).limit(MAX_METADATA_PART,
                () -> new GuardedInputStream.Tripped(metadataTooLarge(e.getName())))) {
            XMLStreamReader r = null;
            try {
                r = Xml.reader(in, e.getName());
                return reader.read(r);
            } catch (XMLStreamException | RuntimeException ex) {
                in.throwIfTripped();
                throw SheetException.malformed("not an xlsx workbook: " + e.getName() + " is not valid XML", ex);
            } finally {
                Xml.closeQuietly(r);
            }
        }
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }
}
