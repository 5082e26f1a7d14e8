package io.sluice.jobs;

import io.sluice.util.Backoff;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Background jobs: the {@code jobs.*} keys, built by {@code ConfigLoader} (which also fills
 * {@code pipelineConcurrency} from the pipelines' {@code concurrency}). This record checks only what makes the queue
 * or the pool meaningless; {@code ConfigLoader} adds the user-facing ranges.
 *
 * @param workers             jobs running at once in this process, >= 1
 * @param pipelineConcurrency per pipeline, jobs running at once (each 1..workers); a pipeline not named here may use
 *                            all {@code workers}
 * @param leaseDuration       a claim is valid this long unless renewed; heartbeats renew it every third of it
 * @param pollInterval        idle workers look for ready jobs this often (an enqueue in this process wakes them
 *                            early)
 * @param retention           finished jobs are pruned this long after they finished
 * @param backoffBase         retry delay ceiling after the first failed attempt
 * @param backoffCap          largest retry delay, >= backoffBase
 * @param defaultMaxAttempts  attempts of a job whose pipeline does not say otherwise, >= 1
 * @param defaultTimeout      longest run of one attempt, unless the pipeline says otherwise
 */
public record JobsConfig(int workers, Map<String, Integer> pipelineConcurrency, Duration leaseDuration,
                         Duration pollInterval, Duration retention, Duration backoffBase, Duration backoffCap,
                         int defaultMaxAttempts, Duration defaultTimeout) {

    /** Jobs also wait on I/O (webhooks, storage); heavy ones are held back by memory admission, not by this. */
    public static final int DEFAULT_WORKERS = 4;
    /** Long enough that a GC pause or a slow commit never loses a lease; a crashed worker's job waits this long. */
    public static final Duration DEFAULT_LEASE_DURATION = Duration.ofSeconds(30);
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
    public static final Duration DEFAULT_BACKOFF_BASE = Duration.ofSeconds(5);
    public static final Duration DEFAULT_BACKOFF_CAP = Duration.ofMinutes(10);
    public static final int DEFAULT_MAX_ATTEMPTS = 5;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
    /** Retries spread over [ceiling/2, ceiling): never immediate, still de-synchronised. */
    public static final Backoff.Jitter JITTER = Backoff.Jitter.EQUAL;

    public JobsConfig {
        pipelineConcurrency = Map.copyOf(Objects.requireNonNull(pipelineConcurrency, "pipelineConcurrency"));
        if (workers < 1) {
            throw new IllegalArgumentException("jobs.workers must be >= 1, was " + workers);
        }
        pipelineConcurrency.forEach((pipeline, limit) -> {
            if (limit < 1 || limit > workers) {
                throw new IllegalArgumentException("jobs.pipelineConcurrency." + pipeline + " must be 1.."
                        + workers + " (jobs.workers), was " + limit);
            }
        });
        positive("jobs.leaseDuration", leaseDuration);
        positive("jobs.pollInterval", pollInterval);
        positive("jobs.retention", retention);
        positive("jobs.defaultTimeout", defaultTimeout);
        positive("jobs.backoffBase", backoffBase);
        positive("jobs.backoffCap", backoffCap);
        if (backoffCap.compareTo(backoffBase) < 0) {
            throw new IllegalArgumentException("jobs.backoffCap must be >= jobs.backoffBase (" + backoffBase
                    + "), was " + backoffCap);
        }
        if (defaultMaxAttempts < 1) {
            throw new IllegalArgumentException("jobs.defaultMaxAttempts must be >= 1, was " + defaultMaxAttempts);
        }
    }

    public static JobsConfig defaults() {
        return new JobsConfig(DEFAULT_WORKERS, Map.of(), DEFAULT_LEASE_DURATION, DEFAULT_POLL_INTERVAL,
                DEFAULT_RETENTION, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT);
    }

    /** The job that runs {@code pipeline} over an upload, with the default attempts and time limit. */
    public NewJob jobFor(String uploadId, String pipeline) {
        return NewJob.forUpload(uploadId, pipeline, defaultMaxAttempts, defaultTimeout);
    }

    public Backoff backoff() {
        return new Backoff(backoffBase, backoffCap, JITTER);
    }

    /** Jobs of {@code pipeline} allowed to run at once in this process. */
    public int concurrency(String pipeline) {
        return pipelineConcurrency.getOrDefault(pipeline, workers);
    }

    /** Three renewals per lease: two can fail (a slow commit, a pause) before the lease is lost. */
    public Duration heartbeatInterval() {
        return leaseDuration.dividedBy(3);
    }

    /** Expired leases are looked for twice per lease duration. */
    public Duration rescueInterval() {
        return leaseDuration.dividedBy(2);
    }

    private static void positive(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + " must be > 0, was " + d);
        }
    }
}
