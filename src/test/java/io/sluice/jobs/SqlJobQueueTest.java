package io.sluice.jobs;

import io.sluice.db.Database;
import io.sluice.testing.Await;
import io.sluice.upload.IdGenerator;
import io.sluice.upload.SqlUploadRepository;
import io.sluice.upload.Upload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static io.sluice.jobs.JobTestSupport.count;
import static io.sluice.jobs.JobTestSupport.enqueue;
import static io.sluice.jobs.JobTestSupport.find;
import static io.sluice.jobs.JobTestSupport.job;
import static io.sluice.jobs.JobTestSupport.update;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * {@link SqlJobQueue} on a real SQLite database (and, by {@link PgSqlJobQueueTest}, on PostgreSQL): every state transition, idempotent and transactional enqueue,
 * exclusive claims, lease expiry and rescue, the fenced-completion race, backoff, and pruning. Time-based states
 * are reached by short leases and polling, or by moving a column into the past, never by sleeping.
 */
class SqlJobQueueTest {

    private static final String A = "worker-a";
    private static final String B = "worker-b";
    private static final Set<String> PDF = Set.of("pdf");
    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    @TempDir
    Path dataDir;
    private Database db;
    private final IdGenerator ids = new IdGenerator(Clock.systemUTC());
    /** Job ids in enqueue order, so that jobs enqueued in the same millisecond still sort predictably. */
    private final AtomicLong jobIds = new AtomicLong();
    /** Lease 60 s, backoff 10..40 s: nothing expires or becomes ready by itself during a test. */
    private SqlJobQueue queue;

    /** The database the cases run on; {@link PgSqlJobQueueTest} runs the same cases on PostgreSQL. */
    Database openDatabase(Path dataDir) throws Exception {
        return Database.openSqlite(dataDir);
    }

