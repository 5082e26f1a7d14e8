package io.sluice.jobs;

import com.fasterxml.jackson.annotation.JsonRawValue;

import java.time.Instant;

/**
 * A job as the API shows it. Absent (null) fields are left out: {@code stage} and {@code etaSeconds} while the
 * handler reported none, {@code error} while no attempt failed (a queued job waiting for its retry keeps the error
 * of the attempt that failed), {@code result} and {@code outputUrl} until it succeeded, {@code startedAt} before
 * the first attempt, {@code finishedAt} while unfinished, {@code cancelRequested} unless a cancel is pending.
 *
 * @param result the processor's summary (JSON as stored), with {@code outputLines}
 */
public record JobView(String id, String uploadId, String pipeline, String state, int progress, String stage,
                      Long etaSeconds, int attempt, int maxAttempts, Error error, @JsonRawValue String result,
                      String outputUrl, Boolean cancelRequested, Instant createdAt, Instant startedAt,
                      Instant finishedAt) {

    public record Error(String code, String message) {
    }

    public static JobView of(Job j) {
        boolean succeeded = j.state() == JobState.SUCCEEDED;
        return new JobView(j.id(), j.uploadId(), j.pipeline(), j.state().dbValue(), j.progress(), j.stage(),
                j.etaSeconds(), j.attempt(), j.maxAttempts(),
                j.errorCode() == null ? null : new Error(j.errorCode(), j.errorMessage()),
                succeeded ? j.result() : null, succeeded ? JobsApi.BASE + j.id() + "/output" : null,
                j.cancelRequested() && !j.state().finished() ? Boolean.TRUE : null,
                j.createdAt(), j.startedAt(), j.finishedAt());
    }
}
