package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;
import io.sluice.db.Database;
import io.sluice.jobs.JobHandler;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobsConfig;
import io.sluice.jobs.NewJob;
import io.sluice.jobs.SqlJobQueue;
import io.sluice.jobs.WorkerPool;
import io.sluice.upload.IdGenerator;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.fmt2;
import static io.sluice.bench.BenchSupport.loadAverage;
import static io.sluice.bench.BenchSupport.log;
import static io.sluice.bench.BenchSupport.median;

/**
 * No-op jobs per second against the raw commit rate of the same database, measured in the same run: the issue 14
 * jobs row ({@code bench/run jobs --only noop}). {@code --db sqlite} (a fresh data directory per round under
 * {@code --dir}, the server's settings: WAL, {@code synchronous=FULL}) or {@code --db postgres} (an embedded
 * PostgreSQL 18, as the tests start it, {@code fsync} and {@code synchronous_commit} on; a fresh database per round;
 * skipped loudly when it cannot start).
 *
 * <p>Per round: {@code --count} queued jobs are inserted, then
 * <ol>
 *   <li>the anchor: one thread commits, one after the other for {@value #ANCHOR_MILLIS} ms, transactions of one
 *       {@code INSERT} and one {@code UPDATE} of a scratch table, through the same {@link Database} (so through
 *       SQLite's group-commit gate with nothing to group, as a lone writer);</li>
 *   <li>a {@link WorkerPool} of {@code --workers} (default: the {@code jobs.workers} default) on {@link SqlJobQueue}
 *       with a handler that only counts its calls drains them: jobs/s from the first {@code started_at} to the last
 *       {@code finished_at};</li>
 *   <li>the anchor again; the round's commit rate is the mean of the two.</li>
 * </ol>
 * Each round checks exactly-once: every job succeeded at its first attempt and the handler ran {@code --count}
 * times. Prints per-round figures, the medians, the ratio jobs/s : commits/s and the 1-minute load average
 * ({@code --header yes} prints the table's header first).
 */
public final class NoopJobsBench {

    static final long ANCHOR_MILLIS = 2_000;

    private NoopJobsBench() {
    }

    /** One database under test: a fresh, migrated {@link Database} per round. */
    private interface Target extends AutoCloseable {
        Database fresh(int round) throws Exception;

