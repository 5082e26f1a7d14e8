package io.sluice.jobs;

import io.sluice.db.Database;
import io.sluice.testing.Await;
import io.sluice.testing.Postgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static io.sluice.jobs.JobTestSupport.job;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two "nodes" (two {@link Database} instances, each with its own pool and LISTEN connection) on one PostgreSQL
 * database: their claims never hand one attempt to two workers, and a job enqueued on one node wakes the other's
 * idle workers through LISTEN/NOTIFY although their poll interval is an hour.
 */
class PgNodesTest {

    private static final Set<String> NOOP = Set.of("noop");
    private Database nodeA;
    private Database nodeB;
    private final AtomicLong ids = new AtomicLong();

    @BeforeEach
    void open() throws Exception {
        String url = Postgres.freshDatabase();
        nodeA = Database.openPostgres(url, Postgres.USER, "", 10);
        nodeB = Database.openPostgres(url, Postgres.USER, "", 10);
    }

    @AfterEach
    void close() {
        if (nodeA != null) {
            nodeA.close();
        }
        if (nodeB != null) {
            nodeB.close();
        }
    }

    private SqlJobQueue queue(Database db, Duration pollInterval, JobSignal signal) {
        JobsConfig config = new JobsConfig(4, Map.of(), Duration.ofMinutes(1), pollInterval, Duration.ofDays(7),
                Duration.ofSeconds(10), Duration.ofSeconds(40), 3, Duration.ofMinutes(1));
        return new SqlJobQueue(db, () -> "J%08d".formatted(ids.incrementAndGet()), config, signal);
    }

