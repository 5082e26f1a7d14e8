package io.sluice.notify;

import io.sluice.db.Database;
import io.sluice.testing.Postgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SSE broadcaster tails {@code events} with {@code id > last}. On PostgreSQL concurrent transactions take ids
 * from one sequence but may commit in another order; without {@link EventLog}'s insert lock a tailer that has read
 * id 8 never goes back for 7. Here 8 writers record events that each stay uncommitted for a moment after their insert
 * (as an event recorded inside an upload's transaction does), and a subscriber must still receive every one, in
 * increasing id order, and nothing twice.
 */
class PgEventTailTest {

    private static final int WRITERS = 8;
    private static final int EACH = 40;
    private Database db;
    private EventLog events;
    private EventStreams streams;

    @BeforeEach
    void open() throws Exception {
        db = Database.openPostgres(Postgres.freshDatabase(), Postgres.USER, "", WRITERS + 2);
        events = new EventLog(db, pipeline -> List.of(), Clock.systemUTC());
        streams = new EventStreams(events, WRITERS * EACH + 10);
        streams.start();
    }

    @AfterEach
    void close() {
        if (streams != null) {
            streams.stop();
        }
        if (db != null) {
            db.close();
        }
    }

    @Test
    void theTailerNeverSkipsAnEventUnderConcurrentInserts() throws Exception {
        EventStreams.Subscription sub = streams.subscribe(null);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> writers = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(WRITERS)) {
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                writers.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < EACH; i++) {
                        int n = i;
                        db.write(tx -> {
                            long id = events.record(tx, "test.event", "job-" + writer, null, null,
                                    Map.of("writer", writer, "n", n));
                            // Commit a little later, so that without the lock a later id often commits first.
                            try {
                                Thread.sleep(ThreadLocalRandom.current().nextInt(3));
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            return id;
                        });
                        events.signal().signal();
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : writers) {
                f.get();
            }
        }
        List<Long> received = new ArrayList<>();
        while (received.size() < WRITERS * EACH) {
            Event e = sub.next(Duration.ofSeconds(10));
            assertThat(e).as("event %d of %d arrives", received.size() + 1, WRITERS * EACH).isNotNull();
            assertThat(e).isNotSameAs(EventStreams.END);
            received.add(e.id());
        }
        assertThat(received).as("increasing ids, none twice").isSorted().doesNotHaveDuplicates();
        assertThat(received).as("every recorded event").hasSize(WRITERS * EACH);
        List<Event> stored = events.after(0, null, WRITERS * EACH + 10);
        assertThat(received).containsExactlyElementsOf(stored.stream().map(Event::id).toList());
        assertThat(sub.next(Duration.ofMillis(300))).as("nothing more").isNull();
        sub.close();
    }
}
