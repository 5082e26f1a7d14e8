package io.sluice.jobs;

import java.time.Instant;

/**
 * Which jobs a list or a count covers; every field is optional (null: no condition).
 *
 * @param owner  only the jobs of this API key (a non-admin caller); null for all (admin, open mode)
 * @param query  a job id, an upload id (exact), or a piece of the upload's file name (case-insensitive)
 * @param since  created at or after this instant
 * @param until  created strictly before this instant
 */
public record JobFilter(JobState state, String pipeline, String owner, String query, Instant since, Instant until) {

    public static final JobFilter ALL = new JobFilter(null, null, null, null, null, null);

    public JobFilter withState(JobState s) {
        return new JobFilter(s, pipeline, owner, query, since, until);
    }
}