    @Test
    void twoNodesClaimingWithEightThreadsEachNeverShareAnAttempt() throws Exception {
        int jobs = 200;
        SqlJobQueue a = queue(nodeA, Duration.ofSeconds(1), new JobSignal());
        SqlJobQueue b = queue(nodeB, Duration.ofSeconds(1), new JobSignal());
        nodeA.write(tx -> {
            for (int i = 0; i < jobs; i++) {
                a.enqueue(tx, job("U" + i, "noop", 3, Duration.ofMinutes(1)));
            }
            return null;
        });
        CountDownLatch go = new CountDownLatch(1);
        List<Future<List<Job>>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            for (int w = 0; w < 16; w++) {
                SqlJobQueue q = w % 2 == 0 ? a : b;
                String worker = (w % 2 == 0 ? "a-" : "b-") + w;
                results.add(pool.submit(() -> {
                    go.await();
                    List<Job> mine = new ArrayList<>();
                    for (List<Job> got; !(got = q.claim(worker, 3, NOOP)).isEmpty(); ) {
                        mine.addAll(got);
                    }
                    return mine;
                }));
            }
            go.countDown();
            List<String> claimed = new ArrayList<>();
            Set<String> byA = new HashSet<>();
            Set<String> byB = new HashSet<>();
            for (Future<List<Job>> f : results) {
                for (Job j : f.get()) {
                    claimed.add(j.id());
                    assertThat(j.attempt()).isEqualTo(1);
                    (j.leaseOwner().startsWith("a-") ? byA : byB).add(j.id());
                }
            }
            assertThat(claimed).hasSize(jobs);
            assertThat(new HashSet<>(claimed)).as("no job claimed twice").hasSize(jobs);
            assertThat(byA).as("both nodes claimed").isNotEmpty();
            assertThat(byB).as("both nodes claimed").isNotEmpty();
        }
        for (Job j : a.list(null, null, null, 1000)) {
            assertThat(j.state()).isEqualTo(JobState.RUNNING);
            assertThat(j.attempt()).as("claimed exactly once").isEqualTo(1);
        }
    }

    @Test
    void aJobEnqueuedOnOneNodeWakesTheOthersIdleWorkers() throws Exception {
        JobSignal signalA = new JobSignal();
        SqlJobQueue a = queue(nodeA, Duration.ofHours(1), signalA);
        SqlJobQueue b = queue(nodeB, Duration.ofHours(1), new JobSignal());
        CountDownLatch ran = new CountDownLatch(1);
        JobHandler handler = context -> {
            ran.countDown();
            return JobHandler.Result.none();
        };
        // Counts the pool's claims, so the job is enqueued only after its first look (at start) found nothing: then
        // only a wake-up can make it look again within the hour.
        AtomicLong claims = new AtomicLong();
        JobQueue counted = (JobQueue) java.lang.reflect.Proxy.newProxyInstance(JobQueue.class.getClassLoader(),
                new Class<?>[] {JobQueue.class}, (proxy, method, args) -> {
                    try {
                        return method.invoke(a, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    } finally {
                        if (method.getName().equals("claim") || method.getName().equals("succeedAndClaim")) {
                            claims.incrementAndGet();
                        }
                    }
                });
        WorkerPool workers = new WorkerPool(counted, Map.of("noop", handler), new JobsConfig(2, Map.of(),
                Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(7), Duration.ofSeconds(10),
                Duration.ofSeconds(40), 3, Duration.ofMinutes(1)), () -> true, signalA);
        workers.start();
        try {
            Await.until(Duration.ofSeconds(20), "the pool's first look", () -> claims.get() > 0);
            Job queued = nodeB.write(tx -> b.enqueue(tx, job("U1", "noop", 3, Duration.ofMinutes(1))));
            Await.until(Duration.ofSeconds(20), "node A to run the job node B enqueued (poll interval: 1 h)",
                    () -> a.find(queued.id()).orElseThrow().state() == JobState.SUCCEEDED);
            assertThat(ran.getCount()).isZero();
        } finally {
            workers.stop(Duration.ofSeconds(5));
        }
    }

    @Test
    void concurrentSuccessesAreBatchedAndEachCallerLearnsItsOwnFence() throws Exception {
        int jobs = 120;
        SqlJobQueue a = queue(nodeA, Duration.ofSeconds(1), new JobSignal());
        nodeA.write(tx -> {
            for (int i = 0; i < jobs; i++) {
                a.enqueue(tx, job("U" + i, "noop", 3, Duration.ofMinutes(1)));
            }
            return null;
        });
        List<Job> claimed = a.claim("a-1", jobs, NOOP);
        assertThat(claimed).hasSize(jobs);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            for (int i = 0; i < jobs; i++) {
                Job j = claimed.get(i);
                // Every third caller holds a stale lease (another owner): its fence must not hold.
                Lease lease = i % 3 == 0 ? new Lease(j.id(), "someone-else", j.attempt()) : j.lease();
                results.add(pool.submit(() -> {
                    go.await();
                    return a.succeed(lease, "{\"n\":1}");
                }));
            }
            go.countDown();
            for (int i = 0; i < jobs; i++) {
                boolean applied = results.get(i).get();
                Job now = a.find(claimed.get(i).id()).orElseThrow();
                assertThat(applied).as("caller %d", i).isEqualTo(i % 3 != 0);
                assertThat(now.state()).isEqualTo(i % 3 == 0 ? JobState.RUNNING : JobState.SUCCEEDED);
                if (applied) {
                    assertThat(now.result()).isEqualTo("{\"n\":1}");
                    assertThat(now.finishedAt()).isNotNull();
                }
            }
        }
        assertThat(a.succeed(claimed.getFirst().lease(), "{}")).as("the real owner still can").isTrue();
        assertThat(a.succeed(claimed.getFirst().lease(), "{}")).as("but only once").isFalse();
    }

    @Test
    void theListenerReconnectsAfterItsConnectionIsKilled() throws Exception {
        JobSignal signalA = new JobSignal();
        SqlJobQueue a = queue(nodeA, Duration.ofHours(1), signalA);
        SqlJobQueue b = queue(nodeB, Duration.ofHours(1), new JobSignal());
        AtomicLong claims = new AtomicLong();
        JobQueue counted = (JobQueue) java.lang.reflect.Proxy.newProxyInstance(JobQueue.class.getClassLoader(),
                new Class<?>[] {JobQueue.class}, (proxy, method, args) -> {
                    try {
                        return method.invoke(a, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    } finally {
                        if (method.getName().equals("claim") || method.getName().equals("succeedAndClaim")) {
                            claims.incrementAndGet();
                        }
                    }
                });
        WorkerPool workers = new WorkerPool(counted, Map.of("noop", context -> JobHandler.Result.none()),
                new JobsConfig(2, Map.of(), Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(7),
                        Duration.ofSeconds(10), Duration.ofSeconds(40), 3, Duration.ofMinutes(1)), () -> true, signalA);
        workers.start();
        try {
            Await.until(Duration.ofSeconds(20), "the pool's first look", () -> claims.get() > 0);
            long before = claims.get();
            // Both nodes' LISTEN connections die (a database restart, a network cut, an operator's kill).
            int killed = nodeB.write(tx -> {
                try (var st = tx.createStatement(); var rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) "
                        + "FROM pg_stat_activity WHERE datname = current_database() AND application_name = '"
                        + Database.LISTEN_APPLICATION_NAME + "'")) {
                    rs.next();
                    return rs.getInt(1);
                }
            });
            assertThat(killed).as("the two LISTEN connections").isEqualTo(2);
            // Back, node A's listener LISTENs again and then wakes its workers once (they may have missed a job).
            Await.until(Duration.ofSeconds(30), "node A's listener to reconnect and wake its workers",
                    () -> claims.get() > before);
            Job queued = nodeB.write(tx -> b.enqueue(tx, job("U1", "noop", 3, Duration.ofMinutes(1))));
            Await.until(Duration.ofSeconds(20), "node A to run node B's job through the new LISTEN connection",
                    () -> a.find(queued.id()).orElseThrow().state() == JobState.SUCCEEDED);
        } finally {
            workers.stop(Duration.ofSeconds(5));
        }
    }
}
