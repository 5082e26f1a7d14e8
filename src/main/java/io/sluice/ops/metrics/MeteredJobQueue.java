package io.sluice.ops.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sluice.jobs.ForwardingJobQueue;
import io.sluice.jobs.Job;
import io.sluice.jobs.JobQueue;
import io.sluice.jobs.JobState;
import io.sluice.jobs.Lease;
import io.sluice.jobs.LeaseStatus;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A {@link JobQueue} that meters the attempts this process runs, as they end:
 * {@code sluice.jobs.duration} (timer, tags {@code pipeline} and {@code outcome} = succeeded | failed | retry |
 * cancelled | released), {@code sluice.jobs.failures} (final failures, tags {@code pipeline} and {@code code}) and
 * {@code sluice.jobs.retries} (failed attempts that will run again, tag {@code pipeline}). Only writes that took
 * effect count, so a fenced-out worker never counts twice.
 *
 * <p>An attempt's start is kept in memory from its claim to its end, keyed by lease; a lease this worker loses
 * (heartbeat says so) is forgotten, so the map holds at most the attempts running here. Codes are the processors'
 * own error codes and the fixed ones of the worker pool (timeout, lease_expired, ...): a bounded set.
 */
public final class MeteredJobQueue extends ForwardingJobQueue {

    public static final String DURATION = "sluice.jobs.duration";
    public static final String FAILURES = "sluice.jobs.failures";
    public static final String RETRIES = "sluice.jobs.retries";

    private record Running(String pipeline, long startNanos) {
    }

    private final MeterRegistry registry;
    private final Map<Lease, Running> running = new ConcurrentHashMap<>();

    public MeteredJobQueue(JobQueue delegate, MeterRegistry registry) {
        super(delegate);
        this.registry = registry;
    }

    private void ended(Lease lease, String outcome) {
        Running r = running.remove(lease);
        if (r != null) {
            Timer.builder(DURATION).description("job attempts run by this process, by pipeline and outcome")
                    .tag("pipeline", r.pipeline).tag("outcome", outcome)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofHours(6))
                    .register(registry).record(System.nanoTime() - r.startNanos, TimeUnit.NANOSECONDS);
        }
    }

    private String pipelineOf(Lease lease) throws SQLException {
        Running r = running.get(lease);
        if (r != null) {
            return r.pipeline;
        }
        return delegate.find(lease.jobId()).map(Job::pipeline).orElse("unknown");
    }


    @Override
    public List<Job> claim(String workerId, int max, Set<String> pipelines) throws SQLException {
        List<Job> claimed = delegate.claim(workerId, max, pipelines);
        long now = System.nanoTime();
        for (Job j : claimed) {
            running.put(j.lease(), new Running(j.pipeline(), now));
        }
        return claimed;
    }

    @Override
    public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                 AlsoWrite alsoWrite) throws SQLException {
        Round round = delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite);
        for (Success s : successes) {
            if (round.succeeded().contains(s.lease())) {
                ended(s.lease(), "succeeded");
            } else {
                running.remove(s.lease());
            }
        }
        long now = System.nanoTime();
        for (Job j : round.claimed()) {
            running.put(j.lease(), new Running(j.pipeline(), now));
        }
        return round;
    }

    @Override
    public LeaseStatus heartbeat(Lease lease) throws SQLException {
        LeaseStatus status = delegate.heartbeat(lease);
        if (!status.owned()) {
            running.remove(lease);
        }
        return status;
    }


    @Override
    public boolean succeed(Lease lease, String resultJson) throws SQLException {
        boolean written = delegate.succeed(lease, resultJson);
        if (written) {
            ended(lease, "succeeded");
        } else {
            running.remove(lease);
        }
        return written;
    }

    @Override
    public Optional<JobState> fail(Lease lease, String code, String message, boolean retryable) throws SQLException {
        String pipeline = pipelineOf(lease);
        Optional<JobState> next = delegate.fail(lease, code, message, retryable);
        if (next.isEmpty()) {
            running.remove(lease);
        } else if (next.get() == JobState.FAILED) {
            ended(lease, "failed");
            Counter.builder(FAILURES).description("jobs failed for good, by pipeline and error code")
                    .tag("pipeline", pipeline).tag("code", code == null ? "unknown" : code)
                    .register(registry).increment();
        } else if (next.get() == JobState.QUEUED) {
            ended(lease, "retry");
            Counter.builder(RETRIES).description("failed job attempts queued to run again, by pipeline")
                    .tag("pipeline", pipeline).register(registry).increment();
        } else {
            ended(lease, next.get() == JobState.CANCELLED ? "cancelled" : "failed");
        }
        return next;
    }

    @Override
    public boolean cancelled(Lease lease) throws SQLException {
        boolean written = delegate.cancelled(lease);
        if (written) {
            ended(lease, "cancelled");
        } else {
            running.remove(lease);
        }
        return written;
    }

    @Override
    public boolean release(Lease lease) throws SQLException {
        boolean written = delegate.release(lease);
        if (written) {
            ended(lease, "released");
        } else {
            running.remove(lease);
        }
        return written;
    }







}
