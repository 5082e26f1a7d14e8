package io.sluice.processors.spreadsheet;

import io.sluice.processors.ProcessorContext;

import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The workbook's shared-strings table, read once, before the sheet, through a {@link GuardedInputStream}. A table
 * whose strings fit in {@code sharedStringsCacheSize} (estimated heap) stays on the heap; a larger one is written,
 * in the same pass, to a file in the attempt's work directory (the strings' UTF-8 bytes, then one offset per string)
 * that is memory-mapped and read through an LRU cache of that size. So the heap bounds only the cache, and which
 * workbooks can be read is bounded by {@code maxSharedStringsSize} on disk, counted on the disk ledger
 * ({@link ProcessorContext#scratch()}). The file is removed by {@link #close()}, and with the work directory
 * whatever ends the attempt.
 *
 * <p>Values are what fastexcel-reader made of an {@code <si>}: all its text, {@code <rPh>} (phonetic runs) left
 * out. An index past the table is the empty string, as fastexcel's lazy reader gave; past the point where the XML
 * broke, the sheet is malformed.
 */
final class SharedStrings implements Closeable {

    /** Heap a string costs beyond its characters (object, array header, map entry), about. */
    static final int HEAP_OVERHEAD = 56;
    /** Bytes of UTF-8 buffered before the ledger is asked for more (it grows by 8 MiB steps). */
    private static final long REPORT_EVERY = 1L << 20;

    /** A workbook without a shared-strings part: fastexcel gave null for every index. */
    static final SharedStrings NONE = new SharedStrings(null, null);

    private final List<String> onHeap;
    private final Spill spill;
    private long count;
    private boolean broken;
    private String brokenReason;

    private SharedStrings(List<String> onHeap, Spill spill) {
        this.onHeap = onHeap;
        this.spill = spill;
    }

    /** Strings in the table. */
    long size() {
        return onHeap != null ? onHeap.size() : spill == null ? 0 : count;
    }

    /** Whether the table went to disk. */
    boolean spilled() {
        return spill != null;
    }

    /**
     * The string at {@code index}; null when the workbook has no table.
     *
     * @throws SheetException malformed for a negative index or one past where the table's XML broke
     */
    String get(int index) throws SheetException {
        if (onHeap == null && spill == null) {
            return null;
        }
        if (index < 0) {
            throw SheetException.malformed("the sheet cannot be read: shared string index " + index, null);
        }
        if (index >= size()) {
            if (broken) {
                throw SheetException.malformed("the sheet cannot be read: the shared strings table ends at string "
                        + size() + " (" + brokenReason + ")", null);
            }
            return "";
        }
        return onHeap != null ? onHeap.get(index) : spill.get(index);
    }

    @Override
    public void close() throws IOException {
        if (spill != null) {
            spill.close();
        }
    }

    /**
     * Reads the table of {@code entry} (an {@code sst} part, already guarded) to its end.
     *
     * @param workDir where a table larger than the cache goes
     */
    static <I extends InputStream & GuardedInput> SharedStrings read(I in, String entry, SpreadsheetOptions options,
                                                                     Path workDir,
                              ProcessorContext.Scratch scratch) throws IOException, SheetException {
        Builder b = new Builder(options, workDir, scratch);
        try {
            XMLStreamReader r = null;
            try {
                r = Xml.reader(in, entry);
                b.parse(r, in, entry);
            } catch (XMLStreamException | RuntimeException e) {
                in.throwIfTripped();
                b.broken(e.getMessage());
            } finally {
                Xml.closeQuietly(r);
            }
            return b.finish();
        } catch (IOException | SheetException | RuntimeException e) {
            b.abandon();
            throw e;
        }
    }

    /** One pass over the XML: strings to the heap list until they outgrow the cache, then to the file. */
    private static final class Builder {
        private final SpreadsheetOptions options;
        private final Path workDir;
        private final ProcessorContext.Scratch scratch;
        private List<String> heap = new ArrayList<>();
        private long heapBytes;
        private Writer writer;
        private long count;
        private boolean broken;
        private String brokenReason;
        private final StringBuilder text = new StringBuilder();

        Builder(SpreadsheetOptions options, Path workDir, ProcessorContext.Scratch scratch) {
            this.options = options;
            this.workDir = workDir;
            this.scratch = scratch;
        }

        void parse(XMLStreamReader r, GuardedInput in, String entry)
                throws XMLStreamException, SheetException, IOException {
            int depth = 0;
            // One refusal for every string (the one being read is count + 1), not a new one per string.
            Supplier<SheetException> tooLarge = () -> SheetReader.elementTooLarge("shared string " + (count + 1),
                    entry);
            while (r.hasNext()) {
                int ev = r.next();
                if (ev == XMLStreamConstants.START_ELEMENT) {
                    if (++depth > SheetReader.MAX_DEPTH) {
                        throw SheetReader.tooDeep(entry);
                    }
                    if ("si".equals(r.getLocalName())) {
                        long n = count + 1;
                        in.element(SheetReader.MAX_ELEMENT_BYTES, tooLarge);
                        checkLimit(in.position(), n);
                        add(si(r, entry));
                        in.endElement();
                        depth--; // si() consumed the matching end
                    }
                } else if (ev == XMLStreamConstants.END_ELEMENT) {
                    depth--;
                }
            }
            checkLimit(in.position(), count);
        }

        /** The text of one {@code <si>} up to its end, phonetic runs left out. */
        private String si(XMLStreamReader r, String entry) throws XMLStreamException, SheetException {
            text.setLength(0);
            int open = 1;
            int skipping = 0;
            int depth = 1;
            while (r.hasNext()) {
                int ev = r.next();
                switch (ev) {
                    case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE -> {
                        if (skipping == 0) {
                            text.append(r.getTextCharacters(), r.getTextStart(), r.getTextLength());
                        }
                    }
                    case XMLStreamConstants.START_ELEMENT -> {
                        if (++depth > SheetReader.MAX_DEPTH) {
                            throw SheetReader.tooDeep(entry);
                        }
                        if (skipping > 0 || "rPh".equals(r.getLocalName())) {
                            skipping++;
                        } else {
                            open++;
                        }
                    }
                    case XMLStreamConstants.END_ELEMENT -> {
                        depth--;
                        if (skipping > 0) {
                            skipping--;
                        } else if (--open == 0) {
                            return text.toString();
                        }
                    }
                    default -> {
                    }
                }
            }
            return text.toString();
        }

        private void checkLimit(long bytes, long strings) throws SheetException {
            long estimate = bytes + 32 * strings;
            if (estimate > options.maxSharedStringsSize()) {
                throw new SheetException(SheetException.SHARED_STRINGS_TOO_LARGE, "the shared strings table is larger"
                        + " than " + Sizes.format(options.maxSharedStringsSize()) + " (options.maxSharedStringsSize;"
                        + " about " + Sizes.format(estimate) + ", " + strings + " strings so far)",
                        Map.of("limit", options.maxSharedStringsSize()));
            }
        }

        private void add(String s) throws IOException {
            count++;
            if (writer == null) {
                heap.add(s);
                heapBytes += 2L * s.length() + HEAP_OVERHEAD;
                if (heapBytes <= options.sharedStringsCacheSize()) {
                    return;
                }
                writer = new Writer(workDir, scratch);
                for (String h : heap) {
                    writer.add(h);
                }
                heap = null;
                return;
            }
            writer.add(s);
        }

        void broken(String reason) {
            broken = true;
            brokenReason = reason;
        }

        SharedStrings finish() throws IOException {
            SharedStrings out = writer == null ? new SharedStrings(heap, null) : new SharedStrings(null,
                    writer.finish(options.sharedStringsCacheSize()));
            out.count = count;
            out.broken = broken;
            out.brokenReason = brokenReason;
            return out;
        }

        void abandon() {
            if (writer != null) {
                writer.abandon();
            }
        }
    }

    /** Writes the table file: UTF-8 strings, then {@code count + 1} offsets (longs) into them. */
    private static final class Writer {
        private final Path data;
        private final Path index;
        private final ProcessorContext.Scratch scratch;
        private final OutputStream dataOut;
        private final DataOutputStream indexOut;
        private long offset;
        private long reported;

        Writer(Path workDir, ProcessorContext.Scratch scratch) throws IOException {
            Files.createDirectories(workDir);
            this.scratch = scratch;
            this.data = Files.createTempFile(workDir, "shared-strings-", ".utf8");
            this.index = data.resolveSibling(data.getFileName().toString().replace(".utf8", ".idx"));
            this.dataOut = new BufferedOutputStream(Files.newOutputStream(data), 1 << 16);
            this.indexOut = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(index), 1 << 16));
        }

        void add(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            indexOut.writeLong(offset);
            dataOut.write(b);
            offset += b.length;
            long onDisk = offset + indexOut.size();
            if (onDisk - reported >= REPORT_EVERY) {
                scratch.wrote(onDisk);
                reported = onDisk;
            }
        }

        Spill finish(long cacheBytes) throws IOException {
            indexOut.writeLong(offset);
            dataOut.close();
            indexOut.close();
            scratch.wrote(Files.size(data) + Files.size(index));
            return new Spill(data, index, scratch, cacheBytes);
        }

        void abandon() {
            try {
                dataOut.close();
                indexOut.close();
            } catch (IOException e) {
                // removing them is what matters
            }
            Spill.delete(data, index);
            scratch.close();
        }
    }

    /** The mapped table file and its cache. Used from the job's thread only. */
    private static final class Spill implements Closeable {
        /** DataOutputStream writes big-endian. */
        private static final ValueLayout.OfLong OFFSET = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
        private final Path data;
        private final Path index;
        private final ProcessorContext.Scratch scratch;
        private final Arena arena = Arena.ofConfined();
        private final MemorySegment bytes;
        private final MemorySegment offsets;
        private final long cacheBytes;
        private final LinkedHashMap<Integer, String> cache = new LinkedHashMap<>(1024, 0.75f, true);
        private long cached;

        Spill(Path data, Path index, ProcessorContext.Scratch scratch, long cacheBytes) throws IOException {
            this.data = data;
            this.index = index;
            this.scratch = scratch;
            this.cacheBytes = cacheBytes;
            try (FileChannel d = FileChannel.open(data, StandardOpenOption.READ);
                 FileChannel i = FileChannel.open(index, StandardOpenOption.READ)) {
                this.bytes = d.map(FileChannel.MapMode.READ_ONLY, 0, d.size(), arena);
                this.offsets = i.map(FileChannel.MapMode.READ_ONLY, 0, i.size(), arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }

        String get(int i) {
            String s = cache.get(i);
            if (s != null) {
                return s;
            }
            long from = offsets.get(OFFSET, i * 8L);
            long to = offsets.get(OFFSET, i * 8L + 8);
            byte[] b = new byte[(int) (to - from)];
            MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, from, b, 0, b.length);
            s = new String(b, StandardCharsets.UTF_8);
            cache.put(i, s);
            cached += 2L * s.length() + HEAP_OVERHEAD;
            if (cached > cacheBytes) {
                Iterator<Map.Entry<Integer, String>> it = cache.entrySet().iterator();
                while (cached > cacheBytes && it.hasNext()) {
                    cached -= 2L * it.next().getValue().length() + HEAP_OVERHEAD;
                    it.remove();
                }
            }
            return s;
        }

        @Override
        public void close() {
            cache.clear();
            arena.close();
            delete(data, index);
            scratch.close();
        }

        static void delete(Path... files) {
            for (Path f : files) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    // the work directory goes with the attempt
                }
            }
        }
    }
}
