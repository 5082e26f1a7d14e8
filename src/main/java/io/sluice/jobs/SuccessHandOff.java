package io.sluice.jobs;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The successes a {@link WorkerPool}'s supervisors hand to its claim rounds: a round records the ones handed over
 * since the last round in the same transaction as its claims ({@link JobQueue#succeedAndClaim}). A round that
 * fails records none of them; they are recorded again, each in a transaction of its own. Once {@link #close}d
 * (the pool's rounds have ended), supervisors record their outcome themselves. Safe for several rounds at once:
 * each success is taken by exactly one of them.
 */
final class SuccessHandOff {

    private static final Logger log = LoggerFactory.getLogger(SuccessHandOff.class);

    private final JobQueue queue;
    private final JobSignal signal;
    /** Called once per run whose outcome is recorded (or given up on). */
    private final Consumer<JobRun> ended;
    /** Guards itself, {@link #retrying} and {@link #closed}. */
    private final List<JobRun> succeeded = new ArrayList<>();
    /**
     * Successes of a round whose transaction failed (so none of it counts): recorded again next round, each on its
     * own, so that one that cannot be written does not hold back every claim.
     */
    private final List<JobRun> retrying = new ArrayList<>();
    private boolean closed;

    SuccessHandOff(JobQueue queue, JobSignal signal, Consumer<JobRun> ended) {
        this.queue = queue;
        this.signal = signal;
        this.ended = ended;
    }

    /** Hands a success to the next round; false once closed (the supervisor records it itself). */
    boolean offer(JobRun run) {
        synchronized (succeeded) {
            if (closed) {
                return false;
            }
            succeeded.add(run);
        }
        signal.signal();
        return true;
    }

    /** The successes handed over since the last take, for one round to record. */
    List<JobRun> take() {
        synchronized (succeeded) {
            List<JobRun> taken = List.copyOf(succeeded);
            succeeded.clear();
            return taken;
        }
    }

    /** A round that failed recorded nothing (a failed transaction leaves nothing behind): they are retried. */
    void giveBack(List<JobRun> runs) {
        synchronized (succeeded) {
            retrying.addAll(runs);
        }
        signal.signal();
    }

    /**
     * Records each success of a failed round in a transaction of its own. One that fails again is given up: the
     * job stays running until its lease expires and is then retried, as after a crash (at-least-once).
     */
    void recordRetries() {
        List<JobRun> again;
        synchronized (succeeded) {
            if (retrying.isEmpty()) {
                return;
            }
            again = List.copyOf(retrying);
            retrying.clear();
        }
        for (JobRun run : again) {
            try {
                boolean applied = queue.succeed(run.lease(), ((JobHandler.Result) run.outcome()).json());
                recorded(List.of(run), applied ? Set.of(run.lease()) : Set.of());
            } catch (SQLException | RuntimeException e) {
                log.warn("could not record the success of job {}; its lease will expire and it will be retried: {}",
                        run.job().id(), e.toString());
                ended.accept(run);
            }
        }
    }

    /** The pool's rounds have all ended: records what was handed over, claiming nothing, and takes no more. */
    void close(String workerId) {
        List<JobRun> last;
        synchronized (succeeded) {
            closed = true;
            last = take();
        }
        if (!last.isEmpty()) {
            try {
                recorded(last, queue.succeedAndClaim(successes(last), workerId, 0, Map.of(),
                        JobQueue.AlsoWrite.NOTHING).succeeded());
            } catch (SQLException | RuntimeException e) {
                log.warn("recording the success of {} job(s) at stop failed, trying each alone: {}", last.size(),
                        e.toString());
                giveBack(last);
            }
        }
        recordRetries();
    }

    static List<JobQueue.Success> successes(List<JobRun> runs) {
        List<JobQueue.Success> out = new ArrayList<>(runs.size());
        for (JobRun run : runs) {
            out.add(new JobQueue.Success(run.lease(), ((JobHandler.Result) run.outcome()).json()));
        }
        return out;
    }

    /** The round that held {@code runs} has committed: logs each outcome and ends each run. */
    void recorded(List<JobRun> runs, Set<Lease> applied) {
        for (JobRun run : runs) {
            if (applied.contains(run.lease())) {
                log.debug("job {} succeeded", run.job().id());
            } else {
                log.warn("job {} attempt {} finished but was fenced out (lease lost); its result is discarded",
                        run.job().id(), run.job().attempt());
            }
            ended.accept(run);
        }
    }
}
