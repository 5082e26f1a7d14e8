package io.sluice.jobs;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.util.Objects;

/**
 * One attempt in progress in a {@link WorkerPool}: the handler's context and the flags its supervisor sets. The
 * flags only ever go from false to true; the supervisor reads them to decide what, if anything, to write when the
 * handler ends.
 */
final class JobRun implements JobContext {

    private static final Logger log = LoggerFactory.getLogger(JobRun.class);
    /** Progress writes without a stage change are at most this frequent; each one is a database write. */
    static final long PROGRESS_MIN_INTERVAL_NANOS = 250_000_000L;

    private final JobQueue queue;
    private final Job job;
    private final Lease lease;

    volatile boolean cancelRequested;
    volatile boolean leaseLost;
    volatile boolean timedOut;
    /** The handler's thread has ended (its outcome is being recorded): the run no longer takes a worker slot. */
    volatile boolean handlerEnded;
    /** Handed back to the queue by a stopping pool: nothing more may be written for this attempt. */
    volatile boolean released;
    /** A {@link JobHandler.Result} or the {@link Throwable} the handler ended with; set once, by the handler thread. */
    private volatile Object outcome;
    private volatile Thread thread;

    private long lastProgressWrite;
    private String lastStage;
    private boolean progressWritten;

    JobRun(JobQueue queue, Job job) {
        this.queue = queue;
        this.job = job;
        this.lease = job.lease();
    }

    Lease lease() {
        return lease;
    }

    Object outcome() {
        return outcome;
    }

    /** Starts the handler on its own virtual thread; everything it throws becomes the outcome. */
    Thread start(JobHandler handler) {
        Thread t = Thread.ofVirtual().name("sluice-job-" + job.id()).unstarted(() -> {
            try {
                JobHandler.Result r = handler.run(this);
                outcome = r == null ? JobHandler.Result.none() : r;
            } catch (Throwable e) {
                outcome = e;
            }
        });
        thread = t;
        t.start();
        return t;
    }

    void interrupt() {
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }

    @Override
    public Job job() {
        return job;
    }

    @Override
    public synchronized void progress(int percent, String stage, Long etaSeconds) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent must be 0..100, was " + percent);
        }
        long now = System.nanoTime();
        boolean due = !progressWritten || !Objects.equals(stage, lastStage)
                || now - lastProgressWrite >= PROGRESS_MIN_INTERVAL_NANOS;
        if (!due || leaseLost) {
            return;
        }
        try {
            if (!queue.progress(lease, percent, stage, etaSeconds)) {
                leaseLost = true;
            }
            progressWritten = true;
            lastProgressWrite = now;
            lastStage = stage;
        } catch (SQLException e) {
            log.debug("progress of job {} not recorded: {}", job.id(), e.toString());
        }
    }

    @Override
    public void checkpoint() {
        if (leaseLost) {
            throw new CancelledException("job " + job.id() + " lost its lease");
        }
        if (cancelRequested) {
            throw new CancelledException("job " + job.id() + " was cancelled");
        }
        if (timedOut) {
            throw new CancelledException("job " + job.id() + " ran past its time limit of " + job.timeout());
        }
        if (released) {
            throw new CancelledException("the worker is stopping; job " + job.id() + " returns to the queue");
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new CancelledException("job " + job.id() + " was interrupted");
        }
    }

    @Override
    public boolean cancelRequested() {
        return cancelRequested;
    }
}
