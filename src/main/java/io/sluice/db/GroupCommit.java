package io.sluice.db;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Many callers' durable commits paid by one: the items submitted while a commit is running, or within a short wait,
 * are committed together by one {@link Committer} call (one transaction, one fsync), as PostgreSQL's
 * {@code commit_delay} and Kafka's batched log flushes do.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #commit} returns only after the {@link Committer} call holding the caller's item has returned, i.e.
 *       after the item's work is durably committed;</li>
 *   <li>when that call throws, every caller of its batch fails with that same exception (thrown as it is when it
 *       is unchecked or of the type the caller names, wrapped otherwise), and the next batch is tried afresh;</li>
 *   <li>no caller is left waiting: an item is taken by exactly one batch, and the caller that committed batches
 *       wakes the next queued caller to lead before it returns;</li>
 *   <li>a batch holds at most {@code maxBatch} items; the leader waits at most {@code maxWait} for more, and only
 *       when the previous batch had company (under load), so a lone caller never waits.</li>
 * </ul>
 *
 * <p>There is no thread of its own: the first caller to find no commit running becomes the leader and commits on its
 * own (virtual) thread, the others park until their batch is done. Batches are committed one at a time, in the
 * order their items were queued. The committer may run on any caller's thread: it must not depend on thread-locals.
 *
 * @param <T> what one caller asks to commit
 */
public final class GroupCommit<T> {

    /** Commits a batch: returns only once every item is durable, or throws and nothing of it counts. */
    @FunctionalInterface
    public interface Committer<T> {
        void commit(List<T> batch) throws Exception;
    }

    private final Committer<T> committer;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final ReentrantLock leader = new ReentrantLock();
    private final ConcurrentLinkedQueue<Item<T>> queue = new ConcurrentLinkedQueue<>();
    /** Size of the last batch (written by the leader only): more than one means callers overlap. */
    private volatile int lastBatch;

    /**
     * @param maxBatch most items one commit takes (bounds one transaction's size)
     * @param maxWait  longest a leader waits for more callers before committing; zero commits at once
     */
    public GroupCommit(int maxBatch, Duration maxWait, Committer<T> committer) {
        if (maxBatch < 1 || maxWait.isNegative()) {
            throw new IllegalArgumentException("maxBatch >= 1 and maxWait >= 0 required");
        }
        this.committer = committer;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = maxWait.toNanos();
    }

    /**
     * Commits {@code item} with whatever else is queued and returns once it is durable; the caller's thread may
     * commit other callers' items meanwhile. The committer's exception is thrown as it is when it is unchecked or an
     * {@code E}; anything else comes wrapped in an {@link IllegalStateException}.
     */
    public <E extends Exception> void commit(T item, Class<E> thrown) throws E {
        Item<T> mine = new Item<>(item, Thread.currentThread());
        queue.add(mine);
        // Waiting is uninterruptible, as the commit it waits for is: an interrupt is kept for the caller, not
        // allowed to turn the park below into a spin.
        boolean interrupted = false;
        while (mine.outcome == null) {
            if (leader.tryLock()) {
                try {
                    while (mine.outcome == null) {
                        commitBatch();
                    }
                } finally {
                    leader.unlock();
                }
                // Items queued after our last batch: wake one to lead, or it might wait on no one.
                Item<T> next = queue.peek();
                if (next != null) {
                    LockSupport.unpark(next.thread);
                }
            } else {
                // Woken by the batch that holds this item or by a leader handing over (a wake-up that comes before
                // the park is kept as the thread's permit); the timeout is a second line only.
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(50));
                interrupted |= Thread.interrupted();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable failure = mine.outcome.failure();
        if (failure == null) {
            return;
        }
        if (thrown.isInstance(failure)) {
            throw thrown.cast(failure);
        }
        switch (failure) {
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException("group commit failed: " + failure, failure);
        }
    }

    private void commitBatch() {
        if (maxWaitNanos > 0 && lastBatch > 1) {
            long deadline = System.nanoTime() + maxWaitNanos;
            while (queue.size() < maxBatch && System.nanoTime() < deadline) {
                LockSupport.parkNanos(50_000);
            }
        }
        List<Item<T>> batch = new ArrayList<>();
        for (Item<T> i = queue.poll(); i != null; i = batch.size() < maxBatch ? queue.poll() : null) {
            batch.add(i);
        }
        if (batch.isEmpty()) {
            return;
        }
        lastBatch = batch.size();
        Outcome outcome = Outcome.OK;
        try {
            committer.commit(batch.stream().map(Item::value).toList());
        } catch (Exception | Error e) {
            outcome = new Outcome(e);
        }
        for (Item<T> i : batch) {
            i.outcome = outcome;
            LockSupport.unpark(i.thread);
        }
    }

    /** Items waiting for a commit (for tests). */
    int queued() {
        return queue.size();
    }

    /** How a batch ended: {@code failure} null when committed. */
    private record Outcome(Throwable failure) {
        static final Outcome OK = new Outcome(null);
    }

    private static final class Item<T> {
        final T value;
        final Thread thread;
        volatile Outcome outcome;

        Item(T value, Thread thread) {
            this.value = value;
            this.thread = thread;
        }

        T value() {
            return value;
        }
    }
}
