package io.sluice.jobs;

import io.sluice.db.Database;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Finishes concurrent {@link SqlJobQueue#succeed} calls together on PostgreSQL: one fenced
 * {@code UPDATE ... FROM (VALUES ...)} and one commit for all the successes that queued up while the previous batch
 * was committing. With {@code synchronous_commit} on, a commit waits for a WAL flush; finishing one job per
 * transaction made that flush, not the work, the limit on jobs per second. (SQLite needs none of this:
 * {@code Database.write} already group-commits there.)
 *
 * <p>Each caller still learns whether its own fenced update applied: the statement returns the ids it updated. A
 * failed batch fails every caller in it, as one failed transaction would fail one caller.
 */
final class SucceedBatcher {

    /** Most jobs finished by one statement (four parameters each). */
    static final int MAX_BATCH = 128;

    private final Database db;
    private final String now;
    private final ReentrantLock leader = new ReentrantLock();
    private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();

    SucceedBatcher(Database db, String now) {
        this.db = db;
        this.now = now;
    }

    private static final class Pending {
        final Lease lease;
        final String resultJson;
        final Semaphore done = new Semaphore(0);
        volatile boolean finished;
        boolean applied;
        SQLException failure;

        Pending(Lease lease, String resultJson) {
            this.lease = lease;
            this.resultJson = resultJson;
        }

        void complete(boolean applied, SQLException failure) {
            this.applied = applied;
            this.failure = failure;
            finished = true;
            done.release();
        }
    }

    /** As {@link JobQueue#succeed}: true when this lease's job is now succeeded by this call. */
    boolean succeed(Lease lease, String resultJson) throws SQLException {
        Pending mine = new Pending(lease, resultJson);
        queue.add(mine);
        while (!mine.finished) {
            if (leader.tryLock()) {
                try {
                    while (!mine.finished) {
                        runBatch();
                    }
                } finally {
                    leader.unlock();
                }
                Pending next = queue.peek();
                if (next != null) {
                    next.done.release(); // a waiter that found the lock taken: it leads the next batch
                }
            } else {
                mine.done.acquireUninterruptibly();
            }
        }
        if (mine.failure != null) {
            throw mine.failure;
        }
        return mine.applied;
    }

    private void runBatch() {
        List<Pending> batch = new ArrayList<>();
        for (Pending p; batch.size() < MAX_BATCH && (p = queue.poll()) != null; ) {
            batch.add(p);
        }
        if (batch.isEmpty()) {
            return;
        }
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < batch.size(); i++) {
            values.append(i == 0 ? "" : ", ").append("(?, ?, ?, ?)");
        }
        String statement = "UPDATE jobs SET state = 'succeeded', progress = 100, result = v.result, "
                + "eta_seconds = NULL, error_code = NULL, error_message = NULL, lease_expires_at = NULL, "
                + "finished_at = " + now + ", updated_at = " + now
                + " FROM (VALUES " + values + ") AS v (id, owner, attempt, result) "
                + "WHERE jobs.id = v.id AND jobs.lease_owner = v.owner AND jobs.attempt = v.attempt "
                + "AND jobs.state = 'running' RETURNING jobs.id";
        try {
            Set<String> updated = db.write(c -> {
                try (PreparedStatement ps = c.prepareStatement(statement)) {
                    int i = 1;
                    for (Pending p : batch) {
                        ps.setString(i++, p.lease.jobId());
                        ps.setString(i++, p.lease.owner());
                        ps.setInt(i++, p.lease.attempt());
                        ps.setString(i++, p.resultJson);
                    }
                    Set<String> ids = new HashSet<>();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            ids.add(rs.getString(1));
                        }
                    }
                    return ids;
                }
            });
            for (Pending p : batch) {
                p.complete(updated.contains(p.lease.jobId()), null);
            }
        } catch (SQLException e) {
            batch.forEach(p -> p.complete(false, e));
        } catch (RuntimeException | Error e) {
            SQLException failure = new SQLException("finishing a batch of jobs failed: " + e, e);
            batch.forEach(p -> p.complete(false, failure));
            throw e;
        }
    }
}