    @BeforeEach
    void setUp() throws Exception {
        db = openDatabase(dataDir);
        queue = queue(Duration.ofSeconds(60), Duration.ofSeconds(10), Duration.ofSeconds(40));
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private SqlJobQueue queue(Duration lease, Duration backoffBase, Duration backoffCap) {
        return new SqlJobQueue(db, () -> "J%08d".formatted(jobIds.incrementAndGet()),
                JobTestSupport.config(4, Map.of(), lease, backoffBase, backoffCap), new JobSignal());
    }

    private Job enqueuePdf(String uploadId, int maxAttempts) throws SQLException {
        return enqueue(db, queue, job(uploadId, "pdf", maxAttempts, TIMEOUT));
    }

    private Job claimOne(JobQueue q, String worker) throws SQLException {
        List<Job> claimed = q.claim(worker, 1, PDF);
        assertThat(claimed).as("one job claimed by %s", worker).hasSize(1);
        return claimed.getFirst();
    }

    /** Makes a queued job ready now, as if its backoff had passed. */
    private void makeReady(String id) throws SQLException {
        assertThat(update(db, "UPDATE jobs SET run_at = 0 WHERE id = ? AND state = 'queued'", id)).isEqualTo(1);
    }

    @Test
    void enqueueCreatesAQueuedJob() throws Exception {
        Job j = enqueuePdf("U1", 3);
        assertThat(j.state()).isEqualTo(JobState.QUEUED);
        assertThat(j.uploadId()).isEqualTo("U1");
        assertThat(j.pipeline()).isEqualTo("pdf");
        assertThat(j.idempotencyKey()).isEqualTo(NewJob.key("U1", "pdf"));
        assertThat(j.attempt()).isZero();
        assertThat(j.maxAttempts()).isEqualTo(3);
        assertThat(j.timeout()).isEqualTo(TIMEOUT);
        assertThat(j.progress()).isZero();
        assertThat(j.cancelRequested()).isFalse();
        assertThat(j.leaseOwner()).isNull();
        assertThat(j.runAt()).isEqualTo(j.createdAt()).isEqualTo(j.updatedAt());
        assertThat(j.createdAt()).as("database clock, near this machine's")
                .isBetween(Instant.now().minusSeconds(60), Instant.now().plusSeconds(60));
        assertThat(j.startedAt()).isNull();
        assertThat(j.finishedAt()).isNull();
        assertThat(find(queue, j.id())).isEqualTo(j);
    }

    @Test
    void statsCountQueuedAndRunningPerPipelineAndTheOldestWait() throws Exception {
        assertThat(queue.stats().queued()).isZero();
        assertThat(queue.stats().oldestQueuedDue()).isNull();
        enqueuePdf("U1", 3);
        enqueuePdf("U2", 3);
        enqueuePdf("U3", 3);
        Job running = claimOne(queue, A);
        QueueStats stats = queue.stats();
        assertThat(stats.byPipeline()).containsOnlyKeys("pdf");
        assertThat(stats.byPipeline().get("pdf")).isEqualTo(new QueueStats.Counts(2, 1));
        assertThat(stats.queued()).isEqualTo(2);
        assertThat(stats.running()).isEqualTo(1);
        assertThat(stats.oldestQueuedDue()).isNotNull();
        assertThat(stats.oldestQueuedAge(stats.oldestQueuedDue().plusSeconds(5))).isEqualTo(Duration.ofSeconds(5));
        assertThat(stats.oldestQueuedAge(stats.oldestQueuedDue().minusSeconds(5))).isEqualTo(Duration.ZERO);
        queue.succeed(running.lease(), "{}");
        assertThat(queue.stats().running()).as("finished jobs are not counted").isZero();
    }

    @Test
    void enqueueIsIdempotentOnTheKey() throws Exception {
        Job first = enqueuePdf("U1", 3);
        Job again = enqueuePdf("U1", 5);
        assertThat(again).as("the existing job, unchanged").isEqualTo(first);
        assertThat(count(db)).isEqualTo(1);

        // Still the same job once it has finished: re-running it is retry's business.
        Job running = claimOne(queue, A);
        assertThat(queue.succeed(running.lease(), "{}")).isTrue();
        Job afterFinish = enqueuePdf("U1", 3);
        assertThat(afterFinish.id()).isEqualTo(first.id());
        assertThat(afterFinish.state()).isEqualTo(JobState.SUCCEEDED);

        Job otherPipeline = enqueue(db, queue, job("U1", "thumbnail", 3, TIMEOUT));
        Job otherUpload = enqueuePdf("U2", 3);
        assertThat(Set.of(first.id(), otherPipeline.id(), otherUpload.id())).hasSize(3);
        assertThat(count(db)).isEqualTo(3);
    }

    @Test
    void enqueueCommitsAndRollsBackWithTheUploadRecord() throws Exception {
        SqlUploadRepository uploads = new SqlUploadRepository(db);
        Upload upload = new Upload(ids.next(), "report.pdf", 10, "00", "application/pdf", Instant.now(), "key",
                null, Map.of(), null);
        assertThatThrownBy(() -> db.write(tx -> {
            uploads.insert(tx, upload);
            queue.enqueue(tx, job(upload.id(), "pdf", 3, TIMEOUT));
            throw new SQLException("the rest of the request failed");
        })).hasMessageContaining("the rest of the request failed");
        assertThat(uploads.find(upload.id())).isEmpty();
        assertThat(count(db)).as("the job rolled back with the upload").isZero();
        assertThat(queue.claim(A, 10, PDF)).isEmpty();

        Job committed = db.write(tx -> {
            uploads.insert(tx, upload);
            return queue.enqueue(tx, job(upload.id(), "pdf", 3, TIMEOUT));
        });
        assertThat(uploads.find(upload.id())).isPresent();
        assertThat(find(queue, committed.id()).state()).isEqualTo(JobState.QUEUED);
    }

    @Test
    void enqueueWakesWaitingWorkers() throws Exception {
        JobSignal signal = new JobSignal();
        SqlJobQueue q = new SqlJobQueue(db, ids::next, JobTestSupport.config(4, Map.of(), Duration.ofSeconds(60),
                Duration.ofSeconds(1), Duration.ofSeconds(1)), signal);
        long seen = signal.generation();
        enqueue(db, q, job("U1", "pdf", 3, TIMEOUT));
        assertThat(signal.await(seen, Duration.ZERO)).as("signalled").isGreaterThan(seen);
        long after = signal.generation();
        enqueue(db, q, job("U1", "pdf", 3, TIMEOUT));
        assertThat(signal.generation()).as("a duplicate enqueue inserts nothing and wakes nobody").isEqualTo(after);
    }

    @Test
    void claimLeasesReadyJobsOfTheGivenPipelinesOldestFirst() throws Exception {
        Job first = enqueuePdf("U1", 3);
        Job second = enqueuePdf("U2", 3);
        Job third = enqueuePdf("U3", 3);
        Job other = enqueue(db, queue, job("U4", "thumbnail", 3, TIMEOUT));
        Job later = enqueue(db, queue, new NewJob("U5", "pdf", "later", 3, TIMEOUT, Duration.ofHours(1)));

        List<Job> claimed = queue.claim(A, 2, PDF);
        assertThat(claimed).extracting(Job::id).containsExactly(first.id(), second.id());
        for (Job j : claimed) {
            assertThat(j.state()).isEqualTo(JobState.RUNNING);
            assertThat(j.attempt()).isEqualTo(1);
            assertThat(j.leaseOwner()).isEqualTo(A);
            assertThat(j.startedAt()).isNotNull();
            assertThat(Duration.between(j.startedAt(), j.leaseExpiresAt()))
                    .as("lease = database now + lease duration").isEqualTo(Duration.ofSeconds(60));
            assertThat(j.lease()).isEqualTo(new Lease(j.id(), A, 1));
        }
        assertThat(queue.claim(B, 10, PDF)).extracting(Job::id).as("not the delayed job, not the other pipeline")
                .containsExactly(third.id());
        assertThat(queue.claim(B, 10, PDF)).isEmpty();
        assertThat(queue.claim(B, 10, Set.of("pdf", "thumbnail"))).extracting(Job::id).containsExactly(other.id());
        assertThat(queue.claim(B, 0, PDF)).isEmpty();
        assertThat(queue.claim(B, 10, Set.of())).isEmpty();
        assertThat(find(queue, later.id()).state()).isEqualTo(JobState.QUEUED);
        assertThatThrownBy(() -> find(queue, later.id()).lease()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void claimNeverHandsTheSameAttemptToTwoWorkers() throws Exception {
        int jobs = 120;
        int workers = 8;
        for (int i = 0; i < jobs; i++) {
            enqueuePdf("U" + i, 3);
        }
        CountDownLatch go = new CountDownLatch(1);
        List<Future<List<Job>>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(workers)) {
            for (int w = 0; w < workers; w++) {
                String worker = "worker-" + w;
                results.add(pool.submit(() -> {
                    go.await();
                    List<Job> mine = new ArrayList<>();
                    while (true) {
                        List<Job> got = queue.claim(worker, 3, PDF);
                        if (got.isEmpty()) {
                            return mine;
                        }
                        mine.addAll(got);
                    }
                }));
            }
            go.countDown();
            List<String> claimedIds = new ArrayList<>();
            for (Future<List<Job>> f : results) {
                for (Job j : f.get()) {
                    claimedIds.add(j.id());
                    assertThat(j.attempt()).isEqualTo(1);
                }
            }
            assertThat(claimedIds).hasSize(jobs);
            assertThat(new HashSet<>(claimedIds)).as("no job claimed twice").hasSize(jobs);
        }
        for (Job j : queue.list(null, null, null, 1000)) {
            assertThat(j.state()).isEqualTo(JobState.RUNNING);
            assertThat(j.attempt()).isEqualTo(1);
        }
    }

    @Test
    void runningToSucceeded() throws Exception {
        Job j = enqueuePdf("U1", 3);
        Lease lease = claimOne(queue, A).lease();
        assertThat(queue.progress(lease, 40, "extracting", 12L)).isTrue();
        Job mid = find(queue, j.id());
        assertThat(mid.progress()).isEqualTo(40);
        assertThat(mid.stage()).isEqualTo("extracting");
        assertThat(mid.etaSeconds()).isEqualTo(12L);
        assertThatThrownBy(() -> queue.progress(lease, 101, null, null)).isInstanceOf(IllegalArgumentException.class);

        assertThat(queue.succeed(lease, "{\"pages\":3}")).isTrue();
        Job done = find(queue, j.id());
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.result()).isEqualTo("{\"pages\":3}");
        assertThat(done.progress()).isEqualTo(100);
        assertThat(done.etaSeconds()).isNull();
        assertThat(done.leaseExpiresAt()).isNull();
        assertThat(done.finishedAt()).isNotNull();

        // A finished job takes no more writes through its old lease.
        assertThat(queue.succeed(lease, "{}")).isFalse();
        assertThat(queue.fail(lease, "x", "y", true)).isEmpty();
        assertThat(queue.progress(lease, 10, null, null)).isFalse();
        assertThat(queue.heartbeat(lease)).isEqualTo(LeaseStatus.LOST);
        assertThat(queue.release(lease)).isFalse();
        assertThat(find(queue, j.id())).isEqualTo(done);
    }

    @Test
    void retryableFailureRequeuesWithBackoffThenAttemptsRunOut() throws Exception {
        Job j = enqueuePdf("U1", 2);
        Lease first = claimOne(queue, A).lease();
        assertThat(queue.fail(first, "upstream_down", "503 from the target", true)).contains(JobState.QUEUED);
        Job waiting = find(queue, j.id());
        assertThat(waiting.state()).isEqualTo(JobState.QUEUED);
        assertThat(waiting.errorCode()).isEqualTo("upstream_down");
        assertThat(waiting.errorMessage()).isEqualTo("503 from the target");
        assertThat(waiting.finishedAt()).isNull();
        assertThat(waiting.leaseExpiresAt()).isNull();
        assertThat(Duration.between(waiting.updatedAt(), waiting.runAt()))
                .as("equal jitter after attempt 1: [base/2, base]")
                .isBetween(Duration.ofSeconds(5), Duration.ofSeconds(10));
        assertThat(queue.claim(B, 10, PDF)).as("not before its backoff").isEmpty();

        makeReady(j.id());
        Job second = claimOne(queue, B);
        assertThat(second.attempt()).isEqualTo(2);
        assertThat(second.errorCode()).as("the last error stays visible while retrying").isEqualTo("upstream_down");
        assertThat(queue.fail(second.lease(), "upstream_down", "again", true))
                .as("attempts exhausted").contains(JobState.FAILED);
        Job failed = find(queue, j.id());
        assertThat(failed.state()).isEqualTo(JobState.FAILED);
        assertThat(failed.errorMessage()).isEqualTo("again");
        assertThat(failed.finishedAt()).isNotNull();
    }

    @Test
    void nonRetryableFailureFailsAtOnce() throws Exception {
        Job j = enqueuePdf("U1", 5);
        Lease lease = claimOne(queue, A).lease();
        String longMessage = "x".repeat(SqlJobQueue.MAX_MESSAGE_LENGTH + 100);
        assertThat(queue.fail(lease, "not_a_pdf", longMessage, false)).contains(JobState.FAILED);
        Job failed = find(queue, j.id());
        assertThat(failed.state()).isEqualTo(JobState.FAILED);
        assertThat(failed.attempt()).isEqualTo(1);
        assertThat(failed.errorMessage()).hasSize(SqlJobQueue.MAX_MESSAGE_LENGTH);
    }

    @Test
    void backoffScheduleGrowsPerAttemptUpToTheCap() throws Exception {
        Job j = enqueuePdf("U1", 6);
        Duration[][] bounds = {
                {Duration.ofSeconds(5), Duration.ofSeconds(10)},
                {Duration.ofSeconds(10), Duration.ofSeconds(20)},
                {Duration.ofSeconds(20), Duration.ofSeconds(40)},
                {Duration.ofSeconds(20), Duration.ofSeconds(40)},
        };
        for (int attempt = 1; attempt <= bounds.length; attempt++) {
            if (attempt > 1) {
                makeReady(j.id());
            }
            Job running = claimOne(queue, A);
            assertThat(running.attempt()).isEqualTo(attempt);
            assertThat(queue.fail(running.lease(), "e", "m", true)).contains(JobState.QUEUED);
            Job waiting = find(queue, j.id());
            assertThat(Duration.between(waiting.updatedAt(), waiting.runAt())).as("delay after attempt %d", attempt)
                    .isBetween(bounds[attempt - 1][0], bounds[attempt - 1][1]);
        }
    }

    @Test
    void queuedToCancelled() throws Exception {
        Job j = enqueuePdf("U1", 3);
        Job cancelled = queue.cancel(j.id()).orElseThrow();
        assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
        assertThat(cancelled.finishedAt()).isNotNull();
        assertThat(queue.claim(A, 10, PDF)).isEmpty();
        assertThat(queue.cancel("no-such-job")).isEmpty();
    }

    @Test
    void runningToCancelledAtTheWorkersCheckpoint() throws Exception {
        Job j = enqueuePdf("U1", 3);
        Lease lease = claimOne(queue, A).lease();
        assertThat(queue.heartbeat(lease)).isEqualTo(new LeaseStatus(true, false));
        assertThat(queue.cancelled(lease)).as("no cancel was requested").isFalse();

        Job requested = queue.cancel(j.id()).orElseThrow();
        assertThat(requested.state()).as("still running until the worker stops").isEqualTo(JobState.RUNNING);
        assertThat(requested.cancelRequested()).isTrue();
        assertThat(queue.heartbeat(lease)).isEqualTo(new LeaseStatus(true, true));

        assertThat(queue.cancelled(lease)).isTrue();
        Job cancelled = find(queue, j.id());
        assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
        assertThat(cancelled.finishedAt()).isNotNull();
        assertThat(queue.heartbeat(lease)).isEqualTo(LeaseStatus.LOST);
    }

    @Test
    void aCancelRequestWinsOverARetry() throws Exception {
        Job failing = enqueuePdf("U1", 3);
        Lease lease = claimOne(queue, A).lease();
        queue.cancel(failing.id());
        assertThat(queue.fail(lease, "boom", "failed while being cancelled", true)).contains(JobState.CANCELLED);

        Job released = enqueuePdf("U2", 3);
        Lease lease2 = claimOne(queue, A).lease();
        queue.cancel(released.id());
        assertThat(queue.release(lease2)).isTrue();
        assertThat(find(queue, released.id()).state()).isEqualTo(JobState.CANCELLED);
    }

    @Test
    void failedAndCancelledJobsCanBeRetried() throws Exception {
        Job j = enqueuePdf("U1", 1);
        Lease lease = claimOne(queue, A).lease();
        queue.progress(lease, 50, "half", 3L);
        assertThat(queue.fail(lease, "boom", "m", true)).as("its only attempt").contains(JobState.FAILED);

        Job retried = queue.retry(j.id(), 2).orElseThrow();
        assertThat(retried.state()).isEqualTo(JobState.QUEUED);
        assertThat(retried.attempt()).as("the fencing token is never reset").isEqualTo(1);
        assertThat(retried.maxAttempts()).isEqualTo(3);
        assertThat(retried.errorCode()).isNull();
        assertThat(retried.finishedAt()).isNull();
        assertThat(retried.progress()).isZero();
        assertThat(retried.stage()).isNull();

        Job again = claimOne(queue, B);
        assertThat(again.attempt()).isEqualTo(2);
        queue.cancel(j.id());
        assertThat(queue.cancelled(again.lease())).isTrue();
        Job fromCancelled = queue.retry(j.id(), 1).orElseThrow();
        assertThat(fromCancelled.state()).isEqualTo(JobState.QUEUED);
        assertThat(fromCancelled.cancelRequested()).isFalse();
        assertThat(fromCancelled.maxAttempts()).isEqualTo(3);

        Job third = claimOne(queue, A);
        assertThat(queue.succeed(third.lease(), null)).isTrue();
        Job succeeded = find(queue, j.id());
        assertThat(queue.retry(j.id(), 1)).as("succeeded jobs are not retried").contains(succeeded);
        assertThat(queue.cancel(j.id())).as("nor cancelled").contains(succeeded);
        assertThat(queue.retry("no-such-job", 1)).isEmpty();
        assertThatThrownBy(() -> queue.retry(j.id(), 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void releaseReturnsTheJobWithoutConsumingTheAttempt() throws Exception {
        Job j = enqueuePdf("U1", 1);
        Lease lease = claimOne(queue, A).lease();
        assertThat(queue.release(lease)).isTrue();
        Job released = find(queue, j.id());
        assertThat(released.state()).isEqualTo(JobState.QUEUED);
        assertThat(released.attempt()).isEqualTo(1);
        assertThat(released.maxAttempts()).as("one attempt given back").isEqualTo(2);
        assertThat(released.leaseExpiresAt()).isNull();

        Job next = claimOne(queue, B);
        assertThat(next.attempt()).isEqualTo(2);
        assertThat(queue.succeed(lease, "{}")).as("the released lease stays fenced out").isFalse();
        assertThat(queue.succeed(next.lease(), "{}")).isTrue();
    }

    @Test
    void expiredLeaseIsRescuedThenRetried() throws Exception {
        SqlJobQueue shortLease = queue(Duration.ofMillis(200), Duration.ofMillis(1), Duration.ofMillis(1));
        Job j = enqueue(db, shortLease, job("U1", "pdf", 2, TIMEOUT));
        Job first = claimOne(shortLease, A);
        assertThat(shortLease.rescueExpired()).as("the lease is still valid").isZero();

        Await.until(Duration.ofSeconds(20), "the lease to expire and be rescued",
                () -> shortLease.rescueExpired() == 1);
        Job rescued = find(shortLease, j.id());
        assertThat(rescued.state()).isEqualTo(JobState.QUEUED);
        assertThat(rescued.errorCode()).isEqualTo("lease_expired");
        assertThat(rescued.leaseExpiresAt()).isNull();

        Await.until(Duration.ofSeconds(20), "the backoff to pass", () -> !shortLease.claim(B, 1, PDF).isEmpty());
        Job second = find(shortLease, j.id());
        assertThat(second.attempt()).isEqualTo(2);
        assertThat(second.leaseOwner()).isEqualTo(B);
        assertThat(shortLease.heartbeat(first.lease())).isEqualTo(LeaseStatus.LOST);

        Await.until(Duration.ofSeconds(20), "the second lease to expire and be rescued",
                () -> shortLease.rescueExpired() == 1);
        Job failed = find(shortLease, j.id());
        assertThat(failed.state()).as("attempts exhausted").isEqualTo(JobState.FAILED);
        assertThat(failed.errorCode()).isEqualTo("lease_expired");
        assertThat(failed.finishedAt()).isNotNull();
    }

    @Test
    void heartbeatKeepsTheLeaseAlive() throws Exception {
        SqlJobQueue shortLease = queue(Duration.ofMillis(400), Duration.ofMillis(1), Duration.ofMillis(1));
        enqueue(db, shortLease, job("U1", "pdf", 2, TIMEOUT));
        Job running = claimOne(shortLease, A);
        Instant firstExpiry = running.leaseExpiresAt();
        Await.until(Duration.ofSeconds(20), "a renewal to move the expiry", () -> {
            assertThat(shortLease.heartbeat(running.lease()).owned()).isTrue();
            return find(shortLease, running.id()).leaseExpiresAt().isAfter(firstExpiry);
        });
    }

    @Test
    void fencedCompletionRace() throws Exception {
        SqlJobQueue shortLease = queue(Duration.ofMillis(200), Duration.ofMillis(1), Duration.ofMillis(1));
        Job j = enqueue(db, shortLease, job("U1", "pdf", 3, TIMEOUT));
        Lease a = claimOne(shortLease, A).lease();

        // A stalls (a long GC pause, a partition): its lease expires and B takes attempt 2.
        Await.until(Duration.ofSeconds(20), "A's lease to be rescued", () -> shortLease.rescueExpired() == 1);
        Await.until(Duration.ofSeconds(20), "B to claim", () -> !shortLease.claim(B, 1, PDF).isEmpty());
        Job atB = find(shortLease, j.id());
        Lease b = atB.lease();
        assertThat(b).isEqualTo(new Lease(j.id(), B, 2));

        // A wakes up and tries to finish: every write is fenced out.
        assertThat(shortLease.heartbeat(a)).isEqualTo(LeaseStatus.LOST);
        assertThat(shortLease.progress(a, 99, "A", null)).isFalse();
        assertThat(shortLease.succeed(a, "{\"by\":\"A\"}")).isFalse();
        assertThat(shortLease.fail(a, "e", "m", true)).isEmpty();
        assertThat(shortLease.cancelled(a)).isFalse();
        assertThat(shortLease.release(a)).isFalse();
        assertThat(find(shortLease, j.id())).as("A changed nothing").isEqualTo(atB);

        assertThat(shortLease.succeed(b, "{\"by\":\"B\"}")).isTrue();
        assertThat(shortLease.succeed(a, "{\"by\":\"A\"}")).isFalse();
        Job done = find(shortLease, j.id());
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.result()).isEqualTo("{\"by\":\"B\"}");
        assertThat(done.attempt()).isEqualTo(2);
        assertThat(done.leaseOwner()).isEqualTo(B);

        // The same worker id cannot write with a stale attempt number either.
        assertThat(shortLease.succeed(new Lease(j.id(), B, 1), "{}")).isFalse();
    }

    @Test
    void succeedAndClaimRefusesAnOutcomeWhoseLeaseWasLostAndStillClaimsInTheSameTransaction() throws Exception {
        SqlJobQueue shortLease = queue(Duration.ofMillis(200), Duration.ofMillis(1), Duration.ofMillis(1));
        Job stale = enqueue(db, shortLease, job("U1", "pdf", 3, TIMEOUT));
        Lease a = claimOne(shortLease, A).lease();
        // A stalls: its lease expires and another node (B) takes attempt 2.
        Await.until(Duration.ofSeconds(20), "A's lease to be rescued", () -> shortLease.rescueExpired() == 1);
        Await.until(Duration.ofSeconds(20), "B to claim", () -> !shortLease.claim(B, 1, PDF).isEmpty());
        Job atB = find(shortLease, stale.id());
        // A's other job, still validly leased, and a queued job for A's freed slots.
        Job valid = enqueue(db, queue, job("U2", "pdf", 3, TIMEOUT));
        Lease v = claimOne(queue, A).lease();
        Job next = enqueue(db, queue, job("U3", "pdf", 3, TIMEOUT));

        List<Job> witnessed = new ArrayList<>();
        JobQueue.Round round = queue.succeedAndClaim(List.of(new JobQueue.Success(a, "{\"by\":\"A\"}"),
                new JobQueue.Success(v, "{\"ok\":true}")), A, 2, Map.of("pdf", 2),
                (tx, jobs) -> witnessed.addAll(jobs));

        assertThat(round.succeeded()).as("only the valid lease's success took effect").containsExactly(v);
        assertThat(find(queue, stale.id())).as("the stale outcome changed nothing").isEqualTo(atB);
        assertThat(round.claimed()).extracting(Job::id).as("the claim happened anyway").containsExactly(next.id());
        Job claimed = round.claimed().getFirst();
        assertThat(claimed.state()).isEqualTo(JobState.RUNNING);
        assertThat(claimed.attempt()).isEqualTo(1);
        assertThat(claimed.leaseOwner()).isEqualTo(A);
        assertThat(find(queue, next.id())).isEqualTo(claimed);
        Job done = find(queue, valid.id());
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(done.result()).isEqualTo("{\"ok\":true}");
        assertThat(done.progress()).isEqualTo(100);
        assertThat(done.leaseExpiresAt()).isNull();
        assertThat(done.finishedAt()).isNotNull();
        assertThat(witnessed).as("written in the transaction: the jobs that succeeded, as they now are")
                .containsExactly(done);
        // Nothing to succeed and nothing due: an empty round.
        JobQueue.Round empty = queue.succeedAndClaim(List.of(), A, 4, Map.of("pdf", 4), JobQueue.AlsoWrite.NOTHING);
        assertThat(empty.succeeded()).isEmpty();
        assertThat(empty.claimed()).isEmpty();
    }

    @Test
    void succeedAndClaimClaimsPipelineByPipelineWithinEachLimitAndTheTotal() throws Exception {
        for (int i = 0; i < 3; i++) {
            enqueuePdf("P" + i, 3);
            enqueue(db, queue, job("X" + i, "xlsx", 3, TIMEOUT));
            enqueue(db, queue, job("Z" + i, "zip", 3, TIMEOUT));
        }
        Map<String, Integer> limits = new LinkedHashMap<>();
        limits.put("pdf", 1);
        limits.put("xlsx", 5);
        limits.put("zip", 5);
        JobQueue.Round round = queue.succeedAndClaim(List.of(), A, 4, limits, JobQueue.AlsoWrite.NOTHING);
        assertThat(round.claimed()).extracting(Job::pipeline)
                .containsExactlyInAnyOrder("pdf", "xlsx", "xlsx", "xlsx");
        assertThat(queue.stats().byPipeline().get("zip").queued()).as("the total was reached first").isEqualTo(3);
    }

    @Test
    void aFailedSucceedAndClaimRecordsNothingAndClaimsNothing() throws Exception {
        enqueuePdf("U1", 3);
        Job running = claimOne(queue, A);
        Job next = enqueuePdf("U2", 3);
        JobQueue.Success success = new JobQueue.Success(running.lease(), "{}");

        assertThatThrownBy(() -> queue.succeedAndClaim(List.of(success), A, 1, Map.of("pdf", 1), (tx, jobs) -> {
            throw new SQLException("injected failure after both statements");
        })).isInstanceOf(SQLException.class).hasMessageContaining("injected");
        assertThat(find(queue, running.id())).as("the success rolled back").isEqualTo(running);
        Job stillQueued = find(queue, next.id());
        assertThat(stillQueued.state()).as("the claim rolled back").isEqualTo(JobState.QUEUED);
        assertThat(stillQueued.attempt()).isZero();

        // Run again with the same success: recorded once, and the next job claimed once, at attempt 1.
        JobQueue.Round round = queue.succeedAndClaim(List.of(success), A, 1, Map.of("pdf", 1),
                JobQueue.AlsoWrite.NOTHING);
        assertThat(round.succeeded()).containsExactly(running.lease());
        assertThat(round.claimed()).extracting(Job::id, Job::attempt).containsExactly(
                tuple(next.id(), 1));
        assertThat(find(queue, running.id()).state()).isEqualTo(JobState.SUCCEEDED);
        // And a third time: the success is already recorded (fenced out now), nothing more is claimed.
        JobQueue.Round again = queue.succeedAndClaim(List.of(success), A, 1, Map.of("pdf", 1),
                JobQueue.AlsoWrite.NOTHING);
        assertThat(again.succeeded()).isEmpty();
        assertThat(again.claimed()).isEmpty();
    }

    @Test
    void pruneRemovesOnlyOldFinishedJobs() throws Exception {
        Job oldSucceeded = enqueuePdf("U1", 1);
        assertThat(queue.succeed(claimOne(queue, A).lease(), "{}")).isTrue();
        Job oldFailed = enqueuePdf("U2", 1);
        assertThat(queue.fail(claimOne(queue, A).lease(), "e", "m", false)).contains(JobState.FAILED);
        Job oldCancelled = enqueuePdf("U3", 1);
        queue.cancel(oldCancelled.id());
        Job recentSucceeded = enqueuePdf("U4", 1);
        assertThat(queue.succeed(claimOne(queue, A).lease(), "{}")).isTrue();
        Job oldRunning = enqueuePdf("U5", 1);
        claimOne(queue, A);
        Job oldQueued = enqueue(db, queue, new NewJob("U6", "pdf", "k6", 1, TIMEOUT, Duration.ofDays(1)));

        long twoHoursAgo = Instant.now().minus(Duration.ofHours(2)).toEpochMilli();
        for (Job j : List.of(oldSucceeded, oldFailed, oldCancelled)) {
            assertThat(update(db, "UPDATE jobs SET finished_at = ?, created_at = ? WHERE id = ?", twoHoursAgo,
                    twoHoursAgo, j.id())).isEqualTo(1);
        }
        update(db, "UPDATE jobs SET created_at = ?, updated_at = ? WHERE id IN (?, ?)", twoHoursAgo, twoHoursAgo,
                oldQueued.id(), oldRunning.id());

        assertThat(queue.prune(Duration.ofHours(1))).isEqualTo(3);
        assertThat(queue.find(oldSucceeded.id())).isEmpty();
        assertThat(queue.find(oldFailed.id())).isEmpty();
        assertThat(queue.find(oldCancelled.id())).isEmpty();
        assertThat(find(queue, recentSucceeded.id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(find(queue, oldQueued.id()).state()).isEqualTo(JobState.QUEUED);
        assertThat(find(queue, oldRunning.id()).state()).isEqualTo(JobState.RUNNING);
        assertThat(queue.prune(Duration.ofHours(1))).isZero();
    }

    @Test
    void listFiltersAndPagesNewestFirst() throws Exception {
        List<String> pdfIds = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            pdfIds.add(enqueuePdf("U" + i, 3).id());
        }
        Job thumb = enqueue(db, queue, job("T", "thumbnail", 3, TIMEOUT));
        claimOne(queue, A);
        Collections.reverse(pdfIds);

        assertThat(queue.list(null, null, null, 100)).hasSize(6).first().extracting(Job::id).isEqualTo(thumb.id());
        List<Job> page1 = queue.list(null, "pdf", null, 3);
        assertThat(page1).extracting(Job::id).containsExactlyElementsOf(pdfIds.subList(0, 3));
        List<Job> page2 = queue.list(null, "pdf", page1.getLast().id(), 3);
        assertThat(page2).extracting(Job::id).containsExactlyElementsOf(pdfIds.subList(3, 5));
        assertThat(queue.list(JobState.RUNNING, null, null, 10)).extracting(Job::id)
                .containsExactly(pdfIds.getLast());
        assertThat(queue.list(JobState.QUEUED, "thumbnail", null, 10)).extracting(Job::id)
                .containsExactly(thumb.id());
        assertThat(queue.list(JobState.FAILED, null, null, 10)).isEmpty();
        Optional<Job> none = queue.find("nope");
        assertThat(none).isEmpty();
    }
}
