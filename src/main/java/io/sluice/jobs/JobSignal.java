package io.sluice.jobs;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An in-process wake-up: the queue signals after an enqueue, a retry or a release, a worker pool signals when
 * one of its slots frees, and pollers wait on it with their poll interval as the upper bound.
 *
 * <p>Every waiter sees every signal, and none is lost between two waits: a waiter passes the generation it last
 * saw, and {@link #await} returns at once if a signal came since. Signals do not queue up: many signals before a
 * wait wake it once. A spurious wake-up (the enqueue rolled back) costs one empty claim.
 */
public final class JobSignal {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long generation;

    public void signal() {
        lock.lock();
        try {
            generation++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The current generation, to pass to the first {@link #await}. */
    public long generation() {
        lock.lock();
        try {
            return generation;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until a signal newer than generation {@code seen} or until {@code timeout} passes, and returns the
     * generation now current (pass it to the next call).
     */
    public long await(long seen, Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (generation == seen && nanos > 0) {
                nanos = changed.awaitNanos(nanos);
            }
            return generation;
        } finally {
            lock.unlock();
        }
    }
}
