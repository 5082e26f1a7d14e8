package io.sluice.notify;

import io.sluice.jobs.JobSignal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Fans recorded events out to server-sent-event clients. One broadcaster thread tails the {@code events} table
 * (woken by {@link EventLog#signal()}, polling as well) and offers each new event to every subscribed client's
 * bounded queue. A client whose queue is full is a reader too slow to keep up: it is {@linkplain
 * Subscription#dropped() dropped} (its stream ends) rather than allowed to grow memory.
 */
public final class EventStreams {

    private static final Logger log = LoggerFactory.getLogger(EventStreams.class);
    /** Events a client may have waiting to be written before it is dropped. */
    public static final int CLIENT_QUEUE = 256;
    static final Duration POLL_INTERVAL = Duration.ofMillis(250);
    static final int BATCH = 500;
    /** Put in a queue to wake its writer when the subscription ends. */
    static final Event END = new Event(-1, "", null, "", null);

    private final EventLog events;
    private final int queueSize;
    private final Set<Subscription> clients = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile Thread loop;

    public EventStreams(EventLog events) {
        this(events, CLIENT_QUEUE);
    }

    EventStreams(EventLog events, int queueSize) {
        this.events = Objects.requireNonNull(events, "events");
        this.queueSize = queueSize;
    }

    public void start() throws SQLException {
        long from = events.lastId();
        loop = Thread.ofPlatform().daemon().name("sluice-events").start(() -> run(from));
    }

    /** Ends every stream and stops broadcasting; streams subscribed later end at once. */
    public void stop() {
        stopping.set(true);
        events.signal().signal();
        for (Subscription s : clients) {
            s.end(false);
        }
    }

    public boolean stopping() {
        return stopping.get();
    }

    public int clients() {
        return clients.size();
    }

    /** Subscribes to the events after now (of one job when {@code jobId} is not null). Close it when done. */
    public Subscription subscribe(String jobId) {
        Subscription s = new Subscription(jobId, new ArrayBlockingQueue<>(queueSize));
        clients.add(s);
        if (stopping.get()) {
            s.end(false);
        }
        return s;
    }

    private void run(long from) {
        long last = from;
        JobSignal signal = events.signal();
        long seen = signal.generation();
        while (!stopping.get()) {
            try {
                List<Event> batch;
                do {
                    batch = events.after(last, null, BATCH);
                    for (Event e : batch) {
                        last = e.id();
                        for (Subscription s : clients) {
                            s.offer(e);
                        }
                    }
                } while (batch.size() == BATCH && !stopping.get());
            } catch (Exception e) {
                log.warn("reading new events failed: {}", e.toString());
            }
            try {
                seen = signal.await(seen, POLL_INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One client's stream: the events the broadcaster has offered, in id order. */
    public final class Subscription implements AutoCloseable {

        private final String jobId;
        private final BlockingQueue<Event> queue;
        private final AtomicBoolean ended = new AtomicBoolean();
        private volatile boolean dropped;

        private Subscription(String jobId, BlockingQueue<Event> queue) {
            this.jobId = jobId;
            this.queue = queue;
        }

        private void offer(Event e) {
            if (ended.get() || (jobId != null && !jobId.equals(e.jobId()))) {
                return;
            }
            if (!queue.offer(e)) {
                log.info("dropping a server-sent-events client that fell {} events behind", queueSize);
                end(true);
            }
        }

        private void end(boolean overflow) {
            if (ended.compareAndSet(false, true)) {
                dropped = overflow;
                clients.remove(this);
                // The queue may be full: make room so the writer wakes up at once.
                queue.clear();
                queue.offer(END);
            }
        }

        /** The next event, or null when {@code timeout} passed first; {@link #END} once the stream has ended. */
        public Event next(Duration timeout) throws InterruptedException {
            if (ended.get()) {
                return END;
            }
            Event e = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return e == null && ended.get() ? END : e;
        }

        /** Whether the stream ended because the client read too slowly. */
        public boolean dropped() {
            return dropped;
        }

        @Override
        public void close() {
            end(false);
        }
    }
}
