package io.sluice.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Slow clients (issue 13, section 2): the header deadline ({@code server.headerTimeout}) and the per-address
 * connection cap ({@code server.maxConnectionsPerClient}), with real sockets from loopback aliases.
 */
class SlowClientTest {

    @TempDir
    Path dir;

    @Test
    void headersThatDribbleAreCutAtTheHeaderTimeoutButIdleKeepAliveIsNot() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.headerTimeout", "1s", "server.idleTimeout", "30s")) {
            // A request line, then one header line every 200 ms: each line resets the idle timeout, never this.
            try (Socket s = connect("127.0.0.2", ts.port())) {
                long start = System.nanoTime();
                send(s, "GET /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                boolean cut = false;
                for (int i = 0; i < 50 && !cut; i++) {
                    cut = !send(s, "X-Pad-" + i + ": x\r\n") || closedWithin(s, 200);
                }
                assertThat(cut).as("dribbling connection closed").isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("cut after the deadline, not before")
                        .isGreaterThanOrEqualTo(Duration.ofMillis(900));
            }
            // A connection that never sends a byte: its first request's clock runs from the connection's open.
            try (Socket s = connect("127.0.0.2", ts.port())) {
                assertThat(closedWithin(s, 10_000)).as("silent connection closed").isTrue();
            }
            // A kept-alive connection idle between requests for longer than headerTimeout stays open (idle timeout
            // governs it); its next request's headers get their own deadline from that request's first byte.
            try (RawHttp c = new RawHttp("127.0.0.2", ts.port(), 10_000)) {
                assertThat(HttpLayerTest.get(c, "/api/v1/uploads").status()).isEqualTo(200);
                Thread.sleep(1_800);
                assertThat(HttpLayerTest.get(c, "/api/v1/uploads").status()).as("after an idle pause").isEqualTo(200);
                // Headers that take 600 ms in all (within the deadline) are served.
                c.send("GET /api/v1/uploads HTTP/1.1\r\n");
                Thread.sleep(300);
                c.send("Host: 127.0.0.1\r\n");
                Thread.sleep(300);
                c.send("\r\n");
                assertThat(c.readResponse().status()).isEqualTo(200);
                c.send("GET /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                boolean cut = false;
                for (int i = 0; i < 50 && !cut; i++) {
                    cut = !send(c.socket(), "X-Pad-" + i + ": x\r\n") || closedWithin(c.socket(), 200);
                }
                assertThat(cut).as("second request's dribbled headers cut").isTrue();
            }
            assertThat(metric(ts, "sluice_connections_header_timeouts_total")).isGreaterThanOrEqualTo(3);
            Await.until(Duration.ofSeconds(10), "connections counted down", () -> openConnections(ts) == 0);
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void oneAddressCannotHoldEveryConnectionAndReadinessReportsExhaustion() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.maxConnections", "6", "server.maxConnectionsPerClient", "3",
                "server.headerTimeout", "30s")) {
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    held.add(connect("127.0.0.2", ts.port()));
                }
                // The first three are kept; the rest are closed at accept, without a response.
                int closed = 0;
                for (Socket s : held) {
                    if (closedWithin(s, 300)) {
                        closed++;
                    }
                }
                assertThat(closed).isEqualTo(7);
                try (RawHttp other = new RawHttp("127.0.0.1", ts.port(), 10_000)) {
                    assertThat(HttpLayerTest.get(other, "/api/v1/uploads").status()).isEqualTo(200);
                    assertThat(HttpLayerTest.get(other, "/health/ready").status()).as("one address holds 3 of 6")
                            .isEqualTo(200);
                }
                assertThat(metric(ts, "sluice_connections_client_limit_total")).isEqualTo(7);

