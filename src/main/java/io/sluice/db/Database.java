package io.sluice.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.postgresql.Driver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The connection pool, the migrations and the dialect differences, in one place.
 *
 * <p>Contract: {@link #write} runs its work in one transaction and commits before returning, so a caller that
 * answers a client after {@code write} returns has a durable row (invariant 2). {@link #read} never blocks on a
 * writer for long (SQLite runs in WAL mode).
 *
 * <p>SQLite allows one writer at a time, and with {@code synchronous=FULL} every commit waits for an fsync of the
 * WAL. Instead of letting concurrent writers spin on {@code SQLITE_BUSY}, or queue for one commit (one fsync) each,
 * writes are <em>group-committed</em> through a {@link GroupCommit}: one writer at a time commits, and it takes every
 * write queued meanwhile into the same transaction, each in a savepoint of its own. A work that fails is rolled back
 * to its savepoint and fails alone; a commit that fails fails every work of its batch. Each caller returns only after
 * the commit that holds its work. The work may therefore run on another caller's thread: it must depend only on the
 * connection it is given (no thread-locals, no calls back into {@link #write}).
 *
 * <p>A transaction that fails leaves no broken connection behind: it is rolled back, and a connection whose commit
 * failed or whose rollback did not leave it clean is evicted from the pool, never handed out again. (SQLite rolls a
 * transaction back on its own after {@code SQLITE_FULL} or an I/O error; the driver still believes it is inside one,
 * and its next {@code COMMIT} fails with "cannot commit - no transaction is active".) On SQLite, a commit that fails
 * for want of disk space releases the database's {@link Headroom} and is retried once; a write that still finds no
 * space fails with SQLSTATE {@value #DISK_FULL_STATE} (PostgreSQL's {@code disk_full}), which the API answers with
 * 507.
 *
 * <p>PostgreSQL ({@link #openPostgres}) needs no such gate: it has real concurrent writers, so each {@link #write}
 * is one transaction of its own on a pooled connection. It also offers what several nodes sharing one database
 * need: LISTEN/NOTIFY ({@link #listen}, through one {@link PgListener} per process) and dedicated sessions outside
 * the pool ({@link #openSession}) for session-level advisory locks.
 */
public final class Database implements AutoCloseable {

    /** Readers are cheap under WAL; a few connections cover the read paths without holding many file handles. */
    public static final int SQLITE_POOL_SIZE = 4;
    public static final int SQLITE_BUSY_TIMEOUT_MS = 10_000;
    /** Most writes one group commit takes; the rest wait for the next (bounds one transaction's size). */
    public static final int MAX_GROUP_COMMIT = 64;

    /** {@code application_name} of the pool's, the LISTEN and the dedicated-session connections (PostgreSQL). */
    public static final String POOL_APPLICATION_NAME = "sluice";
    public static final String LISTEN_APPLICATION_NAME = "sluice-listen";
    public static final String SESSION_APPLICATION_NAME = "sluice-session";
    /** SQLSTATE of a write refused for want of disk space: PostgreSQL's {@code disk_full}, used for SQLite too. */
    public static final String DISK_FULL_STATE = "53100";
    /** SQLite's primary result code for "database or disk is full" (extended codes keep it in the low byte). */
    private static final int SQLITE_FULL = 13;
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    private final HikariDataSource dataSource;
    private final Dialect dialect;
    /** How to open connections outside the pool (PostgreSQL only; null on SQLite). */
    private final PgConnector connector;
    /** The LISTEN thread, started by the first {@link #listen} (PostgreSQL only). */
    private PgListener listener;
    /** Sessions handed out by {@link #openSession}, closed with the database at the latest. */
    private final ConcurrentLinkedQueue<Connection> sessions = new ConcurrentLinkedQueue<>();
    /** SQLite's writes, one transaction per batch of concurrent ones (no wait beyond the running commit). */
    private final GroupCommit<Pending<?>> writes = new GroupCommit<>(MAX_GROUP_COMMIT, Duration.ZERO,
            this::commitBatch);
    /** Space kept for the database on its disk (SQLite); none on PostgreSQL, whose disk is not ours. */
    private final Headroom headroom;

    private Database(HikariDataSource dataSource, Dialect dialect, PgConnector connector, Headroom headroom) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.connector = connector;
        this.headroom = headroom;
    }

    /** Where and as whom to connect to PostgreSQL; the password is never part of {@link #toString()}. */
    record PgConnector(String url, String user, String password) {
        /** @param applicationName shown in {@code pg_stat_activity}, so an operator can tell the connections apart */
        Connection open(String applicationName) throws SQLException {
            Properties props = new Properties();
            props.setProperty("ApplicationName", applicationName);
            if (!user.isEmpty()) {
                props.setProperty("user", user);
            }
            if (!password.isEmpty()) {
                props.setProperty("password", password);
            }
            return new Driver().connect(url, props);
        }

        @Override
        public String toString() {
            return "PgConnector[" + withoutQuery(url) + " as " + user + "]";
        }
    }

    /**
     * Opens (creating if needed) the embedded SQLite database in {@code dataDir} and migrates it, without headroom
     * of its own (and leaving a server's headroom file alone): for tools beside a server, and tests.
     */
    public static Database openSqlite(Path dataDir) throws SQLException {
        return openSqlite(dataDir, Headroom.none());
    }

    /**
     * Opens (creating if needed) the embedded SQLite database in {@code dataDir} and migrates it, keeping
     * {@code headroomBytes} of the disk for it ({@link Headroom}; 0 keeps none). On a full disk the headroom is
     * released to open it: opening creates the {@code -wal} and {@code -shm} files.
     */
    public static Database openSqlite(Path dataDir, long headroomBytes) throws SQLException {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new SQLException("cannot create data directory " + dataDir + ": " + e.getMessage(), e);
        }
        return openSqlite(dataDir, Headroom.in(dataDir, headroomBytes));
    }

    private static Database openSqlite(Path dataDir, Headroom headroom) throws SQLException {
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new SQLException("cannot create data directory " + dataDir + ": " + e.getMessage(), e);
        }
        try {
            return new Database(openSqliteDataSource(dataDir), Dialect.SQLITE, null, headroom);
        } catch (SQLException | RuntimeException e) {
            // Hikari's pool initialization fails with its own RuntimeException (SQLITE_IOERR_SHMSIZE when the -shm
            // file cannot be sized on a full disk).
            if (!(usableSpace(dataDir) < headroom.size() && headroom.release())) {
                throw e;
            }
            log.warn("opening the database on a full disk failed ({}); retrying with the headroom released",
                    rootMessage(e));
            return new Database(openSqliteDataSource(dataDir), Dialect.SQLITE, null, headroom);
        }
    }

    private static long usableSpace(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

    private static HikariDataSource openSqliteDataSource(Path dataDir) throws SQLException {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("sluice-db");
        hc.setJdbcUrl("jdbc:sqlite:" + dataDir.resolve("sluice.db").toAbsolutePath());
        hc.setMaximumPoolSize(SQLITE_POOL_SIZE);
        hc.setMinimumIdle(1);
        hc.setAutoCommit(true);
        hc.setConnectionTimeout(30_000);
        // Applied on every new connection: WAL for concurrent readers, FULL sync so a commit is on disk before we
        // acknowledge, a busy timeout as a second line behind the write gate.
        hc.addDataSourceProperty("journal_mode", "WAL");
        hc.addDataSourceProperty("synchronous", "FULL");
        hc.addDataSourceProperty("busy_timeout", String.valueOf(SQLITE_BUSY_TIMEOUT_MS));
        hc.addDataSourceProperty("foreign_keys", "true");
        HikariDataSource ds = new HikariDataSource(hc);
        try {
            // Flyway only when the schema is behind the newest migration in the jar (SchemaVersion says why).
            List<String> locations = List.of("db/migration/common", "db/migration/sqlite");
            Optional<String> newest = SchemaVersion.newestShipped(locations);
            if (newest.isEmpty() || !SchemaVersion.isCurrent(ds, newest.get())) {
                Flyway.configure()
                        .dataSource(ds)
                        .locations(locations.stream().map(l -> "classpath:" + l).toArray(String[]::new))
                        .load()
                        .migrate();
            }
        } catch (RuntimeException e) {
            ds.close();
            throw new SQLException("database migration failed: " + e.getMessage(), e);
        }
        return ds;
    }

    /**
     * Connects to PostgreSQL at {@code url} ({@code jdbc:postgresql://host[:port]/database[?...]}) and runs the same
     * migrations as SQLite (db/migration/common, plus db/migration/postgresql for the few that differ). Several
     * processes may do this at once: Flyway serializes them with an advisory lock of its own.
     *
     * @param user     empty: the driver's default (the URL may carry it)
     * @param password empty: none (the URL or ~/.pgpass may carry it)
     * @param poolSize connections in this process's pool, >= 1; LISTEN and advisory-lock sessions come on top
     */
    public static Database openPostgres(String url, String user, String password, int poolSize) throws SQLException {
        if (url == null || !url.startsWith("jdbc:postgresql:")) {
            throw new SQLException("not a PostgreSQL JDBC URL (jdbc:postgresql://host[:port]/database): "
                    + withoutQuery(url));
        }
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("sluice-db");
        hc.setDriverClassName(Driver.class.getName());
        hc.setJdbcUrl(url);
        if (user != null && !user.isEmpty()) {
            hc.setUsername(user);
        }
        if (password != null && !password.isEmpty()) {
            hc.setPassword(password);
        }
        hc.setMaximumPoolSize(poolSize);
        hc.setMinimumIdle(Math.min(2, poolSize));
        hc.addDataSourceProperty("ApplicationName", POOL_APPLICATION_NAME);
        hc.setAutoCommit(true);
        hc.setConnectionTimeout(30_000);
        // Fail at start, with the driver's message, rather than at the first request.
        hc.setInitializationFailTimeout(30_000);
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(hc);
        } catch (RuntimeException e) {
            throw new SQLException("cannot connect to PostgreSQL at " + withoutQuery(url) + ": " + rootMessage(e), e);
        }
        try {
            // Its own connections, not the pool's: on PostgreSQL Flyway holds one for its lock and migrates on
            // another, which a pool of one could not give it.
            Flyway.configure()
                    .dataSource(url, user == null || user.isEmpty() ? null : user,
                            password == null || password.isEmpty() ? null : password)
                    .locations("classpath:db/migration/common", "classpath:db/migration/postgresql")
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new SQLException("database migration failed: " + e.getMessage(), e);
        }
        return new Database(ds, Dialect.POSTGRESQL, new PgConnector(url, user == null ? "" : user,
                password == null ? "" : password), Headroom.none());
    }

    /** The URL without its query string, which may carry a password: for messages. */
    static String withoutQuery(String url) {
        if (url == null) {
            return null;
        }
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?...";
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    public Dialect dialect() {
        return dialect;
    }

    /** The disk space kept for this database ({@link Headroom#none()} on PostgreSQL). */
    public Headroom headroom() {
        return headroom;
    }

    /**
     * Whether {@code e} (or what it wraps) says the database's disk is full: SQLSTATE {@value #DISK_FULL_STATE}, or
     * SQLite's {@code SQLITE_FULL}.
     */
    public static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s && (DISK_FULL_STATE.equals(s.getSQLState())
                    || (t instanceof SQLiteException lite
                    && (lite.getResultCode().code & 0xff) == SQLITE_FULL))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Work that reads and writes inside one transaction. It may run more than once: a transaction that failed for
     * want of disk space is run again, from the start, once the headroom is released; only the last run counts.
     */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} atomically and returns once it is committed; on any exception from it, none of its changes
     * stay and the exception is thrown here. It may share its transaction (not its atomicity) with concurrent writes.
     */
    public <T> T write(Work<T> work) throws SQLException {
        if (dialect == Dialect.POSTGRESQL) {
            return writeAlone(work);
        }
        Pending<T> mine = new Pending<>(work);
        writes.commit(mine, SQLException.class);
        return mine.outcome();
    }

    /** One transaction for one work on its own pooled connection (PostgreSQL: concurrent writers need no gate). */
    private <T> T writeAlone(Work<T> work) throws SQLException {
        try {
            return inTransaction(work);
        } catch (SQLException e) {
            throw isDiskFull(e) ? diskFull(e) : e;
        }
    }

    /**
     * Runs {@code work} in one transaction on a pooled connection and commits it. On failure the transaction is
     * rolled back, and the connection goes back to the pool only if that left it clean (rolled back, in auto-commit
     * mode); a connection whose commit failed, or whose rollback failed, is evicted: its transaction state is in
     * doubt. The exception thrown is the first failure, with later ones suppressed.
     */
    private <T> T inTransaction(Work<T> work) throws SQLException {
        Connection c = dataSource.getConnection();
        boolean clean = false;
        Throwable failure = null;
        try {
            c.setAutoCommit(false);
            T result;
            try {
                result = work.run(c);
            } catch (SQLException | RuntimeException | Error e) {
                clean = rollback(c, e);
                throw e;
            }
            try {
                c.commit();
            } catch (SQLException | RuntimeException | Error e) {
                // Even when the rollback passes, a failed COMMIT leaves the connection in doubt: never reuse it.
                rollback(c, e);
                throw e;
            }
            c.setAutoCommit(true);
            clean = true;
            return result;
        } catch (SQLException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            if (!clean) {
                try {
                    dataSource.evictConnection(c);
                } catch (RuntimeException e) {
                    addSuppressed(failure, e);
                }
            }
            try {
                c.close();
            } catch (SQLException e) {
                if (failure == null) {
                    throw e;
                }
                addSuppressed(failure, e);
            }
        }
    }

    private static void addSuppressed(Throwable to, Throwable e) {
        if (to != null && to != e) {
            to.addSuppressed(e);
        }
    }

    /**
     * Rolls back and returns to auto-commit mode; false (the failures suppressed into {@code cause}) when either
     * fails, e.g. because SQLite already rolled the transaction back itself.
     */
    private static boolean rollback(Connection c, Throwable cause) {
        try {
            c.rollback();
            c.setAutoCommit(true);
            return true;
        } catch (SQLException | RuntimeException e) {
            addSuppressed(cause, e);
            return false;
        }
    }

    /** {@code e} as the disk-full failure callers see: SQLSTATE {@value #DISK_FULL_STATE}, {@code e} as cause. */
    private static SQLException diskFull(SQLException e) {
        if (DISK_FULL_STATE.equals(e.getSQLState())) {
            return e;
        }
        return new SQLException("the database's disk is full: " + e.getMessage(), DISK_FULL_STATE,
                e.getErrorCode(), e);
    }

    /**
     * Runs one batch of queued writes in one transaction and records each one's own outcome (a work that failed in
     * its savepoint fails alone); throws, failing the whole batch, when the transaction does not commit.
     */
    private void commitBatch(List<Pending<?>> batch) throws SQLException {
        List<Runnable> outcomes;
        try {
            try {
                outcomes = inTransaction(c -> runAll(batch, c));
            } catch (SQLException | RuntimeException | Error e) {
                // Out of disk space: the headroom kept for this moment goes to the database, and the batch runs
                // again from the start (its first run was rolled back).
                if (!(isDiskFull(e) && headroom.release())) {
                    throw e;
                }
                try {
                    outcomes = inTransaction(c -> runAll(batch, c));
                } catch (SQLException | RuntimeException | Error again) {
                    again.addSuppressed(e);
                    throw again;
                }
            }
        } catch (SQLException e) {
            throw isDiskFull(e) ? diskFull(e) : e;
        }
        if (outcomes.size() != batch.size()) {
            throw new IllegalStateException("the write's outcome was lost");
        }
        outcomes.forEach(Runnable::run);
    }

    /** Runs every work of {@code batch} on {@code c}; the outcomes to deliver once the transaction has committed. */
    private static List<Runnable> runAll(List<Pending<?>> batch, Connection c) throws SQLException {
        List<Runnable> outcomes = new ArrayList<>(batch.size());
        if (batch.size() == 1) {
            // Alone: no savepoint needed, its failure rolls back the whole transaction.
            outcomes.add(batch.getFirst().run(c));
        } else {
            for (Pending<?> p : batch) {
                outcomes.add(p.runInSavepoint(c));
            }
        }
        return outcomes;
    }

    /**
     * One queued write: its work, then its own outcome, set after the commit by the committing thread (the
     * caller reads it after {@link GroupCommit#commit} returned, which orders the two).
     */
    private static final class Pending<T> {
        private final Work<T> work;
        private volatile T result;
        private volatile Throwable failure;

        Pending(Work<T> work) {
            this.work = work;
        }

        /** Runs the work; returns what completes it once the transaction has committed. */
        Runnable run(Connection c) throws SQLException {
            T r = work.run(c);
            return () -> complete(r, null);
        }

        /** Runs the work in a savepoint, so that its failure undoes only its own changes. */
        Runnable runInSavepoint(Connection c) throws SQLException {
            Savepoint sp = c.setSavepoint();
            T r;
            try {
                r = work.run(c);
            } catch (SQLException | RuntimeException | Error e) {
                // If the savepoint cannot be restored, the transaction is in doubt: the whole batch fails, with
                // this work's failure as the reason (SQLite rolls everything back itself after SQLITE_FULL, and the
                // batch is retried when that was the cause).
                try {
                    c.rollback(sp);
                    c.releaseSavepoint(sp);
                } catch (SQLException | RuntimeException restore) {
                    e.addSuppressed(restore);
                    throw e;
                }
                return failed(e);
            }
            c.releaseSavepoint(sp);
            return () -> complete(r, null);
        }

        Runnable failed(Throwable e) {
            return () -> complete(null, e);
        }

        private void complete(T r, Throwable f) {
            result = r;
            failure = f;
        }

        T outcome() throws SQLException {
            return switch (failure) {
                case null -> result;
                case SQLException e -> throw e;
                case RuntimeException e -> throw e;
                case Error e -> throw e;
                default -> throw new IllegalStateException(failure);
            };
        }
    }

    /** Writes waiting for a group commit (for tests). */
    int queuedWrites() {
        return writes.queued();
    }

    /** Runs read-only {@code work} on a pooled connection. */
    public <T> T read(Work<T> work) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            return work.run(c);
        }
    }

    /** Cheap round trip for readiness checks. */
    public boolean ping() {
        try {
            return read(c -> {
                try (var st = c.createStatement(); var rs = st.executeQuery("SELECT 1")) {
                    return rs.next();
                }
            });
        } catch (SQLException e) {
            return false;
        }
    }

    /**
     * Runs {@code handler} (on this process's one listener thread; it must not block) with the payload of every
     * NOTIFY on {@code channel} from now on, from any process, this one included; and with {@code null} after the
     * listener had to reconnect, since notifications sent meanwhile are lost. Returns once the channel is listened
     * to, so a NOTIFY committed after this returns is delivered. On SQLite there is no other process to hear from:
     * nothing happens.
     */
    public void listen(String channel, Consumer<String> handler) throws SQLException {
        if (dialect != Dialect.POSTGRESQL) {
            return;
        }
        PgListener l;
        synchronized (this) {
            if (listener == null) {
                listener = new PgListener(() -> connector.open(LISTEN_APPLICATION_NAME));
            }
            l = listener;
        }
        l.subscribe(channel, handler);
    }

    /**
     * Inside transaction {@code tx}: waits until no other transaction holds lock {@code key}, and holds it until
     * {@code tx} ends, so that the transactions taking the same key run their remainder, commit included, one after
     * the other. On PostgreSQL a transaction-level advisory lock; on SQLite nothing, as every write is serial there.
     */
    public void serialize(Connection tx, long key) throws SQLException {
        if (dialect == Dialect.POSTGRESQL) {
            try (var ps = tx.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                ps.setLong(1, key);
                ps.execute();
            }
        }
    }

    /**
     * Inside transaction {@code tx}: a NOTIFY on {@code channel}, delivered to every {@link #listen}er (this process
     * included) when {@code tx} commits, and never if it rolls back. Nothing on SQLite.
     */
    public void notify(Connection tx, String channel, String payload) throws SQLException {
        if (dialect == Dialect.POSTGRESQL) {
            try (var ps = tx.prepareStatement("SELECT pg_notify(?, ?)")) {
                ps.setString(1, channel);
                ps.setString(2, payload);
                ps.execute();
            }
        }
    }

    /**
     * A new connection outside the pool, in auto-commit mode, for a session that must outlive any one transaction
     * (session-level advisory locks). The caller closes it; {@link #close} closes the ones still open. PostgreSQL
     * only.
     */
    public Connection openSession() throws SQLException {
        if (connector == null) {
            throw new UnsupportedOperationException("dedicated sessions need PostgreSQL");
        }
        sessions.removeIf(Database::isClosed);
        Connection c = connector.open(SESSION_APPLICATION_NAME);
        sessions.add(c);
        return c;
    }

    private static boolean isClosed(Connection c) {
        try {
            return c.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    @Override
    public void close() {
        PgListener l;
        synchronized (this) {
            l = listener;
            listener = null;
        }
        if (l != null) {
            l.close();
        }
        for (Connection c; (c = sessions.poll()) != null; ) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing anyway
            }
        }
        dataSource.close();
    }
}
