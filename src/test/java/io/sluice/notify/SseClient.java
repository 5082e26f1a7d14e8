package io.sluice.notify;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A server-sent-events client for tests: reads the stream on a thread of its own and hands out frames (an event,
 * or a comment such as a heartbeat). {@link #END} is handed out once the server ended the stream.
 */
final class SseClient implements AutoCloseable {

    record Frame(String id, String event, String data, String comment) {
    }

    static final Frame END = new Frame(null, null, null, null);

    final HttpResponse<InputStream> response;
    private final LinkedBlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final Thread reader;

    SseClient(HttpClient client, URI uri, String lastEventId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
        if (lastEventId != null) {
            b.header("Last-Event-ID", lastEventId);
        }
        response = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        reader = Thread.ofVirtual().start(this::read);
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String id = null, event = null, data = null, comment = null;
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) {
                    if (id != null || event != null || data != null || comment != null) {
                        frames.add(new Frame(id, event, data, comment));
                    }
                    id = event = data = comment = null;
                } else if (line.startsWith(":")) {
                    comment = line.substring(1).strip();
                } else if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = line.substring(6);
                }
            }
        } catch (IOException e) {
            // closed by the test, or the server went away: the stream ended either way
        } finally {
            frames.add(END);
        }
    }

    /** The next frame, or null after {@code timeout}. */
    Frame next(Duration timeout) throws InterruptedException {
        Frame f = frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (f == END) {
            frames.add(END); // stays ended
        }
        return f;
    }

    /** The next event frame of {@code type}, skipping the others; fails after {@code timeout}. */
    Frame nextEvent(String type, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Frame f = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (f == null || f == END) {
                throw new AssertionError("no " + type + " event (got " + (f == END ? "end of stream" : "nothing")
                        + ")");
            }
            if (type.equals(f.event())) {
                return f;
            }
        }
    }

    @Override
    public void close() throws Exception {
        response.body().close();
        reader.join(Duration.ofSeconds(5));
    }
}
