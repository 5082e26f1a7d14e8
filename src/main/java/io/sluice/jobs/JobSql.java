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
 *   <li>{@link #claimLock()}: on PostgreSQL the claim's sub-select takes the rows it picks with
 *       {@code FOR UPDATE SKIP LOCKED}, so concurrent claimers on many nodes skip each other's rows instead of
 *       waiting or double-claiming; SQLite has one writer (the {@code Database.write} gate), nothing to add.</li>
 *   <li>{@link #notifyStatement()}: PostgreSQL wakes workers of other processes with {@code pg_notify}, delivered
 *       when the enqueueing transaction commits; SQLite has no other process to wake.</li>
 * </ul>
 *
 * Only the SQLite variants are exercised by the tests so far.
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

    String claimLock() {
        return switch (dialect) {
            case SQLITE -> "";
            case POSTGRESQL -> " FOR UPDATE SKIP LOCKED";
        };
    }

    /** A statement taking the payload (a pipeline name) as its one parameter, or null when there is none. */
    String notifyStatement() {
        return switch (dialect) {
            case SQLITE -> null;
            case POSTGRESQL -> "SELECT pg_notify('" + CHANNEL + "', ?)";
        };
    }
}
