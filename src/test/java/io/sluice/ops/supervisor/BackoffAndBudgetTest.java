package io.sluice.ops.supervisor;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The arithmetic of restarts: doubling delays with a cap and a reset, and a sliding-window budget. */
class BackoffAndBudgetTest {

    @Test
    void backoffDoublesFromOneSecondToTheCap() {
        long[] expected = {1, 2, 4, 8, 16, 32, 60, 60};
        for (int restart = 1; restart <= expected.length; restart++) {
            assertThat(Supervisor.RESTART_BACKOFF.delay(restart, 0.7)).as("restart %d", restart)
                    .isEqualTo(Duration.ofSeconds(expected[restart - 1]));
        }
        for (int restart = 9; restart < 200; restart++) {
            // no overflow however long it loops
            assertThat(Supervisor.RESTART_BACKOFF.delay(restart)).isEqualTo(Duration.ofSeconds(60));
        }
    }

    @Test
    void budgetCountsRestartsInASlidingWindow() {
        long minute = Duration.ofMinutes(1).toNanos();
        RestartBudget budget = new RestartBudget(2, Duration.ofMinutes(10));
        assertThat(budget.tryRestart(0)).isTrue();
        assertThat(budget.tryRestart(minute)).isTrue();
        assertThat(budget.tryRestart(2 * minute)).isFalse();
        assertThat(budget.used()).isEqualTo(2);
        // Eleven minutes on, the first restart has left the window.
        assertThat(budget.tryRestart(11 * minute)).isTrue();
        assertThat(new RestartBudget(0, Duration.ofMinutes(1)).tryRestart(0)).isFalse();
    }

    @Test
    void reasonsSayWhatHappened() {
        assertThat(RestartReason.exit(137).toString()).isEqualTo("reason=exit (exited with code 137 (signal 9))");
        assertThat(RestartReason.exit(1).toString()).isEqualTo("reason=exit (exited with code 1)");
        assertThat(RestartReason.memory(100L << 20, 50L << 20).toString())
                .isEqualTo("reason=memory (RSS 100 MiB above the limit of 50 MiB)");
        assertThat(Child.probeHost("0.0.0.0")).isEqualTo("127.0.0.1");
        assertThat(Child.probeHost("[::]")).isEqualTo("[::1]");
        assertThat(Child.probeHost("127.0.0.1")).isEqualTo("127.0.0.1");
    }
}