        @Override
        void close() throws Exception;
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        Report report = new Report(args.get("summary", null));
        String kind = args.get("db", "sqlite");
        int count = args.integer("count", 10_000);
        int rounds = args.integer("rounds", 3);
        int workers = args.integer("workers", JobsConfig.DEFAULT_WORKERS);
        double target = kind.equals("postgres") ? 5_000 : 2_000;
        if (args.get("header", "no").equals("yes")) {
            report.line("");
            report.line(header());
        }
        Target t;
        if (kind.equals("sqlite")) {
            Path root = Files.createTempDirectory(Path.of(args.require("dir")), "noop-jobs");
            t = new Target() {
                @Override
                public Database fresh(int round) throws Exception {
                    return Database.openSqlite(Files.createDirectories(root.resolve("round-" + round)));
                }

                @Override
                public void close() throws Exception {
                    try (Stream<Path> files = Files.walk(root)) {
                        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    }
                }
            };
        } else if (kind.equals("postgres")) {
            EmbeddedPostgres pg;
            try {
                pg = EmbeddedPostgres.builder().setServerConfig("max_connections", "100").start();
            } catch (Throwable e) {
                report.line("| PostgreSQL | " + workers + " | SKIPPED: embedded PostgreSQL could not start here ("
                        + e + ") | | | | | |");
                System.err.println("*** SKIPPING the PostgreSQL no-op jobs benchmark: " + e);
                return;
            }
            t = new Target() {
                @Override
                public Database fresh(int round) throws Exception {
                    String name = "noop_bench_" + ProcessHandle.current().pid() + "_" + round;
                    try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                        st.execute("CREATE DATABASE " + name);
                    }
                    return Database.openPostgres("jdbc:postgresql://localhost:" + pg.getPort() + "/" + name,
                            "postgres", "", workers + 8);
                }

                @Override
                public void close() throws Exception {
                    pg.close();
                }
            };
        } else {
            throw new IllegalArgumentException("--db must be sqlite or postgres, was " + kind);
        }
        String loadBefore = loadAverage();
        double[] jobRates = new double[rounds];
        double[] commitRates = new double[rounds];
        StringBuilder each = new StringBuilder();
        boolean exactlyOnce = true;
        try (t) {
            for (int r = 0; r < rounds; r++) {
                try (Database db = t.fresh(r)) {
                    Round result = round(db, count, workers);
                    jobRates[r] = result.jobsPerSecond;
                    commitRates[r] = result.commitsPerSecond;
                    exactlyOnce &= result.exactlyOnce;
                    log(kind + " round " + (r + 1) + ": " + fmt(result.jobsPerSecond) + " jobs/s, raw commits "
                            + fmt(result.commitsPerSecond) + "/s, " + result.note + ", load " + loadAverage());
                    each.append(each.isEmpty() ? "" : " / ").append(fmt(result.jobsPerSecond)).append(" : ")
                            .append(fmt(result.commitsPerSecond));
                }
            }
        }
        double jobs = median(jobRates.clone());
        double commits = median(commitRates.clone());
        report.line("| " + (kind.equals("sqlite") ? "SQLite" : "PostgreSQL") + " | " + workers + " | " + count
                + " | " + each + " | " + fmt(jobs) + " | " + fmt(commits) + " | " + fmt2(jobs / commits) + "x | "
                + (jobs >= target ? "MET" : "MISSED") + " (>= " + fmt(target) + ") | "
                + (exactlyOnce ? "yes" : "NO") + " | " + loadBefore.split(" ")[0] + " -> "
                + loadAverage().split(" ")[0] + " |");
        if (!exactlyOnce) {
            throw new IllegalStateException("a job ran more than once or did not succeed at its first attempt");
        }
    }

    /** The table's header, for bench/run. */
    static String header() {
        return "| database | jobs.workers | jobs | rounds (jobs/s : raw commits/s) | median jobs/s "
                + "| median raw commits/s | ratio | target | exactly once | load (1 min) |\n"
                + "|---|---|---|---|---|---|---|---|---|---|";
    }

    private record Round(double jobsPerSecond, double commitsPerSecond, boolean exactlyOnce, String note) {
    }

    private static Round round(Database db, int count, int workers) throws Exception {
        JobsConfig d = JobsConfig.defaults();
        JobsConfig config = new JobsConfig(workers, Map.of(), d.leaseDuration(), d.pollInterval(), d.retention(),
                d.backoffBase(), d.backoffCap(), d.defaultMaxAttempts(), d.defaultTimeout());
        JobSignal signal = new JobSignal();
        SqlJobQueue queue = new SqlJobQueue(db, new IdGenerator(Clock.systemUTC())::next, config, signal);
        for (int from = 0; from < count; from += 1000) {
            int start = from;
            db.write(tx -> {
                for (int i = start; i < Math.min(count, start + 1000); i++) {
                    queue.enqueue(tx, new NewJob(null, "noop", "k" + i, 5, Duration.ofMinutes(10), Duration.ZERO));
                }
                return null;
            });
        }
        db.write(tx -> {
            try (Statement st = tx.createStatement()) {
                st.execute("CREATE TABLE bench_commits (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
            }
            return null;
        });
        AtomicLong nextId = new AtomicLong();
        double before = anchor(db, nextId);
        AtomicLong calls = new AtomicLong();
        JobHandler noop = context -> {
            calls.incrementAndGet();
            return JobHandler.Result.none();
        };
        WorkerPool pool = new WorkerPool(queue, Map.of("noop", noop), config, () -> true, signal);
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        pool.start();
        try {
            while (scalar(db, "SELECT count(*) FROM jobs WHERE state = 'succeeded'") < count
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            pool.stop(Duration.ofSeconds(10));
        }
        double after = anchor(db, nextId);
        long succeeded = scalar(db, "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1");
        long first = scalar(db, "SELECT min(started_at) FROM jobs");
        long last = scalar(db, "SELECT max(finished_at) FROM jobs");
        boolean once = succeeded == count && calls.get() == count;
        return new Round(count / ((last - first) / 1000.0), (before + after) / 2, once,
                succeeded + " succeeded at attempt 1, handler ran " + calls.get() + " times, anchor "
                        + fmt(before) + " / " + fmt(after) + " commits/s");
    }

    /** Serial transactions of one INSERT and one UPDATE for {@link #ANCHOR_MILLIS}; commits per second. */
    private static double anchor(Database db, AtomicLong nextId) throws Exception {
        long t0 = System.nanoTime();
        long end = t0 + Duration.ofMillis(ANCHOR_MILLIS).toNanos();
        long n = 0;
        while (System.nanoTime() < end) {
            long id = nextId.incrementAndGet();
            db.write(tx -> {
                try (PreparedStatement ins = tx.prepareStatement("INSERT INTO bench_commits (id, n) VALUES (?, 0)");
                     PreparedStatement upd = tx.prepareStatement("UPDATE bench_commits SET n = n + 1 WHERE id = ?")) {
                    ins.setLong(1, id);
                    ins.executeUpdate();
                    upd.setLong(1, id);
                    upd.executeUpdate();
                }
                return null;
            });
            n++;
        }
        return n / ((System.nanoTime() - t0) / 1e9);
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
