package io.sluice.jobs;

import io.sluice.db.Dialect;

import java.util.Objects;

/**
 * The job SQL that differs between SQLite and PostgreSQL; everything else in {@link SqlJobQueue} is shared.
 *
 * <ul>
 *   <li>{@link #now()}: the database clock in epoch milliseconds, stable within one statement (SQLite's
 *       {@code 'now'} is fixed per statement step; PostgreSQL's {@code statement_timestamp()} per statement), so
 *       {@code updated_at} and {@code lease_expires_at} written together agree.</li>
 *   <li>{@link #claimedIds}: on PostgreSQL the claim's sub-select takes the rows it picks with
 *       {@code FOR UPDATE SKIP LOCKED}, so concurrent claimers on many nodes skip each other's rows instead of
 *       waiting or double-claiming; SQLite has one writer (the {@code Database.write} gate), nothing to add.</li>
 *   <li>{@link #notifyStatement()}: PostgreSQL wakes workers of other processes with {@code pg_notify}, delivered
 *       when the enqueueing transaction commits; SQLite has no other process to wake.</li>
 * </ul>
 *
 * The PostgreSQL clock is {@code statement_timestamp()} rather than {@code clock_timestamp()}: both follow the
 * wall clock across statements (unlike {@code now()}, fixed per transaction), but only the former is one value per
 * statement, which the lease arithmetic above relies on.
 */
final class JobSql {

    /** The LISTEN/NOTIFY channel a PostgreSQL listener subscribes to. */
    static final String CHANNEL = "sluice_jobs";

    private final Dialect dialect;

    private JobSql(Dialect dialect) {
        this.dialect = Objects.requireNonNull(dialect, "dialect");
    }

    static JobSql of(Dialect dialect) {
        return new JobSql(dialect);
    }

    Dialect dialect() {
        return dialect;
    }

    String now() {
        return switch (dialect) {
            // 'now' has millisecond resolution; julianday makes it a double, ROUND takes it back to the exact
            // millisecond. 2440587.5 is the Julian day of 1970-01-01T00:00Z.
            case SQLITE -> "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";
            case POSTGRESQL -> "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)";
        };
    }

    /**
     * The claim's condition on {@code id}, from the sub-select that picks the ids. On PostgreSQL the picked rows are
     * locked with {@code FOR UPDATE SKIP LOCKED}, and the sub-select is an {@code ARRAY(...)}, evaluated once: as a
     * plain {@code IN (...)} the planner may run it again per outer row, and each run skips the rows this very
     * statement has already updated and locks the next ones, so {@code LIMIT} would not bound the claim.
     */
    String claimedIds(String pick) {
        // The rows picked are queued: SQLite's single writer cannot change them within the statement, and on
        // PostgreSQL FOR UPDATE re-checks the pick's condition on the row it locks. So the outer UPDATE does not
        // repeat "state = 'queued'": with it, the planner may scan the state index (every dead version of a claimed
        // row included) instead of probing the primary key, as it did on a freshly filled table (1 ms -> 0.2 ms).
        return switch (dialect) {
            case SQLITE -> "id IN (" + pick + ")";
            case POSTGRESQL -> "id = ANY(ARRAY(" + pick + " FOR UPDATE SKIP LOCKED))";
        };
    }

    /**
     * A statement taking the payload (the sender's origin, a space, the pipeline name or nothing) as its one
     * parameter, or null when there is none.
     */
    String notifyStatement() {
        return switch (dialect) {
            case SQLITE -> null;
            case POSTGRESQL -> "SELECT pg_notify('" + CHANNEL + "', ?)";
        };
    }
}
