package io.sluice.db;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * One LISTEN connection per process, outside the pool, and the thread that reads it: it waits for notifications
 * with {@link PGConnection#getNotifications(int)} and hands each payload to the handlers of its channel.
 *
 * <p>When the connection breaks (database restart, network), the thread reconnects with a growing delay (up to
 * {@link #MAX_BACKOFF_MILLIS}), LISTENs again, and then runs every handler once with {@code null}: notifications
 * sent while it was away are lost, so whoever relies on them must look for themselves (polling stays the fallback).
 * A connection that went silent without an error is found by a validity check every {@link #CHECK_EVERY_MILLIS}.
 */
final class PgListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PgListener.class);
    /** Longest wait in one getNotifications call: bounds how late a new subscription or {@link #close} is seen. */
    static final int WAIT_MILLIS = 100;
    static final long MAX_BACKOFF_MILLIS = 5_000;
    static final long CHECK_EVERY_MILLIS = 5_000;
    /** Channel names are identifiers written into LISTEN: only these characters. */
    private static final Pattern CHANNEL = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    @FunctionalInterface
    interface Opener {
        Connection open() throws SQLException;
    }

    private final Opener opener;
    private final Map<String, List<Consumer<String>>> handlers = new ConcurrentHashMap<>();
    /** Completed once a channel has been listened to for the first time. */
    private final Map<String, CompletableFuture<Void>> listened = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;

    PgListener(Opener opener) {
        this.opener = opener;
        this.thread = Thread.ofPlatform().daemon().name("sluice-pg-listen").start(this::run);
    }

    /** Adds {@code handler} to {@code channel} and returns once the channel is listened to (at most 30 s). */
    void subscribe(String channel, Consumer<String> handler) throws SQLException {
        if (!CHANNEL.matcher(channel).matches()) {
            throw new IllegalArgumentException("not a channel name: " + channel);
        }
        CompletableFuture<Void> ready = listened.computeIfAbsent(channel, c -> new CompletableFuture<>());
        handlers.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>()).add(handler);
        try {
            ready.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while starting to LISTEN on " + channel, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new SQLException("could not LISTEN on " + channel + " within 30 s", e);
        }
    }

    private void run() {
        long backoff = 100;
        boolean reconnect = false;
        while (!closed) {
            try (Connection c = opener.open()) {
                PGConnection pg = c.unwrap(PGConnection.class);
                Set<String> here = new HashSet<>();
                long nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_EVERY_MILLIS);
                while (!closed) {
                    listenToNew(c, here);
                    if (reconnect) {
                        reconnect = false;
                        backoff = 100;
                        log.info("listening for notifications again");
                        handlers.values().forEach(hs -> hs.forEach(h -> deliver(h, null)));
                    }
                    PGNotification[] got = pg.getNotifications(WAIT_MILLIS);
                    if (got != null) {
                        for (PGNotification n : got) {
                            for (Consumer<String> h : handlers.getOrDefault(n.getName(), List.of())) {
                                deliver(h, n.getParameter());
                            }
                        }
                    }
                    if (System.nanoTime() - nextCheck > 0) {
                        if (!c.isValid(5)) {
                            throw new SQLException("the LISTEN connection stopped answering");
                        }
                        nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_EVERY_MILLIS);
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (closed) {
                    return;
                }
                log.warn("the LISTEN connection failed, reconnecting in {} ms: {}", backoff, e.toString());
                reconnect = true;
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    private void listenToNew(Connection c, Set<String> here) throws SQLException {
        for (String channel : handlers.keySet()) {
            if (here.add(channel)) {
                try (Statement st = c.createStatement()) {
                    st.execute("LISTEN " + channel);
                }
                listened.get(channel).complete(null);
            }
        }
    }

    private static void deliver(Consumer<String> handler, String payload) {
        try {
            handler.accept(payload);
        } catch (RuntimeException e) {
            log.warn("a notification handler failed: {}", e.toString());
        }
    }

    /** Stops the thread and closes its connection (within about {@link #WAIT_MILLIS}, at most 5 s). */
    @Override
    public void close() {
        closed = true;
        thread.interrupt(); // ends a reconnect backoff at once; a pending read ends within WAIT_MILLIS anyway
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
