package io.sluice.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.eclipse.jetty.io.Connection;

import java.net.InetAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open connections on the public connector and marks those beyond {@code server.maxConnections}. A marked
 * connection gets an immediate {@code 503 too_many_connections} with {@code Retry-After} and is closed, instead of
 * waiting unanswered in the accept backlog. Jetty's {@code NetworkConnectionLimit} sits above this at
 * {@link #hardLimit(int)} so that even a flood cannot make us accept unbounded sockets.
 *
 * <p>It also counts connections per peer address ({@code server.maxConnectionsPerClient}): a connection past that
 * share is closed as soon as it is accepted, before it is counted here or can send a byte, so one address can hold
 * at most its share of the connection limit however slowly it talks.
 */
public final class ConnectionCap implements Connection.Listener {

    private final int max;
    private final AtomicInteger open = new AtomicInteger();
    private final Set<Connection> over = ConcurrentHashMap.newKeySet();
    private final Counter rejected;
    private final int perClient;
    private final Map<InetAddress, Integer> byClient = new ConcurrentHashMap<>();
    private final Counter refusedPerClient;
    private final Counter headerTimeouts;

    public ConnectionCap(int max, MeterRegistry metrics) {
        this(max, 0, metrics);
    }

    /** @param perClient connections one peer address may hold; 0 = no per-address limit */
    public ConnectionCap(int max, int perClient, MeterRegistry metrics) {
        this.max = max;
        this.perClient = perClient;
        this.refusedPerClient = Counter.builder("sluice.connections.client_limit")
                .description("connections closed at accept because their address held server.maxConnectionsPerClient")
                .register(metrics);
        Gauge.builder("sluice.connections.open", open, AtomicInteger::get)
                .description("open connections on the public port").register(metrics);
        this.rejected = Counter.builder("sluice.connections.rejected")
                .description("connections answered 503 because server.maxConnections was reached").register(metrics);
        this.headerTimeouts = Counter.builder("sluice.connections.header_timeouts")
                .description("connections closed because a request's headers took longer than server.headerTimeout")
                .register(metrics);
    }

    Counter headerTimeouts() {
        return headerTimeouts;
    }

    public double headerTimeoutsTotal() {
        return headerTimeouts.count();
    }

    /** The number of sockets Jetty may accept at all: the cap plus room to answer the excess with a 503. */
    public static int hardLimit(int max) {
        return max + Math.max(16, max / 4);
    }

    @Override
    public void onOpened(Connection connection) {
        if (open.incrementAndGet() > max) {
            over.add(connection);
        }
    }

    @Override
    public void onClosed(Connection connection) {
        open.decrementAndGet();
        over.remove(connection);
    }

    /** True when this connection arrived past the cap; counts it as rejected. */
    boolean refuse(Connection connection) {
        if (over.contains(connection)) {
            rejected.increment();
            return true;
        }
        return false;
    }

    /**
     * Takes one of {@code address}'s connections, or answers false (and counts the refusal) when it holds its share.
     * Every true must be paired with one {@link #release}.
     */
    boolean acquire(InetAddress address) {
        if (perClient <= 0 || address == null) {
            return true;
        }
        boolean[] ok = {false};
        byClient.compute(address, (a, n) -> {
            int held = n == null ? 0 : n;
            ok[0] = held < perClient;
            return ok[0] ? held + 1 : n;
        });
        if (!ok[0]) {
            refusedPerClient.increment();
        }
        return ok[0];
    }

    void release(InetAddress address) {
        if (perClient <= 0 || address == null) {
            return;
        }
        // Removing the entry at zero keeps the map as small as the set of addresses connected right now.
        byClient.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
    }

    /** Connections {@code address} holds now (0 when the per-address limit is off). */
    public int openFrom(InetAddress address) {
        return byClient.getOrDefault(address, 0);
    }

    public int perClientLimit() {
        return perClient;
    }

    /** True while every connection slot is taken: new clients get {@code 503 too_many_connections}. */
    public boolean exhausted() {
        return open.get() >= max;
    }

    public double refusedPerClientTotal() {
        return refusedPerClient.count();
    }

    public int open() {
        return open.get();
    }

    public int limit() {
        return max;
    }

    public double rejectedTotal() {
        return rejected.count();
    }
}
