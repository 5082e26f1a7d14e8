package io.sluice.notify;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonRawValue;
import io.sluice.api.ErrorCode;
import io.sluice.auth.Redaction;

import io.sluice.api.ApiException;
import io.sluice.api.Exchange;
import io.sluice.api.Principal;
import io.sluice.api.Routes;
import io.sluice.auth.Redaction;
import io.sluice.jobs.JobQueue;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Fields;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Server-sent events and the webhook deliveries API.
 *
 * <pre>
 * GET  /api/v1/events                                  every event, as text/event-stream
 * GET  /api/v1/jobs/{id}/events                        one job's events; 404 for an unknown job
 * GET  /api/v1/webhooks/deliveries?state=&limit=&cursor=   newest first
 * GET  /api/v1/webhooks/deliveries/{id}
 * POST /api/v1/webhooks/deliveries/{id}/redeliver      202; pending again, due now, attempts start over
 * </pre>
 *
 * <p>A stream starts with the events after {@code Last-Event-ID} (header, or the {@code lastEventId} query
 * parameter for clients that cannot set headers) when given, then follows new events. Each event is written as
 * {@code id:}, {@code event:} and {@code data:} (the JSON envelope) lines; a {@code : heartbeat} comment is written
 * after {@link #HEARTBEAT} without one. A stream ends when the client falls {@link EventStreams#CLIENT_QUEUE} events
 * behind, when the server drains, and within about {@link #RECHECK} plus the key cache period after the caller's
 * key is revoked (a reconnect is then refused with 401): a stream re-checks its key while it runs, so revocation
 * ends what a key holds open on every node, not only new requests.
 */
public final class NotifyApi {

    public static final Duration HEARTBEAT = Duration.ofSeconds(15);
    public static final String BASE = "/api/v1/webhooks/deliveries";
    public static final int DEFAULT_PAGE_SIZE = 50;
    public static final int MAX_PAGE_SIZE = 500;
    static final int REPLAY_BATCH = 200;
    /** How often a running stream asks whether its caller's key is still valid. */
    static final Duration RECHECK = Duration.ofSeconds(1);

    private final EventLog events;
    private final EventStreams streams;
    private final Deliveries deliveries;
    private final JobQueue jobs;
    private final Duration heartbeat;
    private final Predicate<Principal> stillValid;

    public NotifyApi(EventLog events, EventStreams streams, Deliveries deliveries, JobQueue jobs) {
        this(events, streams, deliveries, jobs, HEARTBEAT, caller -> true);
    }

    /**
     * @param heartbeat  how long a stream may be silent before a heartbeat comment (tests lower it)
     * @param stillValid whether a stream's caller may go on (false once its key is revoked); asked every
     *                   {@link #RECHECK}
     */
    public NotifyApi(EventLog events, EventStreams streams, Deliveries deliveries, JobQueue jobs,
                     Duration heartbeat, Predicate<Principal> stillValid) {
        this.stillValid = Objects.requireNonNull(stillValid, "stillValid");
        this.events = Objects.requireNonNull(events, "events");
        this.streams = Objects.requireNonNull(streams, "streams");
        this.deliveries = Objects.requireNonNull(deliveries, "deliveries");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.heartbeat = Objects.requireNonNull(heartbeat, "heartbeat");
    }

    public void register(Routes routes) {
        routes.add("GET", "/api/v1/events", ex -> stream(ex, null));
        routes.add("GET", "/api/v1/jobs/{id}/events", ex -> {
            String id = ex.param("id");
            var job = jobs.find(id).orElseThrow(() -> ApiException.notFound("job " + id));
            ex.requireVisible(job.owner(), "job " + id);
            stream(ex, id);
        });
        routes.add("GET", BASE, this::list);
        routes.add("GET", BASE + "/{id}", ex -> ex.json(200, DeliveryView.of(require(ex.param("id")))));
        routes.add("POST", BASE + "/{id}/redeliver", this::redeliver);
    }

    void stream(Exchange ex, String jobId) throws Exception {
        Long resumeFrom = lastEventId(ex);
        // A key sees the events of its own jobs and uploads; an admin sees all.
        Principal caller = ex.principal();
        try (EventStreams.Subscription sub = streams.subscribe(jobId)) {
            ex.response().setStatus(200);
            ex.response().getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            ex.response().getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            ex.response().getHeaders().put("X-Accel-Buffering", "no");
            // Sends the headers now, so the client knows the stream is open before the first event.
            send(ex, "retry: 3000\n\n");
            long last = 0;
            if (resumeFrom != null) {
                // Subscribed first, replayed second: an event recorded in between is in both, and skipped below.
                last = resumeFrom;
                List<Event> batch;
                do {
                    batch = events.after(last, jobId, REPLAY_BATCH);
                    for (Event e : batch) {
                        if (caller.canSee(e.owner())) {
                            send(ex, frame(e));
                        }
                        last = e.id();
                    }
                } while (batch.size() == REPLAY_BATCH);
            }
            long lastWrite = System.nanoTime();
            long lastCheck = lastWrite;
            while (true) {
                long sinceWrite = System.nanoTime() - lastWrite;
                Event e = sub.next(Duration.ofNanos(Math.max(1, Math.min(RECHECK.toNanos(),
                        heartbeat.toNanos() - sinceWrite))));
                if (e == EventStreams.END) {
                    return;
                }
                long now = System.nanoTime();
                if (now - lastCheck >= RECHECK.toNanos()) {
                    lastCheck = now;
                    if (!stillValid.test(caller)) {
                        // Ends the response: EventSource reconnects, and the guard answers that with 401.
                        send(ex, ": the API key of this stream was revoked\n\n");
                        return;
                    }
                }
                if (e == null) {
                    if (now - lastWrite >= heartbeat.toNanos()) {
                        send(ex, ": heartbeat\n\n");
                        lastWrite = now;
                    }
                } else if (e.id() > last) {
                    if (caller.canSee(e.owner())) {
                        send(ex, frame(e));
                        lastWrite = now;
                    }
                    last = e.id();
                }
            }
        }
    }

    private static String frame(Event e) {
        return "id: " + e.id() + "\nevent: " + e.type() + "\ndata: " + e.envelope() + "\n\n";
    }

    private static void send(Exchange ex, String text) throws IOException {
        ex.write(false, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static Long lastEventId(Exchange ex) {
        String raw = ex.request().getHeaders().get("Last-Event-ID");
        if (raw == null) {
            raw = Request.extractQueryParameters(ex.request()).getValue("lastEventId");
        }
        if (raw == null || raw.isBlank()) {
            return null;
        }
        try {
            long id = Long.parseLong(raw.strip());
            if (id < 0) {
                throw new NumberFormatException();
            }
            return id;
        } catch (NumberFormatException e) {
            throw ErrorCode.INVALID_LAST_EVENT_ID.error(
                    "Last-Event-ID must be the id of an event received earlier (a non-negative integer)");
        }
    }

    void list(Exchange ex) throws Exception {
        Fields query = Request.extractQueryParameters(ex.request());
        Delivery.State state = null;
        String rawState = query.getValue("state");
        List<String> states = Arrays.stream(Delivery.State.values()).map(Delivery.State::dbValue).toList();
        if (rawState != null && !rawState.isEmpty()) {
            if (!states.contains(rawState)) {
                throw ErrorCode.INVALID_STATE.error("state must be one of " + states,
                        Map.of("states", states));
            }
            state = Delivery.State.fromDb(rawState);
        }
        int limit = (int) number(query.getValue("limit"), DEFAULT_PAGE_SIZE, ErrorCode.INVALID_LIMIT, 1, MAX_PAGE_SIZE);
        long cursor = number(query.getValue("cursor"), 0, ErrorCode.INVALID_CURSOR, 1, Long.MAX_VALUE);
        List<Delivery> page = deliveries.list(state, cursor, limit + 1);
        boolean more = page.size() > limit;
        List<Delivery> items = more ? page.subList(0, limit) : page;
        ex.json(200, new Page(items.stream().map(DeliveryView::of).toList(),
                more ? String.valueOf(items.getLast().id()) : null));
    }

    record Page(List<DeliveryView> deliveries,
                @JsonInclude(JsonInclude.Include.ALWAYS)
                String nextCursor) {
    }

    void redeliver(Exchange ex) throws Exception {
        long id = id(ex.param("id"));
        Delivery d = deliveries.redeliver(id).orElseThrow(() -> ApiException.notFound("delivery " + id));
        events.signal().signal();
        ex.json(202, DeliveryView.of(d));
    }

    private Delivery require(String raw) throws Exception {
        long id = id(raw);
        return deliveries.find(id).orElseThrow(() -> ApiException.notFound("delivery " + raw));
    }

    private static long id(String raw) {
        try {
            return Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw ApiException.notFound("delivery " + raw);
        }
    }

    private static long number(String raw, long dflt, ErrorCode code, long min, long max) {
        if (raw == null || raw.isEmpty()) {
            return dflt;
        }
        try {
            long n = Long.parseLong(raw);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw code.error(code.code().substring("invalid_".length()) + " must be between " + min
                + " and " + max);
    }

    /** A delivery as the API shows it. The payload is the exact body that was signed and sent. */
    public record DeliveryView(String id, long eventId, String eventType, String state, int attempt,
                               Instant nextAttemptAt, List<String> urls, String lastUrl, Integer lastStatus,
                               String lastError, Instant deliveredAt, Instant createdAt, Instant updatedAt,
                               @JsonRawValue String payload) {
        static DeliveryView of(Delivery d) {
            return new DeliveryView(String.valueOf(d.id()), d.eventId(), d.eventType(), d.state().dbValue(),
                    d.attempt(), d.state() == Delivery.State.PENDING ? Instant.ofEpochMilli(d.nextAttemptAt()) : null,
                    d.urls().stream().map(Redaction::redact).toList(), Redaction.redact(d.lastUrl()), d.lastStatus(),
                    Redaction.redact(d.lastError()),
                    d.deliveredAt() == null ? null : Instant.ofEpochMilli(d.deliveredAt()),
                    Instant.ofEpochMilli(d.createdAt()), Instant.ofEpochMilli(d.updatedAt()), d.payload());
        }
    }
}
