package io.sluice.jobs;

import io.sluice.db.Database;
import io.sluice.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static io.sluice.jobs.JobTestSupport.LONG;
import static io.sluice.jobs.JobTestSupport.enqueue;
import static io.sluice.jobs.JobTestSupport.find;
import static io.sluice.jobs.JobTestSupport.job;
import static io.sluice.jobs.JobTestSupport.update;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link WorkerPool} over a real SQLite queue: jobs run, retry, time out, cancel, survive errors, respect
 * concurrency and memory limits, and go back to the queue on a graceful stop. Leases are short (1.2 s, a heartbeat
 * every 400 ms) so lease-driven behaviour shows quickly; every wait polls for a state with a generous bound.
 */
class WorkerPoolTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration LEASE = Duration.ofMillis(1200);

    @TempDir
    Path dataDir;
    private Database db;
    private final JobSignal signal = new JobSignal();
    private final AtomicLong jobIds = new AtomicLong();
    private SqlJobQueue queue;
    private final List<WorkerPool> pools = new ArrayList<>();
    /** Released at teardown so that no test handler outlives its test. */
    private final CountDownLatch endOfTest = new CountDownLatch(1);

    @BeforeEach
    void setUp() throws Exception {
        db = Database.openSqlite(dataDir);
        queue = new SqlJobQueue(db, () -> "J%08d".formatted(jobIds.incrementAndGet()), config(4, Map.of()), signal);
    }

    @AfterEach
    void tearDown() {
        endOfTest.countDown();
        pools.forEach(p -> p.stop(Duration.ZERO));
        db.close();
    }

    private static JobsConfig config(int workers, Map<String, Integer> perPipeline) {
        return JobTestSupport.config(workers, perPipeline, LEASE, Duration.ofMillis(10), Duration.ofMillis(50));
    }

    private WorkerPool start(JobsConfig config, Map<String, JobHandler> handlers) {
        return start(config, handlers, () -> true);
    }

    private WorkerPool start(JobsConfig config, Map<String, JobHandler> handlers, BooleanSupplier memoryAllows) {
        WorkerPool pool = new WorkerPool(queue, handlers, config, memoryAllows, signal);
        pools.add(pool);
        pool.start();
        return pool;
    }

    private Job enqueueJob(String uploadId, String pipeline, int maxAttempts, Duration timeout) throws SQLException {
        return enqueue(db, queue, job(uploadId, pipeline, maxAttempts, timeout));
    }

    private void awaitState(Job job, JobState state) throws Exception {
        Await.until(WAIT, "job " + job.id() + " to be " + state.dbValue(),
                () -> find(queue, job.id()).state() == state);
    }

    private void awaitIdle(WorkerPool pool) throws Exception {
        Await.until(WAIT, "the pool to have no job running", () -> pool.running() == 0);
    }

    @Test
    void runsJobsAndRecordsTheirResultAndProgress() throws Exception {
        List<String> seenUploads = new ArrayList<>();
        WorkerPool pool = start(config(4, Map.of()), Map.of("pdf", ctx -> {
            ctx.progress(50, "half", 1L);
            ctx.checkpoint();
            synchronized (seenUploads) {
                seenUploads.add(ctx.job().uploadId());
            }
            return JobHandler.Result.json("{\"upload\":\"" + ctx.job().uploadId() + "\"}");
        }));
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(enqueueJob("U" + i, "pdf", 3, LONG));
        }
        for (Job j : jobs) {
            awaitState(j, JobState.SUCCEEDED);
            Job done = find(queue, j.id());
            assertThat(done.result()).isEqualTo("{\"upload\":\"" + j.uploadId() + "\"}");
            assertThat(done.progress()).isEqualTo(100);
            assertThat(done.stage()).isEqualTo("half");
            assertThat(done.attempt()).isEqualTo(1);
            assertThat(done.leaseOwner()).isEqualTo(pool.workerId());
        }
        synchronized (seenUploads) {
            assertThat(seenUploads).containsExactlyInAnyOrder("U0", "U1", "U2", "U3", "U4", "U5");
        }
    }

    @Test
    void anEnqueueWakesAnIdlePoolBeforeItsPollInterval() throws Exception {
        JobsConfig slowPolling = new JobsConfig(2, Map.of(), LEASE, Duration.ofMinutes(10), Duration.ofDays(7),
                Duration.ofMillis(10), Duration.ofMillis(50), 3, LONG);
        start(slowPolling, Map.of("pdf", ctx -> JobHandler.Result.none()));
        // Once the poller waits (its first round found nothing), only the enqueue's signal can wake it in time.
        Job first = enqueueJob("U1", "pdf", 3, LONG);
        awaitState(first, JobState.SUCCEEDED);
        Job second = enqueueJob("U2", "pdf", 3, LONG);
        awaitState(second, JobState.SUCCEEDED);
    }

    @Test
    void aRetryableFailureIsRetriedUntilItSucceeds() throws Exception {
        start(config(2, Map.of()), Map.of("hook", ctx -> {
            if (ctx.job().attempt() < 3) {
                throw new JobFailedException("target_unavailable", "503 on attempt " + ctx.job().attempt(), true);
            }
            return JobHandler.Result.json("{\"delivered\":true}");
        }));
        Job j = enqueueJob("U1", "hook", 3, LONG);
        awaitState(j, JobState.SUCCEEDED);
        Job done = find(queue, j.id());
        assertThat(done.attempt()).isEqualTo(3);
        assertThat(done.errorCode()).as("cleared on success").isNull();
        assertThat(done.result()).isEqualTo("{\"delivered\":true}");
    }

    @Test
    void timeoutFailsTheJobAndThePoolKeepsWorking() throws Exception {
        AtomicBoolean interrupted = new AtomicBoolean();
        WorkerPool pool = start(config(1, Map.of()), Map.of(
                "slow", ctx -> {
                    try {
                        endOfTest.await();
                    } catch (InterruptedException e) {
                        interrupted.set(true);
                        throw e;
                    }
                    return JobHandler.Result.none();
                },
                "fast", ctx -> JobHandler.Result.json("{}")));
        Job slow = enqueueJob("U1", "slow", 3, Duration.ofMillis(300));
        awaitState(slow, JobState.FAILED);
        Job failed = find(queue, slow.id());
        assertThat(failed.errorCode()).isEqualTo("timeout");
        assertThat(failed.errorMessage()).contains("PT0.3S");
        assertThat(failed.attempt()).as("a timeout is not retried").isEqualTo(1);
        Await.until(WAIT, "the handler to be interrupted", interrupted::get);

        // The only worker slot is free again.
        Job fast = enqueueJob("U2", "fast", 3, LONG);
        awaitState(fast, JobState.SUCCEEDED);
        awaitIdle(pool);
    }

    @Test
    void cancelWhileRunningStopsAtTheNextCheckpoint() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicBoolean stoppedAtCheckpoint = new AtomicBoolean();
        AtomicInteger checkpointsAfterCancel = new AtomicInteger();
        WorkerPool pool = start(config(1, Map.of()), Map.of("pdf", ctx -> {
            if (ctx.job().uploadId().equals("after")) {
                return JobHandler.Result.none();
            }
            started.countDown();
            try {
                while (true) {
                    if (ctx.cancelRequested()) {
                        checkpointsAfterCancel.incrementAndGet();
                    }
                    ctx.checkpoint();
                    Thread.sleep(10);
                }
            } catch (CancelledException e) {
                stoppedAtCheckpoint.set(true);
                throw e;
            }
        }));
        Job j = enqueueJob("U1", "pdf", 3, LONG);
        assertThat(started.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        Job requested = queue.cancel(j.id()).orElseThrow();
        assertThat(requested.state()).isEqualTo(JobState.RUNNING);
        assertThat(requested.cancelRequested()).isTrue();

        awaitState(j, JobState.CANCELLED);
        assertThat(stoppedAtCheckpoint).isTrue();
        assertThat(checkpointsAfterCancel.get()).as("the first checkpoint after the request stopped it").isEqualTo(1);
        assertThat(find(queue, j.id()).errorCode()).isNull();

        Job after = enqueueJob("after", "pdf", 3, LONG);
        awaitState(after, JobState.SUCCEEDED);
        awaitIdle(pool);
    }

    @Test
    void errorsInsideHandlersFailTheAttemptAndThePoolSurvives() throws Exception {
        WorkerPool pool = start(config(2, Map.of()), Map.of(
                // A real OutOfMemoryError thrown by the JVM: 16 GiB asked of a 512 MiB heap.
                "oom", ctx -> JobHandler.Result.json("{\"n\":" + new long[Integer.MAX_VALUE - 16].length + "}"),
                "deep", ctx -> JobHandler.Result.json("{\"depth\":" + recurse(0) + "}"),
                "buggy", ctx -> {
                    throw new java.io.IOException("disk on fire");
                },
                "fine", ctx -> JobHandler.Result.json("{}")));
        Job oom = enqueueJob("U1", "oom", 2, LONG);
        Job deep = enqueueJob("U2", "deep", 3, LONG);
        Job buggy = enqueueJob("U3", "buggy", 1, LONG);

        awaitState(oom, JobState.FAILED);
        Job oomFailed = find(queue, oom.id());
        assertThat(oomFailed.errorCode()).isEqualTo("out_of_memory");
        assertThat(oomFailed.attempt()).as("memory may be free next time: retried once").isEqualTo(2);

        awaitState(deep, JobState.FAILED);
        Job deepFailed = find(queue, deep.id());
        assertThat(deepFailed.errorCode()).isEqualTo("stack_overflow");
        assertThat(deepFailed.attempt()).as("the same input recurses the same way: not retried").isEqualTo(1);

        awaitState(buggy, JobState.FAILED);
        Job buggyFailed = find(queue, buggy.id());
        assertThat(buggyFailed.errorCode()).isEqualTo("processor_error");
        assertThat(buggyFailed.errorMessage()).isEqualTo("IOException: disk on fire");

        Job fine = enqueueJob("U4", "fine", 1, LONG);
        awaitState(fine, JobState.SUCCEEDED);
        awaitIdle(pool);
    }

    private static int recurse(int depth) {
        return recurse(depth + 1) + 1;
    }

    @Test
    void globalAndPerPipelineConcurrencyAreRespected() throws Exception {
        Semaphore gate = new Semaphore(0);
        AtomicInteger total = new AtomicInteger();
        AtomicInteger slow = new AtomicInteger();
        AtomicInteger maxTotal = new AtomicInteger();
        AtomicInteger maxSlow = new AtomicInteger();
        JobHandler blocking = ctx -> {
            boolean isSlow = ctx.job().pipeline().equals("slow");
            maxTotal.accumulateAndGet(total.incrementAndGet(), Math::max);
            if (isSlow) {
                maxSlow.accumulateAndGet(slow.incrementAndGet(), Math::max);
            }
            try {
                gate.acquire();
            } finally {
                if (isSlow) {
                    slow.decrementAndGet();
                }
                total.decrementAndGet();
            }
            return JobHandler.Result.none();
        };
        WorkerPool pool = start(config(3, Map.of("slow", 2)), Map.of("slow", blocking, "other", blocking));
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            jobs.add(enqueueJob("S" + i, "slow", 3, LONG));
        }
        Await.until(WAIT, "two slow jobs to run", () -> slow.get() == 2);
        for (int i = 0; i < 4; i++) {
            jobs.add(enqueueJob("O" + i, "other", 3, LONG));
        }
        Await.until(WAIT, "the pool to fill its three workers", () -> total.get() == 3);
        assertThat(pool.running()).isEqualTo(3);

        // Let them through one at a time; the pool refills each freed slot within the limits.
        for (int released = 1; released <= jobs.size(); released++) {
            int done = released;
            gate.release();
            Await.until(WAIT, done + " jobs to succeed", () -> queue.list(JobState.SUCCEEDED, null, null, 100)
                    .size() == done);
        }
        for (Job j : jobs) {
            assertThat(find(queue, j.id()).state()).isEqualTo(JobState.SUCCEEDED);
        }
        assertThat(maxTotal.get()).isEqualTo(3);
        assertThat(maxSlow.get()).isEqualTo(2);
    }

    @Test
    void aJobStartsOnlyWhenMemoryAllows() throws Exception {
        AtomicBoolean allow = new AtomicBoolean(false);
        AtomicInteger asked = new AtomicInteger();
        start(config(2, Map.of()), Map.of("pdf", ctx -> JobHandler.Result.none()), () -> {
            asked.incrementAndGet();
            return allow.get();
        });
        Job j = enqueueJob("U1", "pdf", 3, LONG);
        int before = asked.get();
        Await.until(WAIT, "the pool to ask about memory a few times", () -> asked.get() >= before + 5);
        Job held = find(queue, j.id());
        assertThat(held.state()).isEqualTo(JobState.QUEUED);
        assertThat(held.attempt()).isZero();

        allow.set(true);
        awaitState(j, JobState.SUCCEEDED);
    }

    @Test
    void gracefulStopLetsJobsFinishWithinTheGraceThenReturnsTheRestToTheQueue() throws Exception {
        CountDownLatch started = new CountDownLatch(2);
        CountDownLatch finishQuick = new CountDownLatch(1);
        AtomicBoolean stuckInterrupted = new AtomicBoolean();
        WorkerPool pool = start(config(2, Map.of()), Map.of(
                "quick", ctx -> {
                    started.countDown();
                    finishQuick.await();
                    // Some last work, likely still under way when stop() begins; stop waits for it.
                    Thread.sleep(200);
                    return JobHandler.Result.json("{\"finished\":\"during grace\"}");
                },
                "stuck", ctx -> {
                    started.countDown();
                    try {
                        endOfTest.await();
                    } catch (InterruptedException e) {
                        stuckInterrupted.set(true);
                        throw e;
                    }
                    return JobHandler.Result.none();
                }));
        Job quick = enqueueJob("U1", "quick", 3, LONG);
        Job stuck = enqueueJob("U2", "stuck", 3, LONG);
        assertThat(started.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();

        finishQuick.countDown();
        int returned = pool.stop(Duration.ofSeconds(2));
        assertThat(returned).isEqualTo(1);
        assertThat(stuckInterrupted).isTrue();
        assertThat(pool.running()).isZero();

        assertThat(find(queue, quick.id()).state()).isEqualTo(JobState.SUCCEEDED);
        Job back = find(queue, stuck.id());
        assertThat(back.state()).isEqualTo(JobState.QUEUED);
        assertThat(back.attempt()).isEqualTo(1);
        assertThat(back.maxAttempts()).as("the interrupted attempt is given back").isEqualTo(4);
        assertThat(back.leaseExpiresAt()).isNull();
        assertThat(back.errorCode()).isNull();

        // The stopped pool claims nothing more; a new one finishes the job.
        Job later = enqueueJob("U3", "quick", 3, LONG);
        assertThat(find(queue, later.id()).state()).isEqualTo(JobState.QUEUED);
        start(config(2, Map.of()), Map.of("stuck", ctx -> JobHandler.Result.json("{\"second\":true}"),
                "quick", ctx -> JobHandler.Result.none()));
        awaitState(stuck, JobState.SUCCEEDED);
        assertThat(find(queue, stuck.id()).attempt()).isEqualTo(2);
        awaitState(later, JobState.SUCCEEDED);
    }

    @Test
    void aLostLeaseStopsTheHandlerAndTheOldWorkerWritesNothing() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicBoolean handlerStopped = new AtomicBoolean();
        WorkerPool pool = start(config(1, Map.of()), Map.of("pdf", ctx -> {
            started.countDown();
            try {
                while (true) {
                    ctx.checkpoint();
                    Thread.sleep(10);
                }
            } finally {
                handlerStopped.set(true);
            }
        }));
        Job j = enqueueJob("U1", "pdf", 3, LONG);
        assertThat(started.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        // Another worker takes over the job (as after this one's lease expired and was rescued), with a lease
        // long enough that this pool's own rescue pass leaves it alone.
        assertThat(update(db, "UPDATE jobs SET lease_owner = 'thief', attempt = attempt + 1, "
                + "lease_expires_at = lease_expires_at + 3600000 WHERE id = ?", j.id())).isEqualTo(1);
        Job stolen = find(queue, j.id());

        Await.until(WAIT, "the handler to stop", handlerStopped::get);
        awaitIdle(pool);
        assertThat(find(queue, j.id())).as("the old worker wrote nothing").isEqualTo(stolen);
    }

    @Test
    void aDeadWorkersJobIsRescuedAndRun() throws Exception {
        Job j = enqueueJob("U1", "pdf", 3, LONG);
        // A worker claims and dies: no heartbeat, no outcome.
        assertThat(queue.claim("dead-worker", 1, Set.of("pdf"))).hasSize(1);
        WorkerPool pool = start(config(1, Map.of()), Map.of("pdf", ctx -> JobHandler.Result.json("{}")));
        awaitState(j, JobState.SUCCEEDED);
        Job done = find(queue, j.id());
        assertThat(done.attempt()).isEqualTo(2);
        assertThat(done.leaseOwner()).isEqualTo(pool.workerId());
    }

    /** The real queue, its rounds that record successes held at a gate: a commit that takes as long as wanted. */
    private static final class GatedRounds extends ForwardingJobQueue {
        final Semaphore gate = new Semaphore(0);
        final AtomicInteger rounds = new AtomicInteger();
        final CountDownLatch recording = new CountDownLatch(1);
        /** Per success offered, in order: whether it took effect. */
        final List<Boolean> applied = Collections.synchronizedList(new ArrayList<>());

        GatedRounds(JobQueue delegate) {
            super(delegate);
        }

        @Override
        public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                     AlsoWrite alsoWrite) throws SQLException {
            if (successes.isEmpty()) {
                return delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite); // a claim alone
            }
            rounds.incrementAndGet();
            recording.countDown();
            gate.acquireUninterruptibly();
            Round round = delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite);
            successes.forEach(s -> applied.add(round.succeeded().contains(s.lease())));
            return round;
        }
    }

    @Test
    void aFinishedJobsOutcomeAndTheClaimForItsSlotCommitTogetherAndAStaleOutcomeIsStillRefused() throws Exception {
        GatedRounds gated = new GatedRounds(queue);
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        WorkerPool pool = new WorkerPool(gated, Map.of("pdf", ctx -> {
            ran.add(ctx.job().uploadId());
            return JobHandler.Result.json("{}");
        }), JobTestSupport.config(1, Map.of(), Duration.ofMinutes(1), Duration.ofMillis(10), Duration.ofMillis(50)),
                () -> true, signal);
        pools.add(pool);
        Job a = enqueueJob("A", "pdf", 3, LONG);
        Job b = enqueueJob("B", "pdf", 3, LONG);
        Job c = enqueueJob("C", "pdf", 3, LONG);
        pool.start();
        try {
            slotAndFence(a, b, c, pool, ran, gated);
        } finally {
            gated.gate.release(100); // never leave the poller waiting at the gate after the test
        }
    }

    private void slotAndFence(Job a, Job b, Job c, WorkerPool pool, List<String> ran, GatedRounds gated)
            throws Exception {
        // One worker (a long lease, so nothing expires meanwhile): A ran, and its outcome waits to be recorded in
        // the round that also claims for its slot.
        Await.until(WAIT, "A's outcome to be recorded", () -> gated.rounds.get() == 1);
        Thread.sleep(300);
        assertThat(ran).as("no claim ahead: B waits for the round that records A").containsExactly("A");
        assertThat(find(queue, a.id()).state()).as("A's lease is held until its outcome commits")
                .isEqualTo(JobState.RUNNING);
        assertThat(find(queue, b.id()).state()).isEqualTo(JobState.QUEUED);
        assertThat(pool.running()).as("an outcome being recorded counts as running").isEqualTo(1);

        // A's lease goes to another worker (as after an expiry and a rescue) before A's outcome is written.
        assertThat(update(db, "UPDATE jobs SET lease_owner = 'thief', attempt = attempt + 1, "
                + "lease_expires_at = lease_expires_at + 3600000 WHERE id = ?", a.id())).isEqualTo(1);
        Job stolen = find(queue, a.id());
        gated.gate.release(100);
        awaitState(b, JobState.SUCCEEDED);
        awaitState(c, JobState.SUCCEEDED);
        awaitIdle(pool);
        assertThat(find(queue, a.id())).as("the stale outcome of A was refused by the fence").isEqualTo(stolen);
        assertThat(gated.applied).as("A refused, while its round still claimed B; then B and C")
                .containsExactly(false, true, true);
        assertThat(find(queue, b.id()).attempt()).isEqualTo(1);
        assertThat(ran).containsExactly("A", "B", "C");
    }

    @Test
    void aFailedRoundLosesNoSuccessAndClaimsNothingTwice() throws Exception {
        // The real queue; its first two combined rounds fail inside their transaction, after both statements ran.
        AtomicInteger failuresLeft = new AtomicInteger(2);
        JobQueue failing = new ForwardingJobQueue(queue) {
            @Override
            public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                         AlsoWrite alsoWrite) throws SQLException {
                return delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite.andThen((tx, jobs) -> {
                    if (failuresLeft.getAndDecrement() > 0) {
                        throw new SQLException("injected failure inside the round's transaction");
                    }
                }));
            }
        };
        Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        WorkerPool pool = new WorkerPool(failing, Map.of("pdf", ctx -> {
            calls.computeIfAbsent(ctx.job().id(), k -> new AtomicInteger()).incrementAndGet();
            return JobHandler.Result.json("{\"n\":1}");
        }), config(2, Map.of()), () -> true, signal);
        pools.add(pool);
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(enqueueJob("U" + i, "pdf", 3, LONG));
        }
        pool.start();
        for (Job j : jobs) {
            awaitState(j, JobState.SUCCEEDED);
        }
        awaitIdle(pool);
        assertThat(failuresLeft.get()).as("the injected failures happened").isNegative();
        for (Job j : jobs) {
            Job done = find(queue, j.id());
            assertThat(done.attempt()).as("claimed once, run once: " + j.id()).isEqualTo(1);
            assertThat(done.result()).isEqualTo("{\"n\":1}");
            assertThat(calls.get(j.id()).get()).as("handler calls of " + j.id()).isEqualTo(1);
        }
    }

    @Test
    void aStopDoesNotHandBackAJobWhoseHandlerHasEndedItWaitsForItsOutcome() throws Exception {
        GatedRounds gated = new GatedRounds(queue);
        Semaphore recordGate = gated.gate;
        CountDownLatch recording = gated.recording;
        WorkerPool pool = new WorkerPool(gated, Map.of("pdf", ctx -> JobHandler.Result.json("{}")),
                JobTestSupport.config(1, Map.of(), Duration.ofMinutes(1), Duration.ofMillis(10), Duration.ofMillis(50)),
                () -> true, signal);
        pools.add(pool);
        Job j = enqueueJob("U1", "pdf", 3, LONG);
        pool.start();
        try {
            assertThat(recording.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the outcome is being written").isTrue();
            Thread opener = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                recordGate.release(10);
            });
            // No grace: a job whose handler still ran would be handed back; this one has finished.
            assertThat(pool.stop(Duration.ZERO)).as("jobs handed back").isZero();
            opener.join();
            assertThat(pool.running()).isZero();
            Job done = find(queue, j.id());
            assertThat(done.state()).as("its success was recorded, not undone by a release")
                    .isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempt()).isEqualTo(1);
        } finally {
            recordGate.release(100);
        }
    }

    /** The real queue; counts the successes each round records. */
    private static final class CountedRounds extends ForwardingJobQueue {
        final List<Integer> successesPerRound = Collections.synchronizedList(new ArrayList<>());

        CountedRounds(JobQueue delegate) {
            super(delegate);
        }

        @Override
        public Round succeedAndClaim(List<Success> successes, String workerId, int max, Map<String, Integer> pipelines,
                                     AlsoWrite alsoWrite) throws SQLException {
            // Counted before the round is sent: a test that sees its jobs succeeded then sees their round counted
            // (counted after the commit, the count raced the test's read and failed under a whole suite's load).
            if (!successes.isEmpty()) {
                successesPerRound.add(successes.size());
            }
            return delegate.succeedAndClaim(successes, workerId, max, pipelines, alsoWrite);
        }
    }

    /** Four jobs on four workers; D's handler ends only when {@code releaseD} opens (or the test ends). */
    private WorkerPool fourJobsOneHeld(CountedRounds counted, Duration fullerRoundWait, List<String> ended,
                                       CountDownLatch releaseD, List<Job> jobs) throws Exception {
        WorkerPool pool = new WorkerPool(counted, Map.of("pdf", ctx -> {
            if (ctx.job().uploadId().equals("D")) {
                releaseD.await(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            ended.add(ctx.job().uploadId());
            return JobHandler.Result.json("{}");
        }), JobTestSupport.config(4, Map.of(), Duration.ofMinutes(1), Duration.ofMillis(10), Duration.ofMillis(50)),
                () -> true, signal, () -> { }, fullerRoundWait);
        pools.add(pool);
        for (String id : List.of("A", "B", "C", "D")) {
            jobs.add(enqueueJob(id, "pdf", 3, LONG));
        }
        pool.start();
        Await.until(WAIT, "A, B and C to end", () -> ended.size() == 3);
        return pool;
    }

    @Test
    void aRoundWaitsAMomentForTheHandlersTheLastRoundLaunchedAndRecordsThemTogether() throws Exception {
        CountedRounds counted = new CountedRounds(queue);
        List<String> ended = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch releaseD = new CountDownLatch(1);
        List<Job> jobs = new ArrayList<>();
        try {
            // The wait stretched to a minute, so that D (held 300 ms after the others end) falls within it.
            fourJobsOneHeld(counted, Duration.ofMinutes(1), ended, releaseD, jobs);
            Thread.sleep(300);
            assertThat(counted.successesPerRound).as("A, B and C wait for the round that records D too").isEmpty();
            assertThat(find(queue, jobs.getFirst().id()).state()).as("their leases are held meanwhile")
                    .isEqualTo(JobState.RUNNING);
            releaseD.countDown();
            for (Job j : jobs) {
                awaitState(j, JobState.SUCCEEDED);
            }
            assertThat(counted.successesPerRound).as("one round for the four").containsExactly(4);
        } finally {
            releaseD.countDown();
        }
    }

    @Test
    void aHandlerStillRunningPastTheWaitDoesNotHoldBackTheOthersOutcomes() throws Exception {
        CountedRounds counted = new CountedRounds(queue);
        List<String> ended = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch releaseD = new CountDownLatch(1);
        List<Job> jobs = new ArrayList<>();
        try {
            fourJobsOneHeld(counted, Duration.ofMillis(100), ended, releaseD, jobs);
            for (Job j : jobs.subList(0, 3)) {
                awaitState(j, JobState.SUCCEEDED);
            }
            assertThat(find(queue, jobs.get(3).id()).state()).isEqualTo(JobState.RUNNING);
            releaseD.countDown();
            awaitState(jobs.get(3), JobState.SUCCEEDED);
            assertThat(counted.successesPerRound.stream().mapToInt(Integer::intValue).sum()).isEqualTo(4);
        } finally {
            releaseD.countDown();
        }
    }

    @Test
    void aStopDuringTheWaitRecordsTheSuccessesAndHandsBackTheRunningJob() throws Exception {
        CountedRounds counted = new CountedRounds(queue);
        List<String> ended = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch releaseD = new CountDownLatch(1);
        List<Job> jobs = new ArrayList<>();
        try {
            WorkerPool pool = fourJobsOneHeld(counted, Duration.ofMinutes(1), ended, releaseD, jobs);
            assertThat(pool.stop(Duration.ZERO)).as("D handed back").isEqualTo(1);
            assertThat(pool.running()).isZero();
            for (Job j : jobs.subList(0, 3)) {
                assertThat(find(queue, j.id()).state()).as("recorded at stop, not after the wait: " + j.uploadId())
                        .isEqualTo(JobState.SUCCEEDED);
            }
            Job d = find(queue, jobs.get(3).id());
            assertThat(d.state()).isEqualTo(JobState.QUEUED);
            assertThat(d.maxAttempts()).as("a release gives the attempt back").isEqualTo(4);
        } finally {
            releaseD.countDown();
        }
    }
}
