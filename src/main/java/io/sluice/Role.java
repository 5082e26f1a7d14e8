package io.sluice;

import java.util.Locale;

/**
 * What one Sluice process does when several share a database (and, on local storage, a data directory).
 *
 * <p>What runs where, and why it is safe with several processes of each role (docs/decisions.md, "Roles"):
 * <ul>
 *   <li>The public API (uploads, tus, presign, jobs, events, deliveries) and what belongs to upload bytes: the
 *       start-up sweep of staged files, the expiry sweeps of resumable and presigned uploads, the events tailer for
 *       SSE. Roles {@link #ALL} and {@link #API}. The sweeps act on one row at a time under a condition re-checked
 *       in the database, so two of them racing sweep each row once.</li>
 *   <li>Jobs: the worker pool (claims are fenced leases), with job pruning (an idempotent DELETE), the start-up
 *       sweep of half-written outputs and the sweep of pruned jobs' outputs. Roles {@link #ALL} and
 *       {@link #WORKER}.</li>
 *   <li>Webhook deliveries: every role sends; each attempt is claimed first, so one process sends it.</li>
 *   <li>Health ({@code /health}, {@code /health/ready}, metrics): every role.</li>
 * </ul>
 */
public enum Role {
    /** {@code serve}: the API and the workers in one process. */
    ALL(true, true),
    /** {@code serve --no-workers}: the API only; jobs are enqueued for a worker process to run. */
    API(true, false),
    /** {@code worker}: jobs only; HTTP answers health and metrics, no upload API. */
    WORKER(false, true);

    private final boolean servesApi;
    private final boolean runsJobs;

    Role(boolean servesApi, boolean runsJobs) {
        this.servesApi = servesApi;
        this.runsJobs = runsJobs;
    }

    /** Serves the public upload API and owns the sweeps of upload bytes. */
    public boolean servesApi() {
        return servesApi;
    }

    /** Runs the worker pool and owns the sweeps of job outputs. */
    public boolean runsJobs() {
        return runsJobs;
    }

    /** The name used in logs and health: {@code all}, {@code api} or {@code worker}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
