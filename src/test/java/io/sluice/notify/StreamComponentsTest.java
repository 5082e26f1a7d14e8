package io.sluice.notify;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.http.ConnectionCap;
import io.sluice.http.HttpServer;
import io.sluice.http.Router;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobsConfig;
import io.sluice.jobs.SqlJobQueue;
import io.sluice.upload.IdGenerator;
import org.eclipse.jetty.server.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SSE parts with settings the application does not expose: a short heartbeat (NotifyApi's package-private
 * setting) on a real Jetty server and database, and a small per-client queue to show that a reader that falls
 * behind is dropped instead of buffered without bound.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamComponentsTest {

    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    Database db;
    EventLog events;
    EventStreams streams;
    HttpServer http;

    @BeforeEach
    void start() throws Exception {
        db = Database.openSqlite(dir);
        events = new EventLog(db, pipeline -> List.of(), Clock.systemUTC());
        streams = new EventStreams(events, 4);
        streams.start();
    }

    @AfterEach
    void stop() throws Exception {
        streams.stop();
        if (http != null) {
            http.stop();
        }
        db.close();
    }

    private void record(int n) throws Exception {
        for (int i = 0; i < n; i++) {
            int k = i;
            db.write(tx -> events.record(tx, "test.event", "job-1", null, null, Map.of("n", k)));
            events.signal().signal();
        }
    }

    @Test
    void aReaderThatFallsBehindIsDroppedAndAFastOneGetsEverything() throws Exception {
        EventStreams.Subscription slow = streams.subscribe(null);
        EventStreams.Subscription fast = streams.subscribe("job-1");
        List<Long> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Event e = fast.next(WAIT);
                    if (e == null || e == EventStreams.END) {
                        return;
                    }
                    seen.add(e.id());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        // One event at a time, each waited for: a reader that keeps up never holds more than one, whatever the
        // machine's load, while the one that never reads overflows its queue of 4.
        for (int i = 1; i <= 20; i++) {
            record(1);
            int expected = i;
            io.sluice.testing.Await.until(WAIT, "the fast reader got " + i, () -> seen.size() == expected);
        }
        assertThat(seen).isSorted().doesNotHaveDuplicates();
        // The slow one never read: its queue (4) overflowed, and it was ended instead of growing.
        assertThat(slow.dropped()).isTrue();
        assertThat(slow.next(Duration.ZERO)).isSameAs(EventStreams.END);
        assertThat(streams.clients()).isEqualTo(1);
        fast.close();
        reader.join(WAIT);
        assertThat(streams.clients()).isZero();
        assertThat(fast.dropped()).isFalse();
    }

    @Test
    void anIdleStreamGetsHeartbeats() throws Exception {
        SluiceConfig config = ConfigLoader.load(null, Map.of(), Map.of("server.port", "0",
                "dataDir", dir.toString()));
        Router router = new Router(Request::getRemoteAddr);
        new NotifyApi(events, streams, new Deliveries(db, Clock.systemUTC()),
                new SqlJobQueue(db, new IdGenerator(Clock.systemUTC())::next, JobsConfig.defaults(), new JobSignal()),
                Duration.ofMillis(100), caller -> true).register(router);
        http = new HttpServer(config.server(), router, new Router(Request::getRemoteAddr),
                new ConnectionCap(16, new SimpleMeterRegistry()), Duration.ofSeconds(1), List.of());
        http.start();
        try (HttpClient client = HttpClient.newHttpClient();
             SseClient sse = new SseClient(client, URI.create("http://127.0.0.1:" + http.port() + "/api/v1/events"),
                     null)) {
            for (int i = 0; i < 3; i++) {
                SseClient.Frame f = sse.next(WAIT);
                assertThat(f).isNotNull();
                assertThat(f.comment()).isEqualTo("heartbeat");
            }
            record(1);
            SseClient.Frame e = sse.nextEvent("test.event", WAIT);
            assertThat(io.sluice.testing.Json.parse(e.data()).path("data").path("n").asInt()).isZero();
        }
    }
}
