package io.sluice.testing;

import java.time.Duration;

/** Polls a condition until it holds or a deadline passes; tests wait on state, never for a fixed time. */
public final class Await {

    /** A condition that may do I/O. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    private Await() {
    }

    /** Polls every 25 ms; fails with {@code what} when {@code timeout} passes first. */
    public static void until(Duration timeout, String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            }
            Thread.sleep(25);
        }
    }
}
