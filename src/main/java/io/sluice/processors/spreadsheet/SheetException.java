package io.sluice.processors.spreadsheet;

import io.sluice.api.ApiException;
import io.sluice.processors.ProcessorException;

import java.util.Map;

/**
 * A spreadsheet the processor refuses, with a stable code and details (the limit crossed, the missing columns).
 * Never retryable: the same bytes fail the same way. {@link #toApiException()} is the upload-time form (422).
 */
final class SheetException extends ProcessorException {

    static final String UNSUPPORTED_FORMAT = "unsupported_format";
    static final String MALFORMED_FILE = "malformed_file";
    static final String ZIP_BOMB = "zip_bomb";
    static final String TOO_LARGE = "too_large";
    static final String TOO_MANY_ROWS = "too_many_rows";
    static final String TOO_MANY_COLUMNS = "too_many_columns";
    static final String SHARED_STRINGS_TOO_LARGE = "shared_strings_too_large";
    static final String TOO_COMPLEX = "too_complex";
    static final String MISSING_COLUMNS = "missing_columns";
    static final String NO_HEADER = "no_header";
    static final String SHEET_NOT_FOUND = "sheet_not_found";

    private final transient Map<String, Object> details;

    SheetException(String code, String message) {
        this(code, message, Map.of(), null);
    }

    SheetException(String code, String message, Map<String, Object> details) {
        this(code, message, details, null);
    }

    SheetException(String code, String message, Map<String, Object> details, Throwable cause) {
        super(code, message, false, cause);
        this.details = Map.copyOf(details);
    }

    static SheetException malformed(String message, Throwable cause) {
        return new SheetException(MALFORMED_FILE, message, Map.of(), cause);
    }

    Map<String, Object> details() {
        return details;
    }

    /** The refusal as an upload-time answer: 415 for a format we do not read, 422 for everything else. */
    ApiException toApiException() {
        int status = UNSUPPORTED_FORMAT.equals(code()) ? 415 : 422;
        return new ApiException(status, code(), getMessage(), details, null);
    }
}
