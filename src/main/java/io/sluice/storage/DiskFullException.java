package io.sluice.storage;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.time.Duration;
import java.util.Optional;

/**
 * The data disk has no room for a write: either the {@link DiskLedger} refused a reservation, or the filesystem
 * itself answered ENOSPC/EDQUOT (another process filled it). An {@link IOException}, so background writers (job
 * attempts, local copies) treat it as the retryable I/O failure it is; the HTTP layer answers it with
 * {@code 507 insufficient_storage} and {@code Retry-After}.
 *
 * <p>{@link #of(Throwable)} is the one place that recognises a full disk in an exception.
 */
public final class DiskFullException extends IOException {

    /** What Linux (and the JDK's message for ENOSPC and EDQUOT) says; other platforms use the same strerror text. */
    private static final String[] REASONS = {"No space left on device", "Disk quota exceeded"};

    private final Duration retryAfter;

    public DiskFullException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    private DiskFullException(String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.retryAfter = retryAfter;
    }

    /** When it is worth trying again: space may be freed by then (other writes finish, uploads are deleted). */
    public Duration retryAfter() {
        return retryAfter;
    }

    /**
     * The full-disk condition in {@code t} or its causes: a {@link DiskFullException} as it is, or an I/O failure
     * the filesystem reported as ENOSPC/EDQUOT, wrapped into one with {@code retryAfter}. Empty for anything else.
     */
    public static Optional<DiskFullException> of(Throwable t, Duration retryAfter) {
        int depth = 0;
        for (Throwable c = t; c != null && depth++ < 32; c = c.getCause()) {
            if (c instanceof DiskFullException full) {
                return Optional.of(full);
            }
            if (c instanceof IOException io && isNoSpace(io)) {
                return Optional.of(new DiskFullException("the data disk is full: " + io.getMessage(), retryAfter, io));
            }
        }
        return Optional.empty();
    }

    private static boolean isNoSpace(IOException e) {
        String text = e instanceof FileSystemException fs ? fs.getReason() : e.getMessage();
        if (text == null) {
            text = e.getMessage();
        }
        if (text == null) {
            return false;
        }
        for (String reason : REASONS) {
            if (text.contains(reason)) {
                return true;
            }
        }
        return false;
    }
}
