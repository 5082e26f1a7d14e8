package io.sluice.jobs;

import io.sluice.upload.Upload;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Where the jobs code reports what happened, for webhooks and server-sent events ({@code io.sluice.notify}).
 * Implementations record the event durably; they never throw for a delivery problem.
 */
public interface JobEvents {

    String UPLOAD_COMPLETED = "upload.completed";
    String JOB_SUCCEEDED = "job.succeeded";
    String JOB_FAILED = "job.failed";
    String JOB_CANCELLED = "job.cancelled";
    String JOB_PROGRESS = "job.progress";

    /**
     * A job's state change of {@code type} ({@link #JOB_SUCCEEDED} ...) has committed; {@code job} is the job as
     * it is now. Runs in its own transaction; a failure is logged, not thrown (the job's state is already final).
     */
    void jobChanged(String type, Job job);

    /**
     * Inside the transaction {@code tx} that records the state change of {@code type} of each of {@code jobs} (as
     * they are now): the events and their deliveries commit (or roll back) with the change. The caller calls
     * {@link #committed()} once {@code tx} has committed.
     */
    void jobsChanged(Connection tx, String type, List<Job> jobs) throws SQLException;

    /** A transaction given to {@link #jobsChanged(Connection, String, List)} has committed: wakes the readers. */
    void committed();

    /**
     * Inside the transaction {@code tx} that records {@code upload} and enqueues its {@code job}: the
     * {@link #UPLOAD_COMPLETED} event commits (or rolls back) with them.
     */
    void uploadCompleted(Connection tx, Upload upload, Job job) throws SQLException;

    /** Records nothing. */
    JobEvents NONE = new JobEvents() {
        @Override
        public void jobChanged(String type, Job job) {
        }

        @Override
        public void jobsChanged(Connection tx, String type, List<Job> jobs) {
        }

        @Override
        public void committed() {
        }

        @Override
        public void uploadCompleted(Connection tx, Upload upload, Job job) {
        }
    };
}
