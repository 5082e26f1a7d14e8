package io.sluice.jobs;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link JobQueue} that passes every call to another: the base of decorators (events, metrics) that override
 * only the calls they observe. The contract is the delegate's; a decorator must not change a call's outcome.
 */
public abstract class ForwardingJobQueue implements JobQueue {

    protected final JobQueue delegate;

    protected ForwardingJobQueue(JobQueue delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public Job enqueue(Connection tx, NewJob job) throws SQLException {
        return delegate.enqueue(tx, job);
    }

    @Override
    public List<Job> claim(String workerId, int max, Set<String> pipelines) throws SQLException {
        return delegate.claim(workerId, max, pipelines);
    }

    @Override
    public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                 AlsoWrite alsoWrite) throws SQLException {
        return delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite);
    }

    @Override
    public LeaseStatus heartbeat(Lease lease) throws SQLException {
        return delegate.heartbeat(lease);
    }

    @Override
    public boolean progress(Lease lease, int percent, String stage, Long etaSeconds) throws SQLException {
        return delegate.progress(lease, percent, stage, etaSeconds);
    }

    @Override
    public boolean succeed(Lease lease, String resultJson) throws SQLException {
        return delegate.succeed(lease, resultJson);
    }

    @Override
    public Optional<JobState> fail(Lease lease, String code, String message, boolean retryable) throws SQLException {
        return delegate.fail(lease, code, message, retryable);
    }

    @Override
    public boolean cancelled(Lease lease) throws SQLException {
        return delegate.cancelled(lease);
    }

    @Override
    public boolean release(Lease lease) throws SQLException {
        return delegate.release(lease);
    }

    @Override
    public Optional<Job> cancel(String id) throws SQLException {
        return delegate.cancel(id);
    }

    @Override
    public Optional<Job> retry(String id, int moreAttempts) throws SQLException {
        return delegate.retry(id, moreAttempts);
    }

    @Override
    public int rescueExpired() throws SQLException {
        return delegate.rescueExpired();
    }

    @Override
    public int prune(Duration retention) throws SQLException {
        return delegate.prune(retention);
    }

    @Override
    public Optional<Job> find(String id) throws SQLException {
        return delegate.find(id);
    }

    @Override
    public List<Job> list(JobFilter filter, String cursor, int limit) throws SQLException {
        return delegate.list(filter, cursor, limit);
    }

    @Override
    public Map<JobState, Long> counts(JobFilter filter) throws SQLException {
        return delegate.counts(filter);
    }

    @Override
    public QueueStats stats() throws SQLException {
        return delegate.stats();
    }
}
