package io.sluice.upload;

/**
 * The job an upload started, as upload responses show it ({@code "job": {...}}, tus {@code Sluice-Job-Id}).
 *
 * @param statusUrl where the job's state is read: {@code /api/v1/jobs/<id>}
 */
public record QueuedJob(String id, String state, String statusUrl) {

    /** The path of the jobs API; a job's status is at this plus its id. */
    public static final String JOBS_PATH = "/api/v1/jobs/";

    public static QueuedJob of(String id, String state) {
        return new QueuedJob(id, state, JOBS_PATH + id);
    }
}
