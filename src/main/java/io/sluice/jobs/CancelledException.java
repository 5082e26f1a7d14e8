package io.sluice.jobs;

/**
 * Thrown by {@link JobContext#checkpoint()} when the job must stop now: its cancel was requested, its lease was
 * lost to another worker, its time ran out, or the worker pool is stopping. A handler lets it propagate (cleaning
 * up in {@code finally}); the pool records the right outcome for the reason, whatever the handler does with it.
 */
public final class CancelledException extends RuntimeException {

    public CancelledException(String message) {
        super(message, null, false, false);
    }
}