                // Two more addresses take the remaining slots: every slot is taken, readiness says so.
                for (String a : List.of("127.0.0.3", "127.0.0.3", "127.0.0.3")) {
                    held.add(connect(a, ts.port()));
                }
                Await.until(Duration.ofSeconds(5), "six connections open", () -> openConnections(ts) >= 5);
                try (RawHttp probe = new RawHttp("127.0.0.4", ts.port(), 10_000)) {
                    RawResponse ready = HttpLayerTest.get(probe, "/health/ready");
                    assertThat(ready.status()).isEqualTo(503);
                    JsonNode body = Json.parse(ready.body());
                    assertThat(body.at("/status").asText()).isEqualTo("NOT_READY");
                    assertThat(body.at("/checks/connections").asText()).isEqualTo("EXHAUSTED");
                    assertThat(body.at("/reason").asText()).contains("connections exhausted");
                    RawResponse refused = HttpLayerTest.get(probe, "/api/v1/uploads");
                    assertThat(refused.status()).isEqualTo(503);
                    assertThat(Json.errorCode(refused.body())).isEqualTo("too_many_connections");
                }
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            // Exhaustion ends when the connections do: readiness is 200 again, and 127.0.0.2 may connect again.
            Await.until(Duration.ofSeconds(10), "connections counted down", () -> openConnections(ts) == 0);
            try (RawHttp again = new RawHttp("127.0.0.2", ts.port(), 10_000)) {
                assertThat(HttpLayerTest.get(again, "/health/ready").status()).isEqualTo(200);
                assertThat(HttpLayerTest.get(again, "/api/v1/uploads").status()).isEqualTo(200);
            }
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void perClientCapZeroDisablesIt() throws Exception {
        try (TestServer ts = TestServer.start(dir, "server.maxConnectionsPerClient", "0")) {
            List<RawHttp> held = new ArrayList<>();
            try {
                for (int i = 0; i < 140; i++) {
                    held.add(new RawHttp("127.0.0.2", ts.port(), 10_000));
                }
                assertThat(HttpLayerTest.get(held.getLast(), "/api/v1/uploads").status())
                        .as("the 140th connection of one address, over the default 128").isEqualTo(200);
            } finally {
                for (RawHttp c : held) {
                    c.close();
                }
            }
        }
    }

