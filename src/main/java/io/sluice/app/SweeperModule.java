package io.sluice.app;

import io.sluice.db.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One background thread for periodic file and database work (expiry sweeps, output sweeps, the database headroom):
 * its own thread, so that such work can never delay the memory samples admission reads. Modules schedule on it from
 * their {@code start}; it stops after them and before the database, so a sweep in the middle of a write finishes it.
 */
public final class SweeperModule implements Module {

    private static final Logger log = LoggerFactory.getLogger(SweeperModule.class);
    /** How often a released database headroom is looked at for restoring (a look is one statfs). */
    static final long HEADROOM_CHECK_MILLIS = 1_000;
    /** How long a sweep in progress at shutdown may take to finish before the database closes. */
    private static final Duration FINISH_WAIT = Duration.ofSeconds(5);

    private final Database db;
    private final long diskReserve;
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sluice-sweeper");
        t.setDaemon(true);
        return t;
    });

    public SweeperModule(Database db, long diskReserve) {
        this.db = db;
        this.diskReserve = diskReserve;
    }

    /** Periodic work; what it throws is logged, and it runs again at the next period. */
    @FunctionalInterface
    public interface Task {
        void run() throws Exception;
    }

    /** Runs {@code task} every {@code period} (first after one period); a failure is logged as "{what} failed". */
    public void every(Duration period, String what, Task task) {
        long millis = period.toMillis();
        executor.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (Exception e) {
                log.warn("{} failed: {}", what, e.toString());
            }
        }, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code task} once, soon (e.g. the outputs sweep right after a prune: listing a bucket may take a while). */
    public void execute(Runnable task) {
        executor.execute(task);
    }

    @Override
    public String name() {
        return "sweeper";
    }

    @Override
    public void start() {
        if (db.headroom().size() > 0) {
            // Written at the first start, and again once the disk has room after it was released; a failed attempt
            // is retried here, never in a request.
            executor.scheduleWithFixedDelay(() -> db.headroom().restore(diskReserve), 0, HEADROOM_CHECK_MILLIS,
                    TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void stop() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(FINISH_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
