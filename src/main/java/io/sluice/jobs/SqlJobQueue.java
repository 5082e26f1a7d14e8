package io.sluice.jobs;

import io.sluice.auth.Redaction;
import io.sluice.db.Database;
import io.sluice.util.Backoff;
import io.sluice.db.Dialect;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * {@link JobQueue} on the {@code jobs} table, in SQL that SQLite and PostgreSQL share except for {@link JobSql}.
 *
 * <p>On SQLite every write runs under {@code Database.write}'s single-writer gate, so a claim is one
 * {@code UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING ...} that nothing can interleave with. On
 * PostgreSQL the same statement's sub-select locks its rows with {@code FOR UPDATE SKIP LOCKED} (see
 * {@link JobSql#claimedIds}). Fencing needs no
 * lock at all: each fenced write is one conditional {@code UPDATE}. Pages, counts and queue figures for people are
 * {@link JobListing}'s.
 */
public final class SqlJobQueue implements JobQueue {

    /** Longest error message stored; exception messages can embed whole inputs. */
    public static final int MAX_MESSAGE_LENGTH = 2000;
    public static final int MAX_STAGE_LENGTH = 200;
    /** Rows rescued or pruned per statement, so one pass never holds the writer long. */
    static final int BATCH = 500;

    static final String COLUMNS = "id, upload_id, pipeline, state, attempt, max_attempts, run_at, "
            + "lease_owner, lease_expires_at, timeout_ms, progress, stage, eta_seconds, error_code, error_message, "
            + "result, idempotency_key, cancel_requested, created_at, started_at, finished_at, updated_at, owner";
    private static final String FENCE = " WHERE id = ? AND lease_owner = ? AND attempt = ? AND state = 'running'";
    private static final String FINISHED = "('succeeded', 'failed', 'cancelled')";
    private static final Comparator<Job> CLAIM_ORDER = Comparator.comparing(Job::runAt).thenComparing(Job::id);

    /** running → succeeded, the result as its one parameter; the fence follows. */
    private final String succeedSet;

    private final Database db;
    private final JobSql sql;
    private final String now;
    private final Supplier<String> ids;
    private final long leaseMillis;
    private final Backoff backoff;
    private final JobSignal signal;
    /** Starts the payload of this queue's notifications, so its own (already signalled locally) are ignored. */
    private final String origin = UUID.randomUUID() + " ";
    /** PostgreSQL only: concurrent successes share one statement and one commit. */
    private final SucceedBatcher succeeds;
    private final JobListing listing;

    /**
     * @param ids    new job ids, sortable by creation (the upload package's ULID generator)
     * @param config lease duration and backoff are read from it
     * @param signal signalled after an enqueue or a retry, for this process's workers; on PostgreSQL also when
     *               another process enqueues or retries (LISTEN on {@value JobSql#CHANNEL}, subscribed here)
     */
    public SqlJobQueue(Database db, Supplier<String> ids, JobsConfig config, JobSignal signal) {
        this.db = Objects.requireNonNull(db, "db");
        this.sql = JobSql.of(db.dialect());
        this.now = sql.now();
        this.succeedSet = "UPDATE jobs SET state = 'succeeded', progress = 100, result = ?, eta_seconds = NULL, "
                + "error_code = NULL, error_message = NULL, lease_expires_at = NULL, finished_at = " + now
                + ", updated_at = " + now;
        this.ids = Objects.requireNonNull(ids, "ids");
        this.leaseMillis = config.leaseDuration().toMillis();
        this.backoff = config.backoff();
        this.signal = Objects.requireNonNull(signal, "signal");
        this.succeeds = db.dialect() == Dialect.POSTGRESQL ? new SucceedBatcher(db, now) : null;
        this.listing = new JobListing(db);
        try {
            // Other processes' enqueues wake this one's workers; after a lost LISTEN connection (null payload)
            // too, since what was notified meanwhile is lost. A no-op on SQLite.
            db.listen(JobSql.CHANNEL, payload -> {
                if (payload == null || !payload.startsWith(origin)) {
                    signal.signal();
                }
            });
        } catch (SQLException e) {
            throw new IllegalStateException("cannot listen for job notifications: " + e.getMessage(), e);
        }
    }

    @Override
    public Job enqueue(Connection tx, NewJob job) throws SQLException {
        int inserted;
        try (PreparedStatement ps = tx.prepareStatement("INSERT INTO jobs (id, upload_id, pipeline, state, attempt, "
                + "max_attempts, run_at, timeout_ms, progress, idempotency_key, cancel_requested, created_at, "
                + "updated_at, owner) VALUES (?, ?, ?, 'queued', 0, ?, " + now + " + ?, ?, 0, ?, 0, " + now + ", " + now
                // A job belongs to the API key of its upload, which this transaction has just recorded.
                + ", (SELECT owner FROM uploads WHERE id = ?)) ON CONFLICT (idempotency_key) DO NOTHING")) {
            ps.setString(1, ids.get());
            ps.setString(2, job.uploadId());
            ps.setString(3, job.pipeline());
            ps.setInt(4, job.maxAttempts());
            ps.setLong(5, job.delay().toMillis());
            ps.setLong(6, job.timeout().toMillis());
            ps.setString(7, job.idempotencyKey());
            ps.setString(8, job.uploadId());
            inserted = ps.executeUpdate();
        }
        Job stored = selectOne(tx, "idempotency_key = ?", job.idempotencyKey())
                .orElseThrow(() -> new SQLException("job with key " + job.idempotencyKey() + " vanished"));
        if (inserted > 0) {
            wake(tx, stored.pipeline());
        }
        return stored;
    }

    @Override
    public List<Job> claim(String workerId, int max, Set<String> pipelines) throws SQLException {
        Objects.requireNonNull(workerId, "workerId");
        if (max <= 0 || pipelines.isEmpty()) {
            return List.of();
        }
        String statement = claimStatement(pipelines.size());
        List<Job> claimed = db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                bindClaim(ps, 1, workerId, max, pipelines);
                return readAll(ps);
            }
        });
        // RETURNING gives no order; hand jobs out in the order they were picked.
        claimed.sort(CLAIM_ORDER);
        return claimed;
    }

    /** The claim: {@code UPDATE ... RETURNING} of up to {@code ?} queued, due jobs of {@code pipelines} pipelines. */
    private String claimStatement(int pipelines) {
        String in = String.join(", ", Collections.nCopies(pipelines, "?"));
        return "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, "
                + "lease_expires_at = " + now + " + ?, started_at = " + now + ", updated_at = " + now + ", "
                + "progress = 0, stage = NULL, eta_seconds = NULL "
                + "WHERE " + sql.claimedIds("SELECT id FROM jobs WHERE state = 'queued' "
                + "AND run_at <= " + now + " AND pipeline IN (" + in + ") ORDER BY run_at, id LIMIT ?") + " "
                + "RETURNING " + COLUMNS;
    }

    /** Binds {@link #claimStatement}'s parameters from {@code from}; returns the next parameter's index. */
    private int bindClaim(PreparedStatement ps, int from, String workerId, int max, Set<String> pipelines)
            throws SQLException {
        int i = from;
        ps.setString(i++, workerId);
        ps.setLong(i++, leaseMillis);
        for (String p : pipelines) {
            ps.setString(i++, p);
        }
        ps.setInt(i++, max);
        return i;
    }

    @Override
    public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                 AlsoWrite alsoWrite) throws SQLException {
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(alsoWrite, "alsoWrite");
        List<Map.Entry<String, Integer>> claims = new ArrayList<>();
        for (Map.Entry<String, Integer> e : pipelines.entrySet()) {
            if (e.getValue() > 0) {
                claims.add(Map.entry(e.getKey(), e.getValue()));
            }
        }
        if (successes.isEmpty() && (max <= 0 || claims.isEmpty())) {
            return new Round(Set.of(), List.of());
        }
        Round round = db.write(c -> {
            List<Job> succeeded = new ArrayList<>();
            List<Job> claimed = new ArrayList<>();
            int from = 0;
            if (sql.dialect() == Dialect.POSTGRESQL) {
                // The successes and the first claim in one statement: one round trip for the usual round.
                Map.Entry<String, Integer> first = max > 0 && !claims.isEmpty() ? claims.getFirst() : null;
                succeedAndClaimInOneStatement(c, successes, workerId,
                        first == null ? 0 : Math.min(max, first.getValue()),
                        first == null ? Set.of() : Set.of(first.getKey()), succeeded, claimed);
                from = first == null ? claims.size() : 1;
            } else if (!successes.isEmpty()) {
                // SQLite runs in process: a statement is no round trip, only the commit (one fsync) counts.
                try (PreparedStatement ps = c.prepareStatement(succeedSet + FENCE + " RETURNING " + COLUMNS)) {
                    for (Success s : successes) {
                        ps.setString(1, s.resultJson());
                        fence(ps, 2, s.lease());
                        succeeded.addAll(readAll(ps));
                    }
                }
            }
            for (int k = from; k < claims.size() && claimed.size() < max; k++) {
                int n = Math.min(claims.get(k).getValue(), max - claimed.size());
                try (PreparedStatement ps = c.prepareStatement(claimStatement(1))) {
                    bindClaim(ps, 1, workerId, n, Set.of(claims.get(k).getKey()));
                    claimed.addAll(readAll(ps));
                }
            }
            if (!succeeded.isEmpty()) {
                alsoWrite.succeeded(c, List.copyOf(succeeded));
            }
            Set<Lease> leases = new HashSet<>();
            for (Job j : succeeded) {
                leases.add(new Lease(j.id(), j.leaseOwner(), j.attempt()));
            }
            return new Round(Set.copyOf(leases), claimed);
        });
        List<Job> claimed = new ArrayList<>(round.claimed());
        claimed.sort(CLAIM_ORDER);
        return new Round(round.succeeded(), List.copyOf(claimed));
    }

    /**
     * PostgreSQL: the fenced successes and the claim as one statement of data-modifying CTEs (one round trip
     * instead of two). They touch disjoint rows (running ones, queued ones), and each keeps its own condition: the
     * fence {@code id, lease_owner, attempt, state = 'running'} per success, {@code FOR UPDATE SKIP LOCKED} for the
     * claim. One {@code UPDATE ... WHERE id = ?} per success rather than one {@code UPDATE ... FROM (VALUES ...)}:
     * a join lets the planner scan every {@code state = 'running'} index entry, dead versions included (a table
     * that has just been filled has no statistics), measured at 3-5 ms per round; by id it is one index probe.
     */
    private void succeedAndClaimInOneStatement(Connection c, List<Success> successes, String workerId, int max,
                                               Set<String> pipelines, List<Job> succeeded, List<Job> claimed)
            throws SQLException {
        if (successes.isEmpty() && max <= 0) {
            return;
        }
        List<String> ctes = new ArrayList<>();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < successes.size(); i++) {
            ctes.add("done" + i + " AS (" + succeedSet + FENCE + " RETURNING " + COLUMNS + ")");
            parts.add("SELECT TRUE AS sluice_done, * FROM done" + i);
        }
        if (max > 0) {
            ctes.add("claimed AS (" + claimStatement(pipelines.size()) + ")");
            parts.add("SELECT FALSE AS sluice_done, * FROM claimed");
        }
        String statement = "WITH " + String.join(", ", ctes) + " " + String.join(" UNION ALL ", parts);
        try (PreparedStatement ps = c.prepareStatement(statement)) {
            int i = 1;
            for (Success s : successes) {
                ps.setString(i++, s.resultJson());
                fence(ps, i, s.lease());
                i += 3;
            }
            if (max > 0) {
                bindClaim(ps, i, workerId, max, pipelines);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    (rs.getBoolean("sluice_done") ? succeeded : claimed).add(map(rs));
                }
            }
        }
    }

    @Override
    public LeaseStatus heartbeat(Lease lease) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET lease_expires_at = " + now + " + ?, "
                    + "updated_at = " + now + FENCE + " RETURNING cancel_requested")) {
                ps.setLong(1, leaseMillis);
                fence(ps, 2, lease);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? new LeaseStatus(true, rs.getInt(1) != 0) : LeaseStatus.LOST;
                }
            }
        });
    }

    @Override
    public boolean progress(Lease lease, int percent, String stage, Long etaSeconds) throws SQLException {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent must be 0..100, was " + percent);
        }
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET progress = ?, stage = ?, "
                    + "eta_seconds = ?, updated_at = " + now + FENCE)) {
                ps.setInt(1, percent);
                ps.setString(2, truncate(stage, MAX_STAGE_LENGTH));
                ps.setObject(3, etaSeconds == null ? null : Math.max(0, etaSeconds), Types.BIGINT);
                fence(ps, 4, lease);
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public boolean succeed(Lease lease, String resultJson) throws SQLException {
        if (succeeds != null) {
            return succeeds.succeed(lease, resultJson);
        }
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement(succeedSet + FENCE)) {
                ps.setString(1, resultJson);
                fence(ps, 2, lease);
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public Optional<JobState> fail(Lease lease, String code, String message, boolean retryable)
            throws SQLException {
        return db.write(c -> failIn(c, lease, code, message, retryable, ""));
    }

    /**
     * The one statement that ends an attempt with an error, for {@link #fail} and {@link #rescueExpired}
     * ({@code extra} narrows the fence). A cancel request wins over a retry; then a retry needs the error to be
     * retryable and an attempt left.
     */
    private Optional<JobState> failIn(Connection c, Lease lease, String code, String message, boolean retryable,
                                      String extra) throws SQLException {
        Objects.requireNonNull(code, "code");
        String again = "(cancel_requested = 0 AND ? = 1 AND attempt < max_attempts)";
        try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET "
                + "state = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN " + again
                + " THEN 'queued' ELSE 'failed' END, "
                + "run_at = CASE WHEN " + again + " THEN " + now + " + ? ELSE run_at END, "
                + "finished_at = CASE WHEN " + again + " THEN NULL ELSE " + now + " END, "
                + "error_code = ?, error_message = ?, lease_expires_at = NULL, eta_seconds = NULL, "
                + "updated_at = " + now + FENCE + extra + " RETURNING state")) {
            int flag = retryable ? 1 : 0;
            ps.setInt(1, flag);
            ps.setInt(2, flag);
            ps.setLong(3, backoff.delay(lease.attempt()).toMillis());
            ps.setInt(4, flag);
            ps.setString(5, code);
            // Messages quote inputs and URLs; stored rows are read back through the API and copied into logs.
            ps.setString(6, truncate(Redaction.redact(message), MAX_MESSAGE_LENGTH));
            fence(ps, 7, lease);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                JobState next = JobState.fromDb(rs.getString(1));
                if (next == JobState.QUEUED) {
                    wake(c, null);
                }
                return Optional.of(next);
            }
        }
    }

    @Override
    public boolean cancelled(Lease lease) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = 'cancelled', "
                    + "lease_expires_at = NULL, eta_seconds = NULL, finished_at = " + now + ", updated_at = " + now
                    + FENCE + " AND cancel_requested = 1")) {
                fence(ps, 1, lease);
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public boolean release(Lease lease) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET "
                    + "state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END, "
                    + "max_attempts = CASE WHEN cancel_requested = 1 THEN max_attempts ELSE max_attempts + 1 END, "
                    + "finished_at = CASE WHEN cancel_requested = 1 THEN " + now + " ELSE NULL END, "
                    + "run_at = " + now + ", lease_expires_at = NULL, eta_seconds = NULL, updated_at = " + now
                    + FENCE)) {
                fence(ps, 1, lease);
                boolean released = ps.executeUpdate() == 1;
                if (released) {
                    wake(c, null);
                }
                return released;
            }
        });
    }

    @Override
    public Optional<Job> cancel(String id) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = 'cancelled', "
                    + "cancel_requested = 1, finished_at = " + now + ", updated_at = " + now
                    + " WHERE id = ? AND state = 'queued'")) {
                ps.setString(1, id);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET cancel_requested = 1, updated_at = "
                    + now + " WHERE id = ? AND state = 'running' AND cancel_requested = 0")) {
                ps.setString(1, id);
                ps.executeUpdate();
            }
            return selectOne(c, "id = ?", id);
        });
    }

    @Override
    public Optional<Job> retry(String id, int moreAttempts) throws SQLException {
        if (moreAttempts < 1) {
            throw new IllegalArgumentException("moreAttempts must be >= 1, was " + moreAttempts);
        }
        return db.write(c -> {
            int changed;
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = 'queued', "
                    + "max_attempts = attempt + ?, run_at = " + now + ", cancel_requested = 0, error_code = NULL, "
                    + "error_message = NULL, result = NULL, progress = 0, stage = NULL, eta_seconds = NULL, "
                    + "lease_expires_at = NULL, finished_at = NULL, updated_at = " + now
                    + " WHERE id = ? AND state IN ('failed', 'cancelled')")) {
                ps.setInt(1, moreAttempts);
                ps.setString(2, id);
                changed = ps.executeUpdate();
            }
            Optional<Job> job = selectOne(c, "id = ?", id);
            if (changed > 0) {
                wake(c, job.map(Job::pipeline).orElse(null));
            }
            return job;
        });
    }

    @Override
    public int rescueExpired() throws SQLException {
        int total = 0;
        while (true) {
            int[] pass = db.write(c -> {
                List<Lease> expired = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT id, lease_owner, attempt FROM jobs "
                        + "WHERE state = 'running' AND lease_expires_at < " + now + " ORDER BY lease_expires_at "
                        + "LIMIT ?")) {
                    ps.setInt(1, BATCH);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            expired.add(new Lease(rs.getString(1), rs.getString(2), rs.getInt(3)));
                        }
                    }
                }
                int rescued = 0;
                for (Lease lease : expired) {
                    // Re-checks the expiry: on PostgreSQL the holder may have renewed it since the select.
                    if (failIn(c, lease, "lease_expired", "the worker's lease expired (attempt " + lease.attempt()
                            + " by " + lease.owner() + ")", true, " AND lease_expires_at < " + now).isPresent()) {
                        rescued++;
                    }
                }
                return new int[] {expired.size(), rescued};
            });
            total += pass[1];
            if (pass[0] < BATCH) {
                return total;
            }
        }
    }

    @Override
    public int prune(Duration retention) throws SQLException {
        long retentionMillis = retention.toMillis();
        int total = 0;
        while (true) {
            int deleted = db.write(c -> {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs "
                        + "WHERE finished_at < " + now + " - ? AND state IN " + FINISHED + " LIMIT ?)")) {
                    ps.setLong(1, retentionMillis);
                    ps.setInt(2, BATCH);
                    return ps.executeUpdate();
                }
            });
            total += deleted;
            if (deleted < BATCH) {
                return total;
            }
        }
    }

    @Override
    public Optional<Job> find(String id) throws SQLException {
        return db.read(c -> selectOne(c, "id = ?", id));
    }

    @Override
    public QueueStats stats() throws SQLException {
        return listing.stats();
    }

    @Override
    public List<Job> list(JobFilter filter, String cursor, int limit) throws SQLException {
        return listing.list(filter, cursor, limit);
    }

    @Override
    public Map<JobState, Long> counts(JobFilter filter) throws SQLException {
        return listing.counts(filter);
    }

    /** Wakes local workers now and, on PostgreSQL, other processes' workers when {@code c} commits. */
    private void wake(Connection c, String pipeline) throws SQLException {
        String notify = sql.notifyStatement();
        if (notify != null) {
            try (PreparedStatement ps = c.prepareStatement(notify)) {
                ps.setString(1, origin + (pipeline == null ? "" : pipeline));
                ps.execute();
            }
        }
        // On SQLite a woken worker's claim waits on the writer gate this transaction holds, so it sees the job as
        // soon as the transaction commits; after a rollback the wake-up finds nothing, which is harmless.
        signal.signal();
    }

    private static void fence(PreparedStatement ps, int from, Lease lease) throws SQLException {
        ps.setString(from, lease.jobId());
        ps.setString(from + 1, lease.owner());
        ps.setInt(from + 2, lease.attempt());
    }

    private static Optional<Job> selectOne(Connection c, String where, String arg) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE " + where)) {
            ps.setString(1, arg);
            List<Job> jobs = readAll(ps);
            return jobs.isEmpty() ? Optional.empty() : Optional.of(jobs.getFirst());
        }
    }

    static List<Job> readAll(PreparedStatement ps) throws SQLException {
        List<Job> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(map(rs));
            }
        }
        return out;
    }

    private static Job map(ResultSet rs) throws SQLException {
        return new Job(
                rs.getString("id"),
                rs.getString("upload_id"),
                rs.getString("pipeline"),
                JobState.fromDb(rs.getString("state")),
                rs.getInt("attempt"),
                rs.getInt("max_attempts"),
                instant(rs, "run_at"),
                rs.getString("lease_owner"),
                instant(rs, "lease_expires_at"),
                Duration.ofMillis(rs.getLong("timeout_ms")),
                rs.getInt("progress"),
                rs.getString("stage"),
                nullableLong(rs, "eta_seconds"),
                rs.getString("error_code"),
                rs.getString("error_message"),
                rs.getString("result"),
                rs.getString("idempotency_key"),
                rs.getInt("cancel_requested") != 0,
                instant(rs, "created_at"),
                instant(rs, "started_at"),
                instant(rs, "finished_at"),
                instant(rs, "updated_at"),
                rs.getString("owner"));
    }

    private static Long nullableLong(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Long ms = nullableLong(rs, column);
        return ms == null ? null : Instant.ofEpochMilli(ms);
    }

    private static String truncate(String s, int max) {
        if (s == null || s.length() <= max) {
            return s;
        }
        // Never cut a surrogate pair in half.
        return s.substring(0, Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max);
    }
}
