package io.sluice.processors.spreadsheet;

import de.siegmar.fastcsv.reader.CsvCallbackHandler;
import de.siegmar.fastcsv.reader.CsvReader;
import de.siegmar.fastcsv.reader.RecordType;
import io.sluice.processors.ProcessorContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a csv file with FastCSV into a {@link TableWriter}. The encoding comes from a byte-order mark if there is
 * one (UTF-8, UTF-16, UTF-32), else from {@code options.encoding}; the separator from {@code options.csvSeparator},
 * else from the header line (the most frequent of {@code ,} {@code ;} and tab outside quotes). Values are strings;
 * the summary infers column types from their text. Progress is bytes read over the file's size.
 */
final class CsvTable {

    /** Longest field, and longest record, in characters: FastCSV's buffer is bounded by it. */
    static final int MAX_FIELD_CHARS = 4 << 20;
    static final long MAX_RECORD_CHARS = 16L << 20;
    /** Bytes the separator sniffing looks at. */
    static final int SNIFF_BYTES = 64 * 1024;
    /** Most bytes a precheck reads looking for the header. */
    static final long PRECHECK_BUDGET = 8L << 20;

    private CsvTable() {
    }

    static Map<String, Object> run(ProcessorContext ctx, SpreadsheetOptions options) throws Exception {
        Path file = ctx.file();
        long size = Math.max(1, Files.size(file));
        Encoding enc = Encoding.of(file, options.encoding());
        char separator = separator(file, enc, options);
        ctx.progress(0, TableWriter.STAGE, null);
        ctx.checkpoint();
        try (CountingInputStream in = new CountingInputStream(Files.newInputStream(file), Long.MAX_VALUE)) {
            TableWriter out = new TableWriter(ctx, options, true, () -> (double) in.position() / size);
            Iterator<Cells> records = open(in, enc, separator, options).iterator();
            Cells r;
            while ((r = next(records)) != null) {
                if (!out.hasHeader()) {
                    if (r.line >= options.headerRow() && !r.isBlank()) {
                        out.header(r.line, Arrays.asList(r.fields));
                    }
                    continue;
                }
                out.row(r.line, Arrays.asList(r.fields));
            }
            if (!out.hasHeader()) {
                throw new SheetException(SheetException.NO_HEADER, "the file has no non-empty line at or after line "
                        + options.headerRow() + " (options.headerRow)");
            }
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("format", "csv");
            extra.put("encoding", enc.charset.name());
            extra.put("separator", String.valueOf(separator));
            return out.finish(extra);
        }
    }

    /**
     * Reads at most {@link #PRECHECK_BUDGET} bytes looking for the header and checks the required columns.
     * Returns quietly when the header is not within the budget: the job decides then.
     */
    static void precheck(Path file, SpreadsheetOptions options) throws IOException, SheetException {
        Encoding enc = Encoding.of(file, options.encoding());
        char separator = separator(file, enc, options);
        try (CountingInputStream in = new CountingInputStream(Files.newInputStream(file), PRECHECK_BUDGET)) {
            Iterator<Cells> records = open(in, enc, separator, options).iterator();
            Cells r;
            while ((r = next(records)) != null) {
                if (r.line >= options.headerRow() && !r.isBlank()) {
                    Header h = Header.of(Arrays.asList(r.fields));
                    if (h.width() > options.maxColumns()) {
                        throw TableWriter.tooManyColumns(r.line, h.width(), options.maxColumns());
                    }
                    h.requireColumns(options.requiredColumns());
                    return;
                }
            }
            throw new SheetException(SheetException.NO_HEADER, "the file has no non-empty line at or after line "
                    + options.headerRow() + " (options.headerRow)");
        } catch (CountingInputStream.BudgetExhausted e) {
            // undecided within the budget: the job reads the whole file
        }
    }

    private static CsvReader<Cells> open(CountingInputStream in, Encoding enc, char separator,
                                         SpreadsheetOptions options) throws IOException {
        in.skipNBytes(enc.bomLength);
        return CsvReader.builder()
                .fieldSeparator(separator)
                .skipEmptyLines(true)
                .allowUnclosedQuote(false)
                .extraFieldStrategy(de.siegmar.fastcsv.reader.FieldMismatchStrategy.IGNORE)
                .missingFieldStrategy(de.siegmar.fastcsv.reader.FieldMismatchStrategy.IGNORE)
                .maxBufferSize(MAX_FIELD_CHARS)
                .build(new CellsHandler(options.maxColumns()), new InputStreamReader(in, enc.charset));
    }

