package io.sluice.util;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Waits that must not be cut short by an interrupt: a buffer reused, a writer closed or a multipart upload aborted
 * under a thread still running would corrupt data, so the wait goes on. The interrupt is not lost: the thread's
 * flag is set again when the wait ends, for the caller's caller to see.
 */
public final class Uninterruptibles {

    private Uninterruptibles() {
    }

    /** A wait that may be interrupted. */
    @FunctionalInterface
    private interface Wait<T, E extends Exception> {
        T await() throws InterruptedException, E;
    }

    private static <T, E extends Exception> T uninterruptibly(Wait<T, E> wait) throws E {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return wait.await();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits until {@code thread} has ended, whatever interrupts arrive meanwhile. */
    public static void join(Thread thread) {
        uninterruptibly(() -> {
            thread.join();
            return null;
        });
    }

    /** Waits until {@code latch} reaches zero, whatever interrupts arrive meanwhile. */
    public static void await(CountDownLatch latch) {
        uninterruptibly(() -> {
            latch.await();
            return null;
        });
    }

    /** The result of {@code future}, waiting whatever interrupts arrive meanwhile. */
    public static <T> T get(Future<T> future) throws ExecutionException {
        return uninterruptibly(future::get);
    }
}
