package io.sluice.processors.spreadsheet;

import java.util.Locale;
import java.util.Map;

/** The formats the processor reads, decided by the detected content type and, for ambiguous types, the name. */
enum Format {
    XLSX, CSV;

    static final String XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    /**
     * @param contentType the detected type (parameters ignored)
     * @param filename    the upload's name, or null when unknown (precheck)
     * @throws SheetException {@code unsupported_format}
     */
    static Format of(String contentType, String filename) throws SheetException {
        String type = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        String name = filename == null ? null : filename.toLowerCase(Locale.ROOT);
        switch (type) {
            case XLSX_TYPE -> {
                return XLSX;
            }
            case "text/csv", "application/csv", "text/x-csv", "text/tab-separated-values" -> {
                return CSV;
            }
            case "text/plain" -> {
                // Without a name (the upload-time check), a text file sent to a spreadsheet pipeline is read as csv.
                if (name == null || name.endsWith(".csv") || name.endsWith(".tsv")) {
                    return CSV;
                }
            }
            case "application/zip", "application/x-zip-compressed" -> {
                // Some writers produce workbooks Tika sees only as zip; the name must say xlsx.
                if (name == null || name.endsWith(".xlsx")) {
                    return XLSX;
                }
            }
            default -> {
            }
        }
        throw new SheetException(SheetException.UNSUPPORTED_FORMAT, "the spreadsheet processor reads xlsx and csv,"
                + " not " + (type.isEmpty() ? "files of unknown type" : type)
                + (filename == null ? "" : " (" + filename + ")"), Map.of("contentType", type));
    }
}
