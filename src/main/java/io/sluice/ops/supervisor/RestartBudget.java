package io.sluice.ops.supervisor;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Counts restarts in a sliding window; when one more would exceed the maximum, the supervisor gives up instead of
 * looping forever on a child that cannot run (a bad disk, a broken config). Not thread-safe.
 */
final class RestartBudget {

    private final int max;
    private final long windowNanos;
    private final Deque<Long> restarts = new ArrayDeque<>();

    RestartBudget(int max, Duration window) {
        this.max = max;
        this.windowNanos = window.toNanos();
    }

    /** Records a restart at {@code nowNanos}; false when it is over budget (and then must not happen). */
    boolean tryRestart(long nowNanos) {
        while (!restarts.isEmpty() && nowNanos - restarts.peekFirst() > windowNanos) {
            restarts.removeFirst();
        }
        if (restarts.size() >= max) {
            return false;
        }
        restarts.addLast(nowNanos);
        return true;
    }

    int used() {
        return restarts.size();
    }
}
