package io.sluice.ops.alerts;

import io.sluice.admission.MemorySnapshot;
import io.sluice.config.AlertsConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.jobs.QueueStats;
import io.sluice.notify.WebhookSecret;
import io.sluice.ops.metrics.OutcomeWindow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The alerting of one server: the {@link DefaultRules} evaluated every {@code alerts.interval} on a thread of their
 * own ({@code sluice-alerts}: a measurement may wait for the database or the disk, and must never delay the
 * memory sampler admission depends on), transitions posted by {@link AlertWebhook} when {@code alerts.webhook} is
 * set. With {@code alerts.enabled: false} nothing runs and {@link #statuses()} is empty.
 */
public final class AlertService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AlertService.class);

    private final Alerts alerts;
    private final long intervalMillis;
    private final ScheduledExecutorService executor;

    private AlertService(Alerts alerts, long intervalMillis) {
        this.alerts = alerts;
        this.intervalMillis = intervalMillis;
        this.executor = alerts == null ? null : Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-alerts");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * @param memory   the latest memory snapshot
     * @param uploads  upload outcomes over {@code alerts.uploadFailureWindow}
     * @param queue    job queue statistics (cached: read every evaluation)
     * @param diskFree usable bytes on the data disk, -1 when unknown
     */
    public static AlertService create(SluiceConfig config, Supplier<MemorySnapshot> memory,
                                      Supplier<OutcomeWindow.Counts> uploads, Supplier<QueueStats> queue,
                                      LongSupplier diskFree) throws IOException {
        AlertsConfig ac = config.alerts();
        if (!ac.enabled()) {
            return new AlertService(null, 0);
        }
        Consumer<AlertStatus> post = s -> {
        };
        if (!ac.webhook().isEmpty()) {
            post = new AlertWebhook(ac.webhook(), WebhookSecret.resolve(config.webhooks().secret(), config.dataDir()),
                    Clock.systemUTC());
        }
        List<AlertRule> rules = DefaultRules.of(ac, config.limits().diskReserve(), memory, uploads, queue, diskFree,
                Clock.systemUTC());
        return new AlertService(new Alerts(rules, Clock.systemUTC(), post), ac.interval().toMillis());
    }

    /** Starts the periodic evaluation (the first after one interval). */
    public void start() {
        if (executor == null) {
            return;
        }
        executor.scheduleWithFixedDelay(() -> {
            try {
                alerts.evaluate();
            } catch (RuntimeException e) {
                log.warn("evaluating alert rules failed: {}", e.toString());
            }
        }, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    /** Every rule's state as JSON, for {@code /health/detailed}; empty when alerts are disabled. */
    public List<Map<String, Object>> statuses() {
        return alerts == null ? List.of() : alerts.statuses().stream().map(AlertStatus::toJson).toList();
    }

    /** Stops evaluating and lets go of the alert webhook's client. */
    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
            alerts.close();
        }
    }
}
