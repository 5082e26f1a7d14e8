package io.sluice.jobs;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The durable job queue: at-least-once delivery with leases and fencing (invariant 6, docs/architecture.md).
 *
 * <p><b>Time.</b> Every time the queue writes or compares (run_at, lease expiry, created/finished) comes from the
 * database clock, so workers on machines with skewed clocks agree on when a lease has expired.
 *
 * <p><b>Leases.</b> {@link #claim} hands out a job with {@code attempt} incremented and a lease until
 * {@code now + leaseDuration}; the holder renews it with {@link #heartbeat}. A lease that is not renewed expires
 * and {@link #rescueExpired} gives the job to another worker; the attempt it was running counts as used.
 *
 * <p><b>Fencing.</b> Every write that takes a {@link Lease} is applied only {@code WHERE id = ? AND lease_owner = ?
 * AND attempt = ? AND state = 'running'}; when that no longer holds, it changes nothing and returns
 * false / empty ("fenced out"). {@code attempt} is never lowered, so a stale holder can never write again, and
 * the worker that finishes a superseded attempt cannot overwrite the result of the attempt that replaced it.
 * Worker ids must be unique per claiming process lifetime.
 *
 * <p><b>Cancel.</b> A queued job is cancelled at once. A running job gets {@code cancel_requested}; its worker
 * sees it on the next heartbeat, stops at its next checkpoint and reports {@link #cancelled}. A running job whose
 * cancel was requested never goes back to the queue: failing it or rescuing it also makes it cancelled.
 *
 * <p>Methods other than {@link #enqueue} run in their own transaction and have committed when they return.
 */
public interface JobQueue {

    /**
     * Inserts a queued job inside the caller's transaction {@code tx}, so it commits (or rolls back) with the upload
     * record it belongs to. Idempotent on {@link NewJob#idempotencyKey()}: when a job with that key exists, in any
     * state, nothing is inserted and that job is returned unchanged (use {@link #retry} to run a finished one
     * again). Wakes this process's idle workers; one woken before {@code tx} commits finds the job once it has.
     */
    Job enqueue(Connection tx, NewJob job) throws SQLException;

    /**
     * Leases up to {@code max} queued jobs of {@code pipelines} whose run_at has come, oldest run_at first: each is
     * returned running, with attempt incremented, lease_owner {@code workerId}, a lease until now + leaseDuration,
     * progress reset to 0. A job is never handed to two claims for the same attempt.
     */
    List<Job> claim(String workerId, int max, Set<String> pipelines) throws SQLException;

    /**
     * Records {@code successes} and claims up to {@code max} jobs in ONE transaction, for a worker pool whose
     * finished jobs free the slots it claims for: one commit (and on PostgreSQL, for one pipeline, one statement) per
     * round instead of one per outcome batch plus one per claim. The claims go pipeline by pipeline in the iteration
     * order of {@code pipelines}, each as {@link #claim} of up to its own limit (the map's value) and of what is left
     * of {@code max}. Each success is fenced exactly
     * as {@link #succeed}: one whose lease was lost is refused and left out of {@link Round#succeeded()}, and the
     * claim still happens. {@code alsoWrite} runs inside the same transaction with the jobs that succeeded, as they
     * now are (decorators record their events there). When this throws, nothing of it counts: no success is
     * recorded and nothing is claimed, so the caller may run it again with the same successes.
     */
    Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                          AlsoWrite alsoWrite) throws SQLException;

    /** A handler's result to record with {@link #succeedAndClaim}: {@code resultJson} is JSON text or null. */
    record Success(Lease lease, String resultJson) {
    }

    /**
     * What {@link #succeedAndClaim} committed: the leases whose success took effect (the others were fenced out)
     * and the jobs it claimed, in claim order.
     */
    record Round(Set<Lease> succeeded, List<Job> claimed) {
    }

    /** Writes added to the transaction of {@link #succeedAndClaim}, given the jobs that succeeded in it. */
    @FunctionalInterface
    interface AlsoWrite {
        AlsoWrite NOTHING = (tx, jobs) -> { };

        void succeeded(Connection tx, List<Job> jobs) throws SQLException;

        default AlsoWrite andThen(AlsoWrite next) {
            if (this == NOTHING) {
                return next;
            }
            return (tx, jobs) -> {
                succeeded(tx, jobs);
                next.succeeded(tx, jobs);
            };
        }
    }

    /** Renews the lease until now + leaseDuration. {@link LeaseStatus#LOST} when fenced out. */
    LeaseStatus heartbeat(Lease lease) throws SQLException;

    /**
     * Records progress of the current attempt: {@code percent} 0-100, a short {@code stage} name and an estimate
     * of the seconds left (both may be null). False when fenced out.
     */
    boolean progress(Lease lease, int percent, String stage, Long etaSeconds) throws SQLException;

    /** running → succeeded with {@code resultJson} (JSON text or null) and progress 100. False when fenced out. */
    boolean succeed(Lease lease, String resultJson) throws SQLException;

    /**
     * Ends the attempt with an error. The job becomes queued again (run_at = now + backoff with jitter for this
     * attempt) when {@code retryable} and attempts are left; cancelled when cancel was requested; failed
     * otherwise. Returns the new state, or empty when fenced out.
     */
    Optional<JobState> fail(Lease lease, String code, String message, boolean retryable) throws SQLException;

    /** The worker stopped at a checkpoint after a cancel request: running → cancelled. False when fenced out. */
    boolean cancelled(Lease lease) throws SQLException;

    /**
     * Hands the job back unfinished, as a worker that is shutting down does: running → queued, runnable at once.
     * The attempt is not consumed: {@code attempt} stays (it is the fencing token) and {@code max_attempts} grows
     * by one. A job whose cancel was requested becomes cancelled instead. False when fenced out.
     */
    boolean release(Lease lease) throws SQLException;

    /**
     * Cancels: queued → cancelled at once; running → cancel requested (stays running until its worker stops).
     * A finished job is returned unchanged. Empty when there is no such job.
     */
    Optional<Job> cancel(String id) throws SQLException;

    /**
     * Runs a failed or cancelled job again: → queued at once with {@code moreAttempts} (>= 1) new attempts, i.e.
     * {@code max_attempts = attempt + moreAttempts}; attempt is not reset, because it is the fencing token. Error,
     * result and the cancel request are cleared. A job in another state is returned unchanged. Empty when there is
     * no such job.
     */
    Optional<Job> retry(String id, int moreAttempts) throws SQLException;

    /**
     * Takes back running jobs whose lease expired (their worker died or lost the database): queued again with
     * backoff and error {@code lease_expired} when attempts are left, failed when not, cancelled when cancel was
     * requested. Returns how many jobs it changed.
     */
    int rescueExpired() throws SQLException;

    /** Deletes finished jobs that finished more than {@code retention} ago. Returns how many. */
    int prune(Duration retention) throws SQLException;

    Optional<Job> find(String id) throws SQLException;

    /**
     * Newest first. {@code state} and {@code pipeline} filter when non-null; {@code cursor} is the id of the last
     * job of the previous page (exclusive), or null for the first page.
     */
    default List<Job> list(JobState state, String pipeline, String cursor, int limit) throws SQLException {
        return list(state, pipeline, null, cursor, limit);
    }

    /** As {@link #list(JobState, String, String, int)}, only the jobs of API key {@code owner} when not null. */
    default List<Job> list(JobState state, String pipeline, String owner, String cursor, int limit)
            throws SQLException {
        return list(new JobFilter(state, pipeline, owner, null, null, null), cursor, limit);
    }

    /**
     * The jobs {@code filter} covers, newest (greatest id) first: a keyset page after {@code cursor} (the id of the
     * last job of the previous page, exclusive; null for the first page). Ids are unique, so jobs created in the
     * same millisecond are neither repeated nor skipped across pages.
     */
    List<Job> list(JobFilter filter, String cursor, int limit) throws SQLException;

    /** How many jobs {@code filter} covers, per state (every state present, zero when none). */
    Map<JobState, Long> counts(JobFilter filter) throws SQLException;

    /**
     * Queued and running jobs per pipeline, and when the oldest queued job became due: for health, metrics, alerts
     * and the dashboard. One aggregate query; callers that poll it often should cache it.
     */
    QueueStats stats() throws SQLException;
}
