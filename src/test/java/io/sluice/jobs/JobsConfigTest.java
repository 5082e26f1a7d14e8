package io.sluice.jobs;

import io.sluice.util.Backoff;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobsConfigTest {

    private static JobsConfig with(int workers, Map<String, Integer> perPipeline, Duration base, Duration cap) {
        return new JobsConfig(workers, perPipeline, JobsConfig.DEFAULT_LEASE_DURATION,
                JobsConfig.DEFAULT_POLL_INTERVAL, JobsConfig.DEFAULT_RETENTION, base, cap,
                JobsConfig.DEFAULT_MAX_ATTEMPTS, JobsConfig.DEFAULT_TIMEOUT);
    }

    @Test
    void defaultsAreValidAndDerivedValuesFollowTheLease() {
        JobsConfig c = JobsConfig.defaults();
        assertThat(c.workers()).isEqualTo(JobsConfig.DEFAULT_WORKERS);
        assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.rescueInterval()).isEqualTo(Duration.ofSeconds(15));
        assertThat(c.concurrency("anything")).isEqualTo(c.workers());
        assertThat(c.backoff()).isEqualTo(new Backoff(JobsConfig.DEFAULT_BACKOFF_BASE, JobsConfig.DEFAULT_BACKOFF_CAP,
                Backoff.Jitter.EQUAL));
        NewJob j = c.jobFor("U1", "pdf");
        assertThat(j.maxAttempts()).isEqualTo(JobsConfig.DEFAULT_MAX_ATTEMPTS);
        assertThat(j.timeout()).isEqualTo(JobsConfig.DEFAULT_TIMEOUT);
        assertThat(j.idempotencyKey()).isEqualTo(NewJob.key("U1", "pdf"));
        assertThat(j.delay()).isZero();
    }

    @Test
    void perPipelineLimitsApplyWithinTheGlobalOne() {
        JobsConfig c = with(4, Map.of("pdf", 1), Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertThat(c.concurrency("pdf")).isEqualTo(1);
        assertThat(c.concurrency("csv")).isEqualTo(4);
        assertThatThrownBy(() -> with(4, Map.of("pdf", 5), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessageContaining("jobs.pipelineConcurrency.pdf must be 1..4");
        assertThatThrownBy(() -> with(4, Map.of("pdf", 0), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessageContaining("jobs.pipelineConcurrency.pdf");
    }

    @Test
    void refusesMeaninglessValuesNamingTheKey() {
        assertThatThrownBy(() -> with(0, Map.of(), Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessageContaining("jobs.workers");
        assertThatThrownBy(() -> with(1, Map.of(), Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessageContaining("jobs.backoffCap must be >= jobs.backoffBase");
        assertThatThrownBy(() -> with(1, Map.of(), Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessageContaining("jobs.backoffBase");
        assertThatThrownBy(() -> new NewJob("U", "pdf", "k", 0, Duration.ofSeconds(1), Duration.ZERO))
                .hasMessageContaining("maxAttempts");
        assertThatThrownBy(() -> new NewJob("U", " ", "k", 1, Duration.ofSeconds(1), Duration.ZERO))
                .hasMessageContaining("pipeline");
        assertThatThrownBy(() -> new NewJob("U", "pdf", "", 1, Duration.ofSeconds(1), Duration.ZERO))
                .hasMessageContaining("idempotencyKey");
    }
}
