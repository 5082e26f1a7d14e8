package io.sluice.app;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.jobs.Pipelines;
import io.sluice.notify.Deliveries;
import io.sluice.notify.EventLog;
import io.sluice.notify.EventStreams;
import io.sluice.notify.WebhookSecret;
import io.sluice.notify.WebhookSender;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Events: recorded for every job state change and completed upload; webhooks are sent from them (by every role:
 * each attempt is claimed first, so one process sends it) and, in the API role, server-sent event streams are fed.
 * The sender stops after the workers and the HTTP server, whose last state changes still record deliveries.
 */
public final class NotifyModule implements Module {

    /** How long a shutdown waits for webhook attempts in flight. */
    private static final Duration SEND_GRACE = Duration.ofSeconds(5);

    private final EventLog events;
    private final Deliveries deliveries;
    private final WebhookSender webhooks;
    private final EventStreams streams;
    private final boolean feedsStreams;

    /** @param feedsStreams whether this process serves event streams (the API role) */
    public NotifyModule(SluiceConfig config, Database db, Pipelines pipelines, MeterRegistry metrics,
                        boolean feedsStreams) throws IOException {
        this.feedsStreams = feedsStreams;
        events = new EventLog(db, pipeline -> webhookTargets(config, pipelines, pipeline), Clock.systemUTC(),
                config.webhooks().progressInterval());
        deliveries = new Deliveries(db, Clock.systemUTC());
        webhooks = new WebhookSender(deliveries, events,
                WebhookSecret.resolve(config.webhooks().secret(), config.dataDir()), config.webhooks(),
                Clock.systemUTC(), metrics);
        streams = new EventStreams(events);
    }

    /** A pipeline's webhook URLs: its own {@code notify} list, then {@code webhooks.urls}, without repeats. */
    private static List<String> webhookTargets(SluiceConfig config, Pipelines pipelines, String pipeline) {
        Set<String> urls = new LinkedHashSet<>();
        if (pipeline != null) {
            pipelines.find(pipeline).ifPresent(p -> urls.addAll(p.config().notifyUrls()));
        }
        urls.addAll(config.webhooks().urls());
        return List.copyOf(urls);
    }

    public EventLog events() {
        return events;
    }

    public Deliveries deliveries() {
        return deliveries;
    }

    public EventStreams streams() {
        return streams;
    }

    @Override
    public String name() {
        return "notify";
    }

    @Override
    public void start() throws Exception {
        if (feedsStreams) {
            streams.start();
        }
        webhooks.start();
    }

    /** Open event streams would otherwise hold the HTTP server's stop until its timeout: they end first. */
    @Override
    public void drain() {
        streams.stop();
    }

    @Override
    public void stop() {
        webhooks.stop(SEND_GRACE);
    }
}
