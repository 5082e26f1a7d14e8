package io.sluice.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.eclipse.jetty.io.Connection;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open connections on the public connector and marks those beyond {@code server.maxConnections}. A marked
 * connection gets an immediate {@code 503 too_many_connections} with {@code Retry-After} and is closed, instead of
 * waiting unanswered in the accept backlog. Jetty's {@code NetworkConnectionLimit} sits above this at
 * {@link #hardLimit(int)} so that even a flood cannot make us accept unbounded sockets.
 */
public final class ConnectionCap implements Connection.Listener {

    private final int max;
    private final AtomicInteger open = new AtomicInteger();
    private final Set<Connection> over = ConcurrentHashMap.newKeySet();
    private final Counter rejected;

    public ConnectionCap(int max, MeterRegistry metrics) {
        this.max = max;
        Gauge.builder("sluice.connections.open", open, AtomicInteger::get)
                .description("open connections on the public port").register(metrics);
        this.rejected = Counter.builder("sluice.connections.rejected")
                .description("connections answered 503 because server.maxConnections was reached").register(metrics);
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
