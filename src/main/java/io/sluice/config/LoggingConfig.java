package io.sluice.config;

/**
 * Logging settings.
 *
 * @param level  root level: TRACE, DEBUG, INFO, WARN, ERROR
 * @param json   console lines as JSON (Logback's JsonEncoder) instead of text
 * @param maxFileSize size at which the log file in {@code <dataDir>/logs} rolls
 * @param totalSizeCap cap on all rolled log files together
 */
public record LoggingConfig(String level, boolean json, long maxFileSize, long totalSizeCap) {
    public static final String DEFAULT_LEVEL = "INFO";
    public static final boolean DEFAULT_JSON = false;
    public static final long DEFAULT_MAX_FILE_SIZE = 50L * 1024 * 1024;
    public static final long DEFAULT_TOTAL_SIZE_CAP = 500L * 1024 * 1024;
}
