package io.sluice.http;

import io.micrometer.core.instrument.Counter;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code server.headerTimeout}: closes a connection whose request header block is not complete in time, which the
 * idle timeout cannot do because every dribbled header line resets it (slowloris).
 *
 * <p>The clock starts when the connection opens for its first request, and at the request's first byte for later
 * requests on a kept-alive connection (as Go's ReadHeaderTimeout and nginx's client_header_timeout do); between
 * requests a kept-alive connection is governed by the idle timeout alone. The state comes from Jetty's own HTTP/1
 * parser: {@link HttpConnection#getMessagesIn()} counts requests whose headers completed, and the parser records
 * the nano time of a request's first byte and whether it is still in the header block. A sweep on the connector's
 * {@link Scheduler} every {@link #sweepPeriod} checks them, so a connection is closed at most one period late.
 */
final class HeaderDeadline extends AbstractLifeCycle implements Connection.Listener {

    private static final Logger log = LoggerFactory.getLogger(HeaderDeadline.class);

    private final long timeoutNanos;
    private final long periodMillis;
    private final Scheduler scheduler;
    /** Open connections and the nano time each opened. */
    private final Map<Connection, Long> open = new ConcurrentHashMap<>();
    private final Counter cut;
    private volatile Scheduler.Task next;

    /** @param cut counts the connections closed */
    HeaderDeadline(Duration timeout, Scheduler scheduler, Counter cut) {
        this.timeoutNanos = timeout.toNanos();
        this.periodMillis = sweepPeriod(timeout).toMillis();
        this.scheduler = scheduler;
        this.cut = cut;
    }

    /** A tenth of the timeout, within 100 ms..1 s: precise enough, and a sweep of thousands of entries is cheap. */
    static Duration sweepPeriod(Duration timeout) {
        long ms = Math.clamp(timeout.toMillis() / 10, 100, 1000);
        return Duration.ofMillis(ms);
    }

    @Override
    public void onOpened(Connection connection) {
        open.put(connection, NanoTime.now());
    }

    @Override
    public void onClosed(Connection connection) {
        open.remove(connection);
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        next = scheduler.schedule(this::sweep, periodMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() throws Exception {
        Scheduler.Task task = next;
        if (task != null) {
            task.cancel();
        }
        super.doStop();
    }

    private void sweep() {
        try {
            for (Map.Entry<Connection, Long> e : open.entrySet()) {
                if (e.getKey() instanceof HttpConnection http && overdue(http, e.getValue())) {
                    cut.increment();
                    log.debug("closing {}: request headers not complete within {} ms", http,
                            TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
                    http.getEndPoint().close(new TimeoutException("request headers not complete within "
                            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"));
                }
            }
        } catch (RuntimeException e) {
            log.warn("header deadline sweep failed", e);
        } finally {
            if (isRunning()) {
                next = scheduler.schedule(this::sweep, periodMillis, TimeUnit.MILLISECONDS);
            }
        }
    }

    /**
     * Reads the parser's state from another thread without its lock: a stale read only delays the cut to the next
     * sweep, and the parser never goes back from content to header state within one request.
     */
    private boolean overdue(HttpConnection http, long openedNanos) {
        long begin;
        if (http.getMessagesIn() == 0) {
            begin = openedNanos;
        } else {
            HttpParser parser = http.getParser();
            if (parser.isStart() || !parser.inHeaderState()) {
                return false;
            }
            begin = parser.getBeginNanoTime();
        }
        return NanoTime.since(begin) > timeoutNanos;
    }
}
