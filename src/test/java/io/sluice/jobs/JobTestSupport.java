package io.sluice.jobs;

import io.sluice.db.Database;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

/** Configurations and database shortcuts shared by the job tests. */
final class JobTestSupport {

    static final Duration LONG = Duration.ofSeconds(60);

    private JobTestSupport() {
    }

    /**
     * A configuration with the given lease and backoff; polling every 50 ms so that a missed wake-up costs little.
     */
    static JobsConfig config(int workers, Map<String, Integer> perPipeline, Duration lease, Duration backoffBase,
                             Duration backoffCap) {
        return new JobsConfig(workers, perPipeline, lease, Duration.ofMillis(50), Duration.ofDays(7), backoffBase,
                backoffCap, 3, LONG);
    }

    static NewJob job(String uploadId, String pipeline, int maxAttempts, Duration timeout) {
        return NewJob.forUpload(uploadId, pipeline, maxAttempts, timeout);
    }

    static Job enqueue(Database db, JobQueue queue, NewJob job) throws SQLException {
        return db.write(tx -> queue.enqueue(tx, job));
    }

    static Job find(JobQueue queue, String id) throws SQLException {
        return queue.find(id).orElseThrow(() -> new AssertionError("no job " + id));
    }

    /** Direct SQL, for moving time-based columns into the past instead of waiting. */
    static int update(Database db, String sql, Object... args) throws SQLException {
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) {
                    ps.setObject(i + 1, args[i]);
                }
                return ps.executeUpdate();
            }
        });
    }

    static long count(Database db) throws SQLException {
        return db.read(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT COUNT(*) FROM jobs")) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
