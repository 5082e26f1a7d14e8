package io.sluice.jobs;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link JobQueue} that reports the state changes its delegate committed to {@link JobEvents}: succeeded, failed,
 * cancelled (at a checkpoint, while queued, or instead of a retry or release) and progress. Only writes that took
 * effect are reported, so a fenced-out worker never announces anything.
 *
 * <p>A worker pool's successes ({@link #succeedAndClaim}) get their event in the transaction that records them.
 * Other changes get it after the change committed, in a transaction of its own: a crash between the two loses the
 * event (the job's state is still right). Jobs that a lease rescue fails for good are not reported (the rescue
 * returns only a count).
 */
public final class PublishingJobQueue extends ForwardingJobQueue {

    private static final Logger log = LoggerFactory.getLogger(PublishingJobQueue.class);

    private final JobEvents events;

    public PublishingJobQueue(JobQueue delegate, JobEvents events) {
        super(delegate);
        this.events = events;
    }

    private void publish(String type, String jobId) {
        try {
            delegate.find(jobId).ifPresent(job -> events.jobChanged(type, job));
        } catch (SQLException | RuntimeException e) {
            log.warn("event {} of job {} not recorded: {}", type, jobId, e.toString());
        }
    }

    private void publishState(Optional<JobState> state, String jobId) {
        state.ifPresent(s -> {
            if (s == JobState.FAILED) {
                publish(JobEvents.JOB_FAILED, jobId);
            } else if (s == JobState.CANCELLED) {
                publish(JobEvents.JOB_CANCELLED, jobId);
            }
        });
    }




    @Override
    public boolean progress(Lease lease, int percent, String stage, Long etaSeconds) throws SQLException {
        boolean written = delegate.progress(lease, percent, stage, etaSeconds);
        if (written) {
            publish(JobEvents.JOB_PROGRESS, lease.jobId());
        }
        return written;
    }

    @Override
    public boolean succeed(Lease lease, String resultJson) throws SQLException {
        boolean written = delegate.succeed(lease, resultJson);
        if (written) {
            publish(JobEvents.JOB_SUCCEEDED, lease.jobId());
        }
        return written;
    }

    /**
     * The {@code job.succeeded} events go into the transaction that records the successes, with their deliveries:
     * an event exists exactly when its success committed (a crash can no longer lose it in between). If recording
     * them fails, the round is run once more without them (logged), so a broken event log cannot hold successes
     * back: the outcome is what counts, as when an event is recorded after its change.
     */
    @Override
    public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                 AlsoWrite alsoWrite) throws SQLException {
        boolean[] eventsFailed = new boolean[1];
        AlsoWrite withEvents = alsoWrite.andThen((tx, jobs) -> {
            try {
                events.jobsChanged(tx, JobEvents.JOB_SUCCEEDED, jobs);
            } catch (SQLException | RuntimeException e) {
                eventsFailed[0] = true;
                throw e;
            }
        });
        Round round;
        try {
            round = delegate.succeedAndClaim(successes, workerId, max, pipelines, withEvents);
        } catch (SQLException | RuntimeException e) {
            if (!eventsFailed[0]) {
                throw e;
            }
            // The transaction rolled back: nothing was recorded or claimed, so running it again is safe.
            log.warn("job.succeeded events of {} job(s) not recorded: {}", successes.size(), e.toString());
            return delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite);
        }
        if (!round.succeeded().isEmpty()) {
            events.committed();
        }
        return round;
    }

    @Override
    public Optional<JobState> fail(Lease lease, String code, String message, boolean retryable)
            throws SQLException {
        Optional<JobState> next = delegate.fail(lease, code, message, retryable);
        publishState(next, lease.jobId());
        return next;
    }

    @Override
    public boolean cancelled(Lease lease) throws SQLException {
        boolean written = delegate.cancelled(lease);
        if (written) {
            publish(JobEvents.JOB_CANCELLED, lease.jobId());
        }
        return written;
    }

    @Override
    public boolean release(Lease lease) throws SQLException {
        boolean written = delegate.release(lease);
        if (written) {
            delegate.find(lease.jobId()).filter(j -> j.state() == JobState.CANCELLED)
                    .ifPresent(j -> events.jobChanged(JobEvents.JOB_CANCELLED, j));
        }
        return written;
    }

    @Override
    public Optional<Job> cancel(String id) throws SQLException {
        Optional<Job> before = delegate.find(id);
        Optional<Job> after = delegate.cancel(id);
        if (before.isPresent() && before.get().state() != JobState.CANCELLED
                && after.filter(j -> j.state() == JobState.CANCELLED).isPresent()) {
            events.jobChanged(JobEvents.JOB_CANCELLED, after.get());
        }
        return after;
    }






}
