package io.sluice.db;

import io.sluice.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link GroupCommit}'s contract: callers that arrive while a commit runs share the next one; a caller returns only
 * after the batch holding its item was committed; a failed batch fails each of its callers with the cause and no
 * other batch; no caller is lost and no item committed twice; batches respect their bound.
 */
class GroupCommitTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void tearDown() throws Exception {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void callersArrivingDuringACommitShareTheNextOneAndReturnOnlyAfterIt() throws Exception {
        CountDownLatch firstEntered = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        Set<Integer> durable = ConcurrentHashMap.newKeySet();
        GroupCommit<Integer> gc = new GroupCommit<>(64, Duration.ZERO, batch -> {
            if (batch.contains(0)) {
                firstEntered.countDown();
                assertThat(releaseFirst.await(30, TimeUnit.SECONDS)).isTrue();
            }
            batches.add(List.copyOf(batch));
            durable.addAll(batch);
        });
        Future<?> first = pool.submit(() -> {
            gc.commit(0, IOException.class);
            return durable.contains(0);
        });
        assertThat(firstEntered.await(30, TimeUnit.SECONDS)).isTrue();
        List<Future<Boolean>> others = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            int item = i;
            others.add(pool.submit(() -> {
                gc.commit(item, IOException.class);
                // Returned: its batch has run, so its item is durable.
                return durable.contains(item);
            }));
        }
        Await.until(WAIT, "ten callers queued behind the running commit", () -> gc.queued() == 10);
        for (Future<Boolean> f : others) {
            assertThat(f.isDone()).as("nobody returns before its commit").isFalse();
        }
        releaseFirst.countDown();
        assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(true);
        for (Future<Boolean> f : others) {
            assertThat(f.get(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(batches).hasSize(2);
        assertThat(batches.get(0)).containsExactly(0);
        assertThat(batches.get(1)).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        assertThat(gc.queued()).isZero();
    }

    @Test
    void aFailedCommitFailsEveryCallerOfItsBatchWithTheCauseAndNoOther() throws Exception {
        CountDownLatch firstEntered = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        IOException diskGone = new IOException("disk gone");
        GroupCommit<String> gc = new GroupCommit<>(64, Duration.ZERO, batch -> {
            if (batch.contains("first")) {
                firstEntered.countDown();
                assertThat(releaseFirst.await(30, TimeUnit.SECONDS)).isTrue();
                return;
            }
            if (batch.contains("doomed-0")) {
                throw diskGone;
            }
        });
        Future<?> first = pool.submit(() -> {
            gc.commit("first", IOException.class);
            return null;
        });
        assertThat(firstEntered.await(30, TimeUnit.SECONDS)).isTrue();
        List<Future<?>> doomed = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String item = "doomed-" + i;
            doomed.add(pool.submit(() -> {
                gc.commit(item, IOException.class);
                return null;
            }));
        }
        Await.until(WAIT, "five callers queued", () -> gc.queued() == 5);
        releaseFirst.countDown();
        first.get(30, TimeUnit.SECONDS);
        for (Future<?> f : doomed) {
            assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS)).hasCause(diskGone);
        }
        // The next batch is tried afresh.
        gc.commit("later", IOException.class);
        // A checked exception of another type than the caller names comes wrapped, with the cause.
        GroupCommit<String> other = new GroupCommit<>(8, Duration.ZERO, batch -> {
            throw new SQLException("no");
        });
        assertThatThrownBy(() -> other.commit("x", IOException.class))
                .isInstanceOf(IllegalStateException.class).hasCauseInstanceOf(SQLException.class);
        // An unchecked one as it is.
        GroupCommit<String> unchecked = new GroupCommit<>(8, Duration.ZERO, batch -> {
            throw new IllegalArgumentException("bad");
        });
        assertThatThrownBy(() -> unchecked.commit("x", IOException.class))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("bad");
    }

    @Test
    void manyCallersAreEachCommittedOnceInBoundedBatchesAndNoneIsLeftWaiting() throws Exception {
        int callers = 200;
        int each = 20;
        int maxBatch = 8;
        Set<String> committed = ConcurrentHashMap.newKeySet();
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        List<String> twice = new CopyOnWriteArrayList<>();
        GroupCommit<String> gc = new GroupCommit<>(maxBatch, Duration.ofMillis(1), batch -> {
            sizes.add(batch.size());
            for (String s : batch) {
                if (!committed.add(s)) {
                    twice.add(s);
                }
            }
            Thread.sleep(0, 200_000);
        });
        List<Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            int caller = c;
            futures.add(pool.submit(() -> {
                for (int i = 0; i < each; i++) {
                    String item = caller + "/" + i;
                    gc.commit(item, IOException.class);
                    if (!committed.contains(item)) {
                        throw new AssertionError(item + " returned before it was committed");
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        assertThat(committed).hasSize(callers * each);
        assertThat(twice).isEmpty();
        assertThat(sizes).allMatch(n -> n >= 1 && n <= maxBatch);
        assertThat(sizes.size()).as("some batches were shared").isLessThan(callers * each);
        assertThat(gc.queued()).isZero();
    }

    @Test
    void anInterruptedCallerStillWaitsForItsCommitAndKeepsTheInterrupt() throws Exception {
        CountDownLatch firstEntered = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        Set<String> durable = ConcurrentHashMap.newKeySet();
        GroupCommit<String> gc = new GroupCommit<>(8, Duration.ZERO, batch -> {
            if (batch.contains("first")) {
                firstEntered.countDown();
                assertThat(releaseFirst.await(30, TimeUnit.SECONDS)).isTrue();
            }
            durable.addAll(batch);
        });
        Future<?> first = pool.submit(() -> {
            gc.commit("first", IOException.class);
            return null;
        });
        assertThat(firstEntered.await(30, TimeUnit.SECONDS)).isTrue();
        Future<Boolean> second = pool.submit(() -> {
            Thread.currentThread().interrupt();
            gc.commit("second", IOException.class);
            return durable.contains("second") && Thread.currentThread().isInterrupted();
        });
        Await.until(WAIT, "the interrupted caller queued", () -> gc.queued() == 1);
        assertThat(second.isDone()).isFalse();
        releaseFirst.countDown();
        first.get(30, TimeUnit.SECONDS);
        assertThat(second.get(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void badBoundsAreRefused() {
        assertThatThrownBy(() -> new GroupCommit<String>(0, Duration.ZERO, b -> { }))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GroupCommit<String>(1, Duration.ofMillis(-1), b -> { }))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
