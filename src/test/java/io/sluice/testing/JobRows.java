package io.sluice.testing;

import io.sluice.Application;
import io.sluice.db.Database;
import io.sluice.upload.IdGenerator;

import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes finished jobs (and their uploads' rows) straight into a running server's database, through a second
 * connection pool: how tests and the screenshot get thousands of jobs in a second. Only finished states are written,
 * so no worker ever picks one up; their pipeline need not be configured.
 */
public final class JobRows implements AutoCloseable {

    /** One job to write; {@code fileName} null writes no upload row. */
    public record Row(String id, String uploadId, String fileName, String pipeline, String state, int attempt,
                      int maxAttempts, String stage, String errorCode, String errorMessage, Instant createdAt,
                      String owner) {
    }

    private final Database db;
    private final IdGenerator ids = new IdGenerator(Clock.systemUTC());

    public JobRows(TestServer server) throws Exception {
        this.db = Application.openDatabase(server.app().config());
    }

    public String newId() {
        return ids.next();
    }

    /**
     * A row with fresh ids made at {@code createdAt} (as the server's would be: ids sort by creation, and jobs of one
     * millisecond in random order); {@code createdAt} as given, so tests can make timestamps equal.
     */
    public Row row(String fileName, String pipeline, String state, Instant createdAt) {
        boolean failed = "failed".equals(state);
        IdGenerator at = new IdGenerator(Clock.fixed(createdAt, java.time.ZoneOffset.UTC));
        return new Row(at.next(), at.next(), fileName, pipeline, state, 1, 3, failed ? "parsing" : null,
                failed ? "test_failure" : null, failed ? "failed on purpose" : null, createdAt, null);
    }

    public void insert(List<Row> rows) throws Exception {
        for (int from = 0; from < rows.size(); from += 1000) {
            List<Row> batch = new ArrayList<>(rows.subList(from, Math.min(rows.size(), from + 1000)));
            db.write(c -> {
                try (PreparedStatement job = c.prepareStatement("INSERT INTO jobs (id, upload_id, pipeline, state, "
                        + "attempt, max_attempts, run_at, timeout_ms, progress, stage, error_code, error_message, "
                        + "idempotency_key, cancel_requested, created_at, started_at, finished_at, updated_at, owner) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, 60000, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)");
                     PreparedStatement upload = c.prepareStatement("INSERT INTO uploads (id, filename, size, sha256, "
                             + "content_type, storage_key, created_at, owner) VALUES (?, ?, 0, ?, "
                             + "'application/octet-stream', ?, ?, ?)")) {
                    for (Row r : batch) {
                        long t = r.createdAt().toEpochMilli();
                        int i = 1;
                        job.setString(i++, r.id());
                        job.setString(i++, r.uploadId());
                        job.setString(i++, r.pipeline());
                        job.setString(i++, r.state());
                        job.setInt(i++, r.attempt());
                        job.setInt(i++, r.maxAttempts());
                        job.setLong(i++, t);
                        job.setInt(i++, "succeeded".equals(r.state()) ? 100 : 40);
                        job.setString(i++, r.stage());
                        job.setString(i++, r.errorCode());
                        job.setString(i++, r.errorMessage());
                        job.setString(i++, "rows:" + r.id());
                        job.setLong(i++, t);
                        job.setLong(i++, t + 10);
                        job.setLong(i++, t + 500);
                        job.setLong(i++, t + 500);
                        job.setString(i, r.owner());
                        job.addBatch();
                        if (r.fileName() != null) {
                            upload.setString(1, r.uploadId());
                            upload.setString(2, r.fileName());
                            upload.setString(3, "0".repeat(64));
                            upload.setString(4, "none/" + r.uploadId());
                            upload.setLong(5, t);
                            upload.setString(6, r.owner());
                            upload.addBatch();
                        }
                    }
                    job.executeBatch();
                    upload.executeBatch();
                }
                return null;
            });
        }
    }

    /** Runs {@code work} on the database (reads, EXPLAIN). */
    public <T> T read(Database.Work<T> work) throws Exception {
        return db.read(work);
    }

    @Override
    public void close() {
        db.close();
    }
}
