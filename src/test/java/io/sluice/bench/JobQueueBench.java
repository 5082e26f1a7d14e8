package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.db.Database;
import io.sluice.jobs.JobHandler;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobsConfig;
import io.sluice.jobs.NewJob;
import io.sluice.jobs.SqlJobQueue;
import io.sluice.jobs.WorkerPool;
import io.sluice.upload.IdGenerator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.log;

/**
 * The job queue and worker pool alone, without HTTP, uploads or output files: {@code --count} jobs whose handler
 * returns at once, on a fresh SQLite database in {@code --dir}, drained by a {@link WorkerPool} with
 * {@code --workers} workers. Separates what {@code io.sluice.jobs} costs per job from what the pipeline handler's
 * files cost (compare with {@code bench/run jobs --only noop}). Prints jobs/s from the first start to the last
 * finish. {@code --idle-pipelines N} adds pipelines that have nothing queued.
 */
public final class JobQueueBench {

    private JobQueueBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        int count = args.integer("count", 10_000);
        int workers = args.integer("workers", JobsConfig.DEFAULT_WORKERS);
        Path dir = Files.createTempDirectory(Path.of(args.require("dir")), "queuebench");
        JobsConfig d = JobsConfig.defaults();
        JobsConfig config = new JobsConfig(workers, Map.of(), d.leaseDuration(), d.pollInterval(), d.retention(),
                d.backoffBase(), d.backoffCap(), d.defaultMaxAttempts(), d.defaultTimeout());
        IdGenerator ids = new IdGenerator(Clock.systemUTC());
        try (Database db = Database.openSqlite(dir)) {
            JobSignal signal = new JobSignal();
            SqlJobQueue queue = new SqlJobQueue(db, ids::next, config, signal);
            db.write(c -> {
                for (int i = 0; i < count; i++) {
                    queue.enqueue(c, new NewJob(null, "noop", "k" + i, 5, Duration.ofMinutes(10), Duration.ZERO));
                }
                return null;
            });
            JobHandler handler = context -> JobHandler.Result.none();
            // Other pipelines with nothing queued, as a server configured with several has.
            Map<String, JobHandler> handlers = new java.util.HashMap<>(Map.of("noop", handler));
            for (int i = 0; i < args.integer("idle-pipelines", 0); i++) {
                handlers.put("idle-" + i, handler);
            }
            WorkerPool pool = new WorkerPool(queue, handlers, config, () -> true, signal);
            long t0 = System.nanoTime();
            pool.start();
            long done;
            while ((done = count(db, "SELECT count(*) FROM jobs WHERE state = 'succeeded'")) < count
                    && System.nanoTime() - t0 < Duration.ofMinutes(5).toNanos()) {
                Thread.sleep(100);
            }
            pool.stop(Duration.ofSeconds(10));
            long first = count(db, "SELECT min(started_at) FROM jobs");
            long last = count(db, "SELECT max(finished_at) FROM jobs");
            System.out.println("| " + workers + " | " + count + " | " + done + " | " + fmt((last - first) / 1000.0)
                    + " s | " + fmt(done / ((last - first) / 1000.0)) + " |");
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            log("removed " + dir);
        }
    }

    private static long count(Database db, String sql) throws Exception {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
