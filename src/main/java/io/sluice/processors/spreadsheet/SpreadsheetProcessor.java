package io.sluice.processors.spreadsheet;

import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;

import java.nio.file.Path;
import java.util.Map;

/**
 * {@code spreadsheet}: every row of an xlsx sheet (fastexcel-reader, streaming) or a csv file (FastCSV) to one
 * NDJSON object keyed by the header, and a summary (rows, columns, inferred type and empty cells per column,
 * errors with row numbers). At upload time only the header is checked against {@code requiredColumns}.
 *
 * <p>xlsx files are hostile input: before anything parses them, the archive's central directory, its declared and
 * its actual inflated sizes, the inflate ratio of every entry, the shared-strings table and the shape of every
 * row are checked against limits ({@link XlsxPackage}, {@link SheetReader}, {@link SharedStrings}), so that memory stays bounded by the
 * options, not by the file. Options: see {@link SpreadsheetOptions}.
 */
public final class SpreadsheetProcessor implements Processor {

    @Override
    public String name() {
        return "spreadsheet";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        return new SpreadsheetTask(SpreadsheetOptions.parse(options));
    }

    /** A configured processor; immutable, so shared by every job of the pipeline. */
    static final class SpreadsheetTask implements Task {
        private final SpreadsheetOptions options;

        SpreadsheetTask(SpreadsheetOptions options) {
            this.options = options;
        }

        SpreadsheetOptions options() {
            return options;
        }

        /**
         * Checks the header against {@code requiredColumns} reading only the start of the file, and refuses what
         * is certain to fail: 422 {@code missing_columns} (details {@code missing}, {@code found}), 422 for a
         * malformed workbook or one whose central directory declares a bomb, 415 {@code unsupported_format}.
         */
        @Override
        public void precheck(Path file, String contentType) throws Exception {
            try {
                switch (Format.of(contentType, null)) {
                    case XLSX -> XlsxHeaderCheck.precheck(file, options);
                    case CSV -> CsvTable.precheck(file, options);
                }
            } catch (SheetException e) {
                throw e.toApiException();
            }
        }

        @Override
        public Result run(ProcessorContext context) throws Exception {
            ProcessorContext.UploadInfo upload = context.upload();
            Format format = Format.of(upload.contentType(), upload.filename());
            return Result.of(switch (format) {
                case XLSX -> XlsxTable.run(context, options);
                case CSV -> CsvTable.run(context, options);
            });
        }
    }
}
