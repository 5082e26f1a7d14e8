package io.sluice.config;

import java.util.List;

/**
 * Per-request limits for direct uploads.
 *
 * @param allowedTypes MIME types or {@code type/*} wildcards accepted after detection from the bytes; empty
 *                     accepts every type
 * @param diskReserve  free bytes that must remain on the data disk after an upload; below it uploads answer 507
 */
public record LimitsConfig(
        long maxFileSize,
        int maxFilesPerRequest,
        long maxRequestSize,
        List<String> allowedTypes,
        long diskReserve) {

    public static final long DEFAULT_MAX_FILE_SIZE = 10L * 1024 * 1024 * 1024;        // 10 GiB
    public static final int DEFAULT_MAX_FILES_PER_REQUEST = 5;
    public static final long DEFAULT_MAX_REQUEST_SIZE = 50L * 1024 * 1024 * 1024;     // 5 x 10 GiB
    public static final long DEFAULT_DISK_RESERVE = 1024L * 1024 * 1024;              // 1 GiB

    public LimitsConfig {
        allowedTypes = List.copyOf(allowedTypes);
    }
}
