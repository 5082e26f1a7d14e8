package io.sluice.jobs;

/**
 * What a running handler may ask of its worker. Calls come from the handler's thread (or threads it owns).
 */
public interface JobContext {

    /** The job as claimed: its upload, pipeline, attempt (1-based) and time limit. */
    Job job();

    /**
     * Reports progress: {@code percent} 0..100, a short {@code stage} name and the estimated seconds left (both may
     * be null). Cheap to call often: writes are coalesced (a stage change is written at once, others at most a few
     * times a second). Never throws for a database problem; progress is advisory.
     */
    void progress(int percent, String stage, Long etaSeconds);

    /**
     * Throws {@link CancelledException} when the handler must stop: cancel requested, lease lost, time limit
     * passed, or the pool stopping. Handlers call it between units of work (every few rows, pages, chunks); it
     * does no I/O. Cancellation is cooperative: a handler that never checks stops only at its time limit.
     */
    void checkpoint();

    /** Whether a cancel was requested (as of the last heartbeat); {@link #checkpoint()} acts on it. */
    boolean cancelRequested();
}
