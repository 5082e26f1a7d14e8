package io.sluice.util;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** An interrupt neither ends the wait early nor gets lost. */
class UninterruptiblesTest {

    @Test
    void joinOutlastsAnInterruptAndKeepsTheFlag() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean ended = new AtomicBoolean();
        Thread worker = Thread.ofPlatform().start(() -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
            ended.set(true);
        });
        AtomicBoolean sawEnd = new AtomicBoolean();
        AtomicBoolean flagAfter = new AtomicBoolean();
        Thread joiner = Thread.ofPlatform().start(() -> {
            Uninterruptibles.join(worker);
            sawEnd.set(ended.get());
            flagAfter.set(Thread.currentThread().isInterrupted());
        });
        // The joiner is interrupted while it waits; it must go on waiting.
        for (int i = 0; i < 200 && joiner.getState() != Thread.State.WAITING; i++) {
            Thread.sleep(5);
        }
        joiner.interrupt();
        joiner.join(200);
        assertThat(joiner.isAlive()).as("still waiting for the worker").isTrue();
        release.countDown();
        joiner.join(10_000);
        assertThat(joiner.isAlive()).isFalse();
        assertThat(sawEnd).as("returned only after the worker ended").isTrue();
        assertThat(flagAfter).as("the interrupt is set again, not lost").isTrue();
    }

    @Test
    void awaitAndGetReturnAtOnceWhenDoneAndKeepAPendingInterrupt() throws Exception {
        Thread.currentThread().interrupt();
        Uninterruptibles.await(new CountDownLatch(0));
        FutureTask<String> done = new FutureTask<>(() -> "value");
        done.run();
        assertThat(Uninterruptibles.get(done)).isEqualTo("value");
        assertThat(Thread.interrupted()).as("flag kept (and cleared here)").isTrue();

        FutureTask<String> failed = new FutureTask<>(() -> {
            throw new IllegalStateException("boom");
        });
        failed.run();
        assertThatThrownBy(() -> Uninterruptibles.get(failed)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IllegalStateException.class);
    }
}
