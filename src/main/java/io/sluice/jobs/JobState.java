package io.sluice.jobs;

import java.util.Locale;

/**
 * Where a job is in its life. The transitions, all made by {@link JobQueue}:
 * <pre>
 * queued    → running    claim (attempt + 1, lease taken)
 * queued    → cancelled  cancel
 * running   → succeeded  succeed (fenced)
 * running   → queued     fail with a retryable error and attempts left (run_at = now + backoff);
 *                        lease expired and rescued with attempts left; release (graceful stop)
 * running   → failed     fail when not retryable or attempts are exhausted; rescue with attempts exhausted
 * running   → cancelled  cancel requested, then the worker stops at a checkpoint (or fails, or its lease expires)
 * failed    → queued     retry
 * cancelled → queued     retry
 * </pre>
 * {@code succeeded}, {@code failed} and {@code cancelled} are finished: only they are pruned.
 */
public enum JobState {
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    /** The value stored in {@code jobs.state} and shown in the API. */
    public String dbValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean finished() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    public static JobState fromDb(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