    /** The next record or null; FastCSV's failures become ours. */
    private static Cells next(Iterator<Cells> records) throws IOException, SheetException {
        try {
            return records.hasNext() ? records.next() : null;
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (RuntimeException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof Refusal r) {
                    throw r.refusal;
                }
                if (t instanceof IOException io) {
                    throw io;
                }
            }
            throw SheetException.malformed("the csv cannot be read: " + e.getMessage(), e);
        }
    }

    private static char separator(Path file, Encoding enc, SpreadsheetOptions options) throws IOException {
        if (options.csvSeparator() != null) {
            return options.csvSeparator();
        }
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(SNIFF_BYTES);
        }
        String text = new String(head, enc.bomLength, head.length - enc.bomLength, enc.charset);
        return sniff(text, options.headerRow());
    }

    /**
     * The most frequent of comma, semicolon and tab outside quotes on the header line (the first non-blank line
     * at or after {@code headerRow}); comma when none occurs.
     */
    static char sniff(String text, int headerRow) {
        String[] lines = text.split("\r\n|\n|\r", -1);
        String line = lines.length == 0 ? "" : lines[0];
        for (int i = Math.min(headerRow - 1, lines.length - 1); i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                line = lines[i];
                break;
            }
        }
        char[] candidates = {',', ';', '\t'};
        int[] counts = new int[candidates.length];
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted) {
                for (int k = 0; k < candidates.length; k++) {
                    if (c == candidates[k]) {
                        counts[k]++;
                    }
                }
            }
        }
        int best = 0;
        for (int k = 1; k < candidates.length; k++) {
            if (counts[k] > counts[best]) {
                best = k;
            }
        }
        return candidates[best];
    }

    /** The character set and the length of the byte-order mark that announced it (0 when none). */
    record Encoding(Charset charset, int bomLength) {

        static Encoding of(Path file, Charset dflt) throws IOException {
            byte[] b;
            try (InputStream in = Files.newInputStream(file)) {
                b = in.readNBytes(4);
            }
            if (starts(b, 0xEF, 0xBB, 0xBF)) {
                return new Encoding(StandardCharsets.UTF_8, 3);
            }
            if (starts(b, 0x00, 0x00, 0xFE, 0xFF)) {
                return new Encoding(Charset.forName("UTF-32BE"), 4);
            }
            if (starts(b, 0xFF, 0xFE, 0x00, 0x00)) {
                return new Encoding(Charset.forName("UTF-32LE"), 4);
            }
            if (starts(b, 0xFE, 0xFF)) {
                return new Encoding(StandardCharsets.UTF_16BE, 2);
            }
            if (starts(b, 0xFF, 0xFE)) {
                return new Encoding(StandardCharsets.UTF_16LE, 2);
            }
            return new Encoding(dflt, 0);
        }

        private static boolean starts(byte[] b, int... prefix) {
            if (b.length < prefix.length) {
                return false;
            }
            for (int i = 0; i < prefix.length; i++) {
                if ((b[i] & 0xFF) != prefix[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** One csv record: the line it starts on and its fields. */
    private record Cells(long line, String[] fields) {
        boolean isBlank() {
            for (String f : fields) {
                if (!Header.isBlank(f)) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Carries a {@link SheetException} out through FastCSV, which wraps what handlers throw. */
    private static final class Refusal extends RuntimeException {
        final transient SheetException refusal;

        Refusal(SheetException refusal) {
            super(refusal.getMessage(), null, false, false);
            this.refusal = refusal;
        }
    }

    /** Builds {@link Cells}, refusing records wider than {@code maxColumns} or longer than the record limit. */
    private static final class CellsHandler extends CsvCallbackHandler<Cells> {
        private final int maxColumns;
        private String[] fields = new String[32];
        private int count;
        private long chars;
        private long line;
        private RecordType type = RecordType.DATA;

        CellsHandler(int maxColumns) {
            this.maxColumns = maxColumns;
        }

        @Override
        protected RecordType getRecordType() {
            return type;
        }

        @Override
        protected int getFieldCount() {
            return count;
        }

        @Override
        protected void beginRecord(long startingLineNumber) {
            line = startingLineNumber;
            count = 0;
            chars = 0;
            type = RecordType.DATA;
        }

        @Override
        protected void addField(char[] buf, int offset, int len, boolean quoted) {
            if (count == maxColumns) {
                throw new Refusal(TableWriter.tooManyColumns(line, count + 1, maxColumns));
            }
            chars += len;
            if (chars > MAX_RECORD_CHARS) {
                throw new Refusal(new SheetException(SheetException.TOO_LARGE, "the record at line " + line
                        + " is longer than " + MAX_RECORD_CHARS + " characters", Map.of("line", line)));
            }
            if (count == fields.length) {
                fields = Arrays.copyOf(fields, Math.min(maxColumns, fields.length * 2));
            }
            fields[count++] = len == 0 ? "" : new String(buf, offset, len);
        }

        @Override
        protected void setComment(char[] buf, int offset, int len) {
            type = RecordType.COMMENT; // comments are not enabled; kept for the contract
        }

        @Override
        protected void setEmpty() {
            type = RecordType.EMPTY;
            count = 0;
        }

        @Override
        protected Cells buildRecord() {
            return new Cells(line, Arrays.copyOf(fields, count));
        }
    }
}
