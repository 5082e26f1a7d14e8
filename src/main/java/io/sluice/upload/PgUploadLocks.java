package io.sluice.upload;

import io.sluice.db.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link UploadLocks} for several nodes sharing one PostgreSQL database: a held lock is a session-level advisory
 * lock (key: the first 64 bits of SHA-256 of {@code "sluice-upload:" + id}) on this node's one dedicated lock
 * session, a connection outside the pool. Within the node, a map of holders keeps two local requests from both
 * "getting" the lock (advisory locks are reentrant within a session).
 *
 * <ul>
 *   <li>A contender that finds the upload locked asks the holder to let go: directly when the holder is on this
 *       node, and always by a NOTIFY on {@value #CHANNEL} with the upload id, which every node's listener turns into
 *       its local holder's {@code onReleaseRequested}. It then tries again every {@link #RETRY_MILLIS} until its
 *       wait is over.</li>
 *   <li>A node that dies takes its session with it, and PostgreSQL frees the session's locks: no lock outlives the
 *       node that held it.</li>
 *   <li>If this node's lock session breaks, its locks are gone while holders still run: every holder is asked to
 *       let go, and a new session is opened for the next acquire.</li>
 * </ul>
 */
public final class PgUploadLocks implements UploadLocks, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PgUploadLocks.class);
    /** The NOTIFY channel of release requests; the payload is the upload id. */
    static final String CHANNEL = "sluice_upload_locks";
    /** How often a contender tries the advisory lock again while the holder lets go. */
    static final long RETRY_MILLIS = 20;

    private final Database db;
    private final ConcurrentHashMap<String, Holder> holders = new ConcurrentHashMap<>();
    /** The session holding this node's advisory locks; every use is under its monitor ({@code this}). */
    private Connection session;

    public PgUploadLocks(Database db) throws SQLException {
        this.db = db;
        db.listen(CHANNEL, this::onNotification);
    }

    private void onNotification(String uploadId) {
        if (uploadId == null) {
            return; // the listener reconnected: requests sent meanwhile are retried by their senders
        }
        Holder h = holders.get(uploadId);
        if (h != null && h.locked) {
            h.askToRelease();
        }
    }

    private final class Holder implements Lock {
        private final String id;
        private final Runnable onReleaseRequested;
        private final AtomicBoolean asked = new AtomicBoolean();
        private final CountDownLatch released = new CountDownLatch(1);
        /** Set once the advisory lock is held (a holder in the map without it is still trying). */
        private volatile boolean locked;

        Holder(String id, Runnable onReleaseRequested) {
            this.id = id;
            this.onReleaseRequested = onReleaseRequested;
        }

        void askToRelease() {
            if (asked.compareAndSet(false, true)) {
                onReleaseRequested.run();
            }
        }

        @Override
        public void close() {
            if (released.getCount() > 0) {
                if (locked) {
                    unlock(id);
                }
                holders.remove(id, this);
                released.countDown();
            }
        }
    }

    @Override
    public Optional<Lock> acquire(String uploadId, Duration wait, Runnable onReleaseRequested)
            throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        Holder mine = new Holder(uploadId, onReleaseRequested);
        boolean notified = false;
        while (true) {
            Holder current = holders.putIfAbsent(uploadId, mine);
            if (current != null) {
                // Held (or being taken) on this node: ask, and wait for it as LocalUploadLocks does.
                current.askToRelease();
                long left = deadline - System.nanoTime();
                if (left <= 0 || !current.released.await(left, TimeUnit.NANOSECONDS)) {
                    return Optional.empty();
                }
                continue;
            }
            if (tryLock(uploadId)) {
                mine.locked = true;
                return Optional.of(mine);
            }
            holders.remove(uploadId, mine);
            // Held by another node: ask it (once) to let go, then try again until the wait is over.
            if (!notified) {
                notified = requestRelease(uploadId);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            Thread.sleep(Math.max(1, Math.min(RETRY_MILLIS, TimeUnit.NANOSECONDS.toMillis(left))));
        }
    }

    @Override
    public Optional<Lock> tryAcquire(String uploadId) {
        Holder mine = new Holder(uploadId, () -> {
        });
        if (holders.putIfAbsent(uploadId, mine) != null) {
            return Optional.empty();
        }
        if (tryLock(uploadId)) {
            mine.locked = true;
            return Optional.of(mine);
        }
        holders.remove(uploadId, mine);
        return Optional.empty();
    }

    @Override
    public int held() {
        return holders.size();
    }

    /** Closes the lock session, which frees every lock this node holds. */
    @Override
    public synchronized void close() {
        if (session != null) {
            try {
                session.close();
            } catch (SQLException e) {
                log.debug("closing the lock session: {}", e.toString());
            }
            session = null;
        }
    }

    /** The advisory lock key of an upload id. */
    static long key(String uploadId) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256")
                    .digest(("sluice-upload:" + uploadId).getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(d).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private synchronized boolean tryLock(String uploadId) {
        try {
            try (PreparedStatement ps = session().prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                ps.setLong(1, key(uploadId));
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() && rs.getBoolean(1);
                }
            }
        } catch (SQLException e) {
            sessionLost(e);
            return false;
        }
    }

    private synchronized void unlock(String uploadId) {
        if (session == null) {
            return; // the session broke: the lock went with it
        }
        try (PreparedStatement ps = session.prepareStatement("SELECT pg_advisory_unlock(?)")) {
            ps.setLong(1, key(uploadId));
            ps.execute();
        } catch (SQLException e) {
            sessionLost(e);
        }
    }

    private Connection session() throws SQLException {
        if (session == null) {
            session = db.openSession();
            session.setAutoCommit(true);
        }
        return session;
    }

    /** The session broke: its locks are gone, so every local holder is asked to stop; the next use reconnects. */
    private void sessionLost(SQLException e) {
        log.warn("the upload lock session failed; asking every holder to let go: {}", e.toString());
        if (session != null) {
            try {
                session.close();
            } catch (SQLException ignored) {
                // already broken
            }
            session = null;
        }
        holders.values().forEach(h -> {
            if (h.locked) {
                h.askToRelease();
            }
        });
    }

    private boolean requestRelease(String uploadId) {
        try {
            db.write(tx -> {
                db.notify(tx, CHANNEL, uploadId);
                return null;
            });
            return true;
        } catch (SQLException e) {
            log.warn("could not ask the other nodes to release upload {}: {}", uploadId, e.toString());
            return false;
        }
    }
}