    /**
     * 1,500 slow sockets from 12 addresses (under the per-address cap): half dribble headers (cut by the 1 s header
     * deadline), half send headers and a bit of body and then stall (408 and closed by the 2 s idle timeout). Each
     * must be closed by the server within its timeout plus the sweep and scheduling slack.
     */
    @Test
    void fifteenHundredSlowSocketsAreAllCutWithinTheirTimeouts() throws Exception {
        int perKind = 750;
        try (TestServer ts = TestServer.start(dir, "server.headerTimeout", "1s", "server.idleTimeout", "2s",
                "server.maxConnections", "2000", "admission.maxConcurrentUploads", "2000",
                "admission.maxUploadsPerClient", "2000")) {
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            AtomicInteger headerCut = new AtomicInteger();
            AtomicInteger bodyCut = new AtomicInteger();
            try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 2 * perKind; i++) {
                    int n = i;
                    String from = "127.0.0." + (2 + n % 12);
                    threads.submit(() -> {
                        boolean dribble = n % 2 == 0;
                        try (Socket s = connect(from, ts.port())) {
                            long start = System.nanoTime();
                            boolean cut;
                            if (dribble) {
                                cut = send(s, "GET /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                                cut = !cut;
                                for (int k = 0; k < 40 && !cut; k++) {
                                    cut = !send(s, "X-Pad-" + k + ": x\r\n") || closedWithin(s, 250);
                                }
                            } else {
                                cut = !send(s, "PUT /api/v1/uploads/slow-" + n + ".bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        + "Content-Length: 1000000\r\n\r\n" + "x".repeat(100));
                                cut = cut || closedWithin(s, 10_000);
                            }
                            long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
                            // Dribbling: the header timeout + one sweep (100 ms). Stalled: the idle timeout fails
                            // the read (408), and the connection closes after the response, at most one more idle
                            // period later (measured: up to 6.1 s with the 2 s idle timeout while 1,500 sockets
                            // arrive at once). Both plus 4 s of scheduling slack on a shared 2-core machine.
                            long bound = dribble ? 1_000 + 4_000 : 2 * 2_000 + 4_000;
                            if (!cut || ms > bound) {
                                failures.add((dribble ? "dribbling" : "stalled") + " socket " + n + " cut=" + cut
                                        + " after " + ms + " ms");
                            } else {
                                (dribble ? headerCut : bodyCut).incrementAndGet();
                            }
                        } catch (IOException e) {
                            failures.add("socket " + n + ": " + e);
                        }
                        return null;
                    });
                }
                threads.shutdown();
                assertThat(threads.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(failures).as("sockets not cut in time").isEmpty();
            assertThat(headerCut.get()).isEqualTo(perKind);
            assertThat(bodyCut.get()).isEqualTo(perKind);
            Await.until(Duration.ofSeconds(15), "connections counted down", () -> openConnections(ts) == 0);
            Await.until(Duration.ofSeconds(15), "staged files removed", () -> ts.stagedFiles() == 0);
            ts.assertNothingLeftBehind();
        }
    }

    /**
     * With the defaults (headerTimeout 10 s, 128 connections per address, 1,024 in all): 127.0.0.2 keeps 1,100
     * connections dribbling headers and reconnects whenever one is closed, while 127.0.0.1 makes API requests on
     * new connections. At least 95 % of them must be answered 200 within 2 s; the run spans two header deadlines.
     */
    @Test
    void withTheDefaultsOneDribblingAddressDoesNotLockOthersOut() throws Exception {
        try (TestServer ts = TestServer.start(dir)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger connects = new AtomicInteger();
            try (ExecutorService attackers = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 1_100; i++) {
                    attackers.submit(() -> {
                        while (!stop.get()) {
                            try (Socket s = connect("127.0.0.2", ts.port())) {
                                connects.incrementAndGet();
                                boolean open = send(s, "GET /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n");
                                for (int k = 0; open && !stop.get() && k < 1_000; k++) {
                                    open = !closedWithin(s, 2_000) && send(s, "X-Pad-" + k + ": x\r\n");
                                }
                            } catch (IOException e) {
                                // connect failed: reconnect below, as an attacker would
                            }
                            // Bounded so that 1,000 refused sockets do not turn into a connect storm that measures
                            // the test machine's two cores rather than the server.
                            sleepQuietly(1_000);
                        }
                        return null;
                    });
                }
                Await.until(Duration.ofSeconds(20), "1,100 attacking connections made", () -> connects.get() >= 1_100);

                int total = 200;
                int fast = 0;
                List<String> slow = new ArrayList<>();
                long end = System.nanoTime() + Duration.ofSeconds(25).toNanos();
                for (int i = 0; i < total; i++) {
                    long start = System.nanoTime();
                    String outcome;
                    try (RawHttp c = new RawHttp("127.0.0.1", ts.port(), 2_000)) {
                        RawResponse r = HttpLayerTest.get(c, "/api/v1/uploads");
                        long ms = (System.nanoTime() - start) / 1_000_000;
                        outcome = r.status() + " in " + ms + " ms";
                        if (r.status() == 200 && ms <= 2_000) {
                            fast++;
                            outcome = null;
                        }
                    } catch (IOException e) {
                        outcome = e.toString();
                    }
                    if (outcome != null) {
                        slow.add(outcome);
                    }
                    long wait = (end - System.nanoTime()) / Math.max(1, total - i) / 1_000_000;
                    sleepQuietly(Math.max(0, wait));
                }
                int heldByAttacker = openConnections(ts);
                stop.set(true);
                System.err.printf("slow-client defaults: %d of %d answered 200 within 2 s; attacker connects %d, "
                        + "open while attacked %d%n", fast, total, connects.get(), heldByAttacker);
                assertThat(fast).as("requests answered 200 within 2 s; the others: " + slow)
                        .isGreaterThanOrEqualTo(total * 95 / 100);
                assertThat(heldByAttacker).as("connections the attacker could hold").isLessThanOrEqualTo(128 + 2);
                assertThat(connects.get()).as("the attacker reconnected after being cut").isGreaterThan(1_100);
                attackers.shutdownNow();
                assertThat(attackers.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
            } finally {
                stop.set(true);
            }
            Await.until(Duration.ofSeconds(20), "connections counted down", () -> openConnections(ts) == 0);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private static Socket connect(String from, int port) throws IOException {
        Socket s = new Socket();
        try {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** False when the write failed: the server closed the connection. */
    private static boolean send(Socket s, String text) {
        try {
            OutputStream out = s.getOutputStream();
            out.write(text.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** True when the server closes the connection (EOF or reset) within {@code millis}; response bytes are skipped. */
    private static boolean closedWithin(Socket s, int millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        try {
            InputStream in = s.getInputStream();
            byte[] b = new byte[4096];
            while (true) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                s.setSoTimeout((int) Math.max(1, left));
                if (in.read(b) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Open public connections other than the probe's own. */
    private static int openConnections(TestServer ts) throws Exception {
        try (RawHttp probe = new RawHttp("127.0.0.1", ts.port(), 10_000)) {
            JsonNode d = Json.parse(HttpLayerTest.get(probe, "/health/detailed").body());
            return d.at("/connections/open").asInt() - 1;
        }
    }

    private static double metric(TestServer ts, String name) throws Exception {
        String text;
        // A raw connection, closed after: the test client's pooled keep-alive would count as an open connection.
        try (RawHttp c = new RawHttp("127.0.0.1", ts.port(), 10_000)) {
            text = HttpLayerTest.get(c, "/metrics").body();
        }
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name);
    }
}
