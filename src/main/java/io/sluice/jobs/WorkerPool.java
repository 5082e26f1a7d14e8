package io.sluice.jobs;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Runs jobs from a {@link JobQueue} with bounded concurrency: at most {@code workers} at once, at most
 * {@link JobsConfig#concurrency(String)} per pipeline, and a job is claimed only when {@code memoryAllows} says
 * yes. Only pipelines with a handler here are claimed; others stay queued for a process that has one.
 *
 * <p>One poller claims (every poll interval, or at once when signalled by an enqueue or a freed slot) and also
 * rescues expired leases and prunes finished jobs. Each claimed job gets a supervisor virtual thread, which runs
 * the handler on a second virtual thread and meanwhile:
 * <ul>
 *   <li>heartbeats the lease every third of its duration, passing a cancel request or a lost lease to the
 *       handler's next {@link JobContext#checkpoint()} (a lost lease also interrupts it);</li>
 *   <li>enforces the job's time limit: interrupts the handler and fails the attempt with code {@code timeout},
 *       not retryable (the same input would exceed the same limit); if the handler ignores the interrupt, its
 *       slot is freed after {@link #ABANDON_WAIT} and the thread is left to end on its own (logged);</li>
 *   <li>records the outcome: a result succeeds the job, a {@link CancelledException} after a cancel request
 *       cancels it, anything else thrown (errors included, see {@link Failure}) fails the attempt. Nothing the
 *       handler throws escapes the pool.</li>
 * </ul>
 * Every write is fenced by the lease, so a worker that lost its job can never overwrite the outcome of the
 * attempt that replaced it. A job takes a worker slot while its handler runs. A success is handed to the poller,
 * which records it in the same transaction as its next claim ({@link JobQueue#succeedAndClaim}): one commit for the
 * jobs that ended and the jobs that take their slots; a round that fails records nothing and its successes are
 * recorded again, each on its own ({@link SuccessHandOff}). Before a round the poller waits a moment (at most
 * {@link #FULLER_ROUND_WAIT} after the last round launched its jobs) for those jobs' handlers, so that short jobs
 * fill a round instead of each ending one. Other outcomes (failures, cancels) are written by the supervisor while
 * the poller already claims for the slot. At most {@code workers} finished jobs wait for their outcome, and the
 * lease covers a job until its outcome has committed.
 *
 * <p>{@link #stop(Duration)} stops claiming, lets running jobs finish for a grace period, then interrupts the rest
 * and hands them back with {@link JobQueue#release}: queued again at once, the attempt not consumed. A job whose
 * handler has ended is not handed back: its outcome is being written, and stop waits for it.
 */
public final class WorkerPool implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WorkerPool.class);
    /** After interrupting a handler (time limit, stop), how long its slot waits for the thread to end. */
    public static final Duration ABANDON_WAIT = Duration.ofSeconds(5);
    /** Finished jobs are pruned this often (and once at start). */
    public static final Duration PRUNE_INTERVAL = Duration.ofHours(1);
    /**
     * How long after a round launched its jobs the next round may wait for their handlers to end, so that it
     * records them all and claims for all their slots (docs/decisions.md, "Fuller claim rounds, not two in flight").
     */
    static final Duration FULLER_ROUND_WAIT = Duration.ofNanos(300_000); // 0.3 ms

    private final JobQueue queue;
    private final Map<String, JobHandler> handlers;
    private final List<String> pipelines;
    private final JobsConfig config;
    private final BooleanSupplier memoryAllows;
    private final JobSignal signal;
    private final Runnable afterPrune;
    private final String workerId;

    private final Map<String, JobRun> running = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition slotFreed = lock.newCondition();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile Thread poller;
    private int rotation;
    private final SuccessHandOff handOff;
    /** The jobs the latest round launched, and when: {@link #awaitLastRoundsHandlers} waits a moment for them. */
    private Launched lastLaunched = new Launched(List.of(), System.nanoTime());
    private final long fullerRoundWaitNanos;

    private record Launched(List<JobRun> runs, long at) {
    }

    /**
     * @param handlers     the pipelines this pool runs, each with its handler
     * @param memoryAllows asked before each claim; false holds new jobs back (running ones continue)
     * @param signal       the signal the queue raises on enqueue; the pool also raises it when a slot frees
     */
    public WorkerPool(JobQueue queue, Map<String, JobHandler> handlers, JobsConfig config,
                      BooleanSupplier memoryAllows, JobSignal signal) {
        this(queue, handlers, config, memoryAllows, signal, () -> { });
    }

    /**
     * @param afterPrune run on the polling thread after a prune removed jobs, so their outputs go too; must return
     *                   quickly (hand slow work to another thread)
     */
    public WorkerPool(JobQueue queue, Map<String, JobHandler> handlers, JobsConfig config,
                      BooleanSupplier memoryAllows, JobSignal signal, Runnable afterPrune) {
        this(queue, handlers, config, memoryAllows, signal, afterPrune, FULLER_ROUND_WAIT);
    }

    /** @param fullerRoundWait see {@link #FULLER_ROUND_WAIT}; tests stretch it to show what it does */
    WorkerPool(JobQueue queue, Map<String, JobHandler> handlers, JobsConfig config, BooleanSupplier memoryAllows,
               JobSignal signal, Runnable afterPrune, Duration fullerRoundWait) {
        this.fullerRoundWaitNanos = fullerRoundWait.toNanos();
        this.afterPrune = Objects.requireNonNull(afterPrune, "afterPrune");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.handlers = Map.copyOf(handlers);
        this.pipelines = List.copyOf(this.handlers.keySet());
        this.config = Objects.requireNonNull(config, "config");
        this.memoryAllows = Objects.requireNonNull(memoryAllows, "memoryAllows");
        this.signal = Objects.requireNonNull(signal, "signal");
        // Unique per pool instance: fencing compares owners, and a restarted process must not pass for the old one.
        byte[] random = new byte[6];
        ThreadLocalRandom.current().nextBytes(random);
        this.workerId = "w-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(random);
        this.handOff = new SuccessHandOff(queue, signal, this::ended);
    }

    /** The lease owner this pool claims as. */
    public String workerId() {
        return workerId;
    }

    /** Jobs running now, counting those whose handler has ended and whose outcome is still being recorded. */
    public int running() {
        return running.size();
    }

    public void start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("worker pool already started");
        }
        poller = Thread.ofPlatform().daemon().name("sluice-jobs-poller").start(this::pollLoop);
        log.info("job workers started: {} workers, pipelines {}, worker id {}", config.workers(), pipelines,
                workerId);
    }

    /**
     * Stops claiming, waits up to {@code grace} for running jobs to finish, then interrupts the remaining handlers
     * and returns their jobs to the queue (queued, runnable at once, attempt not consumed). Returns how many jobs
     * were returned. Waits at most {@code grace} + {@link #ABANDON_WAIT} (+ a claim in flight).
     */
    public int stop(Duration grace) {
        if (!stopping.compareAndSet(false, true)) {
            return 0;
        }
        signal.signal();
        Thread p = poller;
        if (p != null && !joinQuietly(p, ABANDON_WAIT)) {
            log.warn("the job poller did not stop within {}", ABANDON_WAIT);
        }
        awaitIdle(grace);
        int released = 0;
        for (JobRun run : running.values()) {
            if (run.handlerEnded) {
                continue; // finished: its outcome is being written (awaited below), not handed back
            }
            run.released = true;
            try {
                if (queue.release(run.lease())) {
                    released++;
                    log.info("job {} returned to the queue unfinished (worker stopping)", run.job().id());
                }
            } catch (SQLException e) {
                log.warn("could not return job {} to the queue; its lease will expire and it will be retried: {}",
                        run.job().id(), e.toString());
            }
            run.interrupt();
        }
        if (!awaitIdle(ABANDON_WAIT)) {
            log.warn("{} job handler(s) ignored the interrupt at stop", running.size());
        }
        return released;
    }

    /** Stops without a grace period. */
    @Override
    public void close() {
        stop(Duration.ZERO);
    }

    private void pollLoop() {
        long nextRescue = System.nanoTime();
        long nextPrune = nextRescue;
        long seen = signal.generation();
        while (!stopping.get()) {
            long now = System.nanoTime();
            if (now - nextRescue >= 0) {
                nextRescue = now + config.rescueInterval().toNanos();
                guard("rescuing expired leases", () -> {
                    int n = queue.rescueExpired();
                    if (n > 0) {
                        log.warn("rescued {} job(s) whose worker's lease expired", n);
                    }
                });
            }
            if (now - nextPrune >= 0) {
                nextPrune = now + PRUNE_INTERVAL.toNanos();
                guard("pruning finished jobs", () -> {
                    int n = queue.prune(config.retention());
                    if (n > 0) {
                        log.info("pruned {} finished job(s) older than {}", n, config.retention());
                        afterPrune.run();
                    }
                });
            }
            seen = awaitLastRoundsHandlers(seen);
            guard("claiming jobs", this::claimRound);
            try {
                seen = signal.await(seen, config.pollInterval());
            } catch (InterruptedException e) {
                // Nobody interrupts the poller (stop() signals instead: an interrupt could land inside a claim
                // that has committed); if something does, carry on.
            }
        }
        handOff.close(workerId); // the last successes, claiming nothing; from now on supervisors record their own
    }

    /**
     * Before a round, waits a moment (until {@link #fullerRoundWaitNanos} after their launch) for the handlers the
     * last round launched: short jobs end within it, and a round that records them all and claims for all their
     * slots costs one statement and commit instead of several. A handler still running past it (any real job) costs
     * no further wait: the round then records what has ended, as without this wait.
     */
    private long awaitLastRoundsHandlers(long seen) {
        Launched last = lastLaunched;
        long deadline = last.at() + fullerRoundWaitNanos;
        while (!stopping.get() && deadline - System.nanoTime() > 0 && !allEnded(last.runs())) {
            try {
                // A handler that ends signals (SuccessHandOff.offer, or the supervisor for other outcomes).
                seen = signal.await(seen, Duration.ofNanos(deadline - System.nanoTime()));
            } catch (InterruptedException e) {
                break; // nobody interrupts the poller (see pollLoop); if something does, go on with the round
            }
        }
        return seen;
    }

    private static boolean allEnded(List<JobRun> runs) {
        for (JobRun run : runs) {
            if (!run.handlerEnded) {
                return false;
            }
        }
        return true;
    }

    /**
     * Claims, pipeline by pipeline in rotating order (so none starves), as many jobs as there are free slots, and
     * records the successes handed over since the last round, all in one transaction: one commit for the jobs that
     * ended and those that take their slots.
     */
    private void claimRound() throws SQLException {
        handOff.recordRetries();
        List<JobRun> ended = handOff.take();
        try {
            // Outcomes still being recorded are bounded too (as many as there are workers), so a slow database
            // holds claims back instead of letting finished-but-unrecorded jobs pile up.
            int globalFree = Math.min(config.workers() - busy(null), 2 * config.workers() - running.size());
            Map<String, Integer> free = new LinkedHashMap<>();
            int n = pipelines.size();
            int first = rotation++ % Math.max(1, n);
            for (int k = 0; k < n && globalFree > 0; k++) {
                String pipeline = pipelines.get((first + k) % n);
                int slots = Math.min(globalFree, config.concurrency(pipeline) - busy(pipeline));
                if (slots > 0) {
                    free.put(pipeline, slots);
                }
            }
            if (stopping.get() || free.isEmpty() || !memoryAllows()) {
                free = Map.of();
            }
            if (ended.isEmpty() && free.isEmpty()) {
                return;
            }
            JobQueue.Round round = queue.succeedAndClaim(SuccessHandOff.successes(ended), workerId,
                    Math.max(0, globalFree), free, JobQueue.AlsoWrite.NOTHING);
            List<JobRun> done = ended;
            ended = List.of();
            handOff.recorded(done, round.succeeded());
            List<JobRun> launched = new ArrayList<>(round.claimed().size());
            for (Job job : round.claimed()) {
                launched.add(launch(job));
            }
            if (!launched.isEmpty()) {
                lastLaunched = new Launched(launched, System.nanoTime());
            }
        } finally {
            // A round that failed recorded none of them (nothing of a failed transaction counts): try again.
            if (!ended.isEmpty()) {
                handOff.giveBack(ended);
            }
        }
    }

    private boolean memoryAllows() {
        try {
            return memoryAllows.getAsBoolean();
        } catch (RuntimeException e) {
            log.warn("memory check failed, holding jobs back: {}", e.toString());
            return false;
        }
    }

    /**
     * Worker slots taken (in {@code pipeline}, or in all when null): runs whose handler has not ended. A run whose
     * handler has ended and whose outcome is being recorded holds its lease until that commits, but no slot, so the
     * next job's claim can share the outcome's commit instead of waiting for it.
     */
    private int busy(String pipeline) {
        int count = 0;
        for (JobRun run : running.values()) {
            if (!run.handlerEnded && (pipeline == null || run.job().pipeline().equals(pipeline))) {
                count++;
            }
        }
        return count;
    }

    private JobRun launch(Job job) {
        JobRun run = new JobRun(queue, job);
        running.put(job.id(), run);
        try {
            Thread.ofVirtual().name("sluice-job-supervisor-" + job.id()).start(() -> supervise(run));
        } catch (Throwable e) {
            running.remove(job.id());
            log.error("could not start job {}; returning it to the queue", job.id(), e);
            guard("returning job " + job.id(), () -> queue.release(run.lease()));
        }
        return run;
    }

    private void supervise(JobRun run) {
        Job job = run.job();
        boolean handedOver = false;
        try {
            log.debug("job {} ({}) attempt {} started", job.id(), job.pipeline(), job.attempt());
            Thread handler = run.start(handlers.get(job.pipeline()));
            long startedAt = System.nanoTime();
            long limit = saturatedNanos(job.timeout());
            long beatEvery = config.heartbeatInterval().toNanos();
            long nextBeat = startedAt + beatEvery;
            while (true) {
                long now = System.nanoTime();
                long wait = Math.max(1, Math.min(limit - (now - startedAt), nextBeat - now));
                if (joinQuietly(handler, Duration.ofNanos(wait))) {
                    break;
                }
                if (!handler.isAlive()) {
                    break; // ended just as the wait did: its outcome counts, not the time limit
                }
                now = System.nanoTime();
                if (now - startedAt >= limit) {
                    timeOut(run, handler);
                    return;
                }
                if (now - nextBeat >= 0 && !run.leaseLost) {
                    heartbeat(run);
                    nextBeat = System.nanoTime() + beatEvery;
                }
            }
            // The slot is free once the handler has ended: the poller claims the next job now, and on SQLite that
            // claim and this outcome share a group commit (the lease is held, and fences, until the outcome commits).
            run.handlerEnded = true;
            if (!run.released && run.outcome() instanceof JobHandler.Result && handOff.offer(run)) {
                handedOver = true;
                return; // the poller records it with its next claim and ends the run
            }
            signal.signal();
            finish(run);
        } catch (Throwable e) {
            // The lease will expire and the job be rescued; the pool itself carries on.
            log.error("supervising job {} failed", job.id(), e);
        } finally {
            if (!handedOver) {
                ended(run);
                signal.signal();
            }
        }
    }

    /** The run's outcome is recorded (or given up on): it no longer counts as running. */
    private void ended(JobRun run) {
        running.remove(run.job().id());
        lock.lock();
        try {
            slotFreed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void heartbeat(JobRun run) {
        try {
            LeaseStatus status = queue.heartbeat(run.lease());
            if (!status.owned()) {
                if (!run.released) {
                    log.warn("job {} attempt {}: lease lost, stopping the handler", run.job().id(),
                            run.job().attempt());
                }
                run.leaseLost = true;
                run.interrupt();
            } else if (status.cancelRequested() && !run.cancelRequested) {
                log.info("job {}: cancel requested, stopping at the next checkpoint", run.job().id());
                run.cancelRequested = true;
            }
        } catch (SQLException | RuntimeException e) {
            // Two more heartbeats fit in the lease; if they fail too, the job is rescued elsewhere.
            log.warn("heartbeat for job {} failed: {}", run.job().id(), e.toString());
        }
    }

    private void timeOut(JobRun run, Thread handler) {
        Job job = run.job();
        run.timedOut = true;
        handler.interrupt();
        if (!run.released) {
            try {
                Optional<JobState> next = queue.fail(run.lease(), "timeout",
                        "the processor ran longer than its time limit of " + job.timeout(), false);
                log.warn("job {} ({}) attempt {} timed out after {}{}", job.id(), job.pipeline(), job.attempt(),
                        job.timeout(), next.map(s -> "; now " + s.dbValue()).orElse("; lease already lost"));
            } catch (SQLException e) {
                log.warn("could not record the timeout of job {}; its lease will expire: {}", job.id(),
                        e.toString());
            }
        }
        if (!joinQuietly(handler, ABANDON_WAIT)) {
            log.warn("job {}: the handler ignored the interrupt for {}; abandoning its thread", job.id(),
                    ABANDON_WAIT);
        }
    }

    private void finish(JobRun run) throws SQLException {
        Job job = run.job();
        if (run.released) {
            return;
        }
        Object outcome = run.outcome();
        if (outcome instanceof JobHandler.Result result) {
            if (queue.succeed(run.lease(), result.json())) {
                log.debug("job {} succeeded", job.id());
            } else {
                log.warn("job {} attempt {} finished but was fenced out (lease lost); its result is discarded",
                        job.id(), job.attempt());
            }
            return;
        }
        Throwable thrown = outcome instanceof Throwable t ? t : new IllegalStateException("handler left no outcome");
        if (thrown instanceof CancelledException && run.cancelRequested) {
            if (queue.cancelled(run.lease())) {
                log.info("job {} cancelled at a checkpoint", job.id());
            }
            return;
        }
        if (run.leaseLost) {
            log.info("job {} attempt {} stopped after losing its lease", job.id(), job.attempt());
            return;
        }
        Failure failure = Failure.of(thrown);
        Optional<JobState> next = queue.fail(run.lease(), failure.code(), failure.message(), failure.retryable());
        if (!(thrown instanceof Exception) || thrown instanceof JobFailedException
                || thrown instanceof CancelledException) {
            // Expected failures, and errors whose stack says little (a StackOverflowError's has 1024 frames).
            log.warn("job {} ({}) attempt {} failed: {} {}{}", job.id(), job.pipeline(), job.attempt(),
                    failure.code(), failure.message(), next.map(s -> "; now " + s.dbValue()).orElse(""));
        } else {
            log.warn("job {} ({}) attempt {} failed: {}{}", job.id(), job.pipeline(), job.attempt(),
                    failure.code(), next.map(s -> "; now " + s.dbValue()).orElse(""), thrown);
        }
    }

    /** Waits until no job runs or {@code timeout} passes; returns whether none runs. */
    private boolean awaitIdle(Duration timeout) {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            // Supervisors remove their run and then signal under this lock, so no wake-up is missed.
            while (!running.isEmpty() && nanos > 0) {
                nanos = slotFreed.awaitNanos(nanos);
            }
            return running.isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return running.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** A job's time limit in nanoseconds, at most about 73 years, so that arithmetic on it cannot overflow. */
    private static long saturatedNanos(Duration d) {
        return d.compareTo(Duration.ofNanos(Long.MAX_VALUE / 4)) > 0 ? Long.MAX_VALUE / 4 : d.toNanos();
    }

    private static boolean joinQuietly(Thread t, Duration timeout) {
        try {
            return t.join(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !t.isAlive();
        }
    }

    @FunctionalInterface
    private interface Step {
        void run() throws Exception;
    }

    /** Maintenance and claims never end the poller: a failure is logged and tried again next round. */
    private static void guard(String what, Step step) {
        try {
            step.run();
        } catch (Throwable e) {
            log.warn("{} failed: {}", what, e.toString());
        }
    }
}
