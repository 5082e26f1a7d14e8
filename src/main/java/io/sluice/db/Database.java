package io.sluice.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Semaphore;

/**
 * The connection pool, the migrations and the dialect differences, in one place.
 *
 * <p>Contract: {@link #write} runs its work in one transaction and commits before returning, so a caller that
 * answers a client after {@code write} returns has a durable row (invariant 2). {@link #read} never blocks on a
 * writer for long (SQLite runs in WAL mode).
 *
 * <p>SQLite allows one writer at a time; instead of letting concurrent writers spin on {@code SQLITE_BUSY}, writes
 * queue on a fair semaphore here. PostgreSQL (a later issue) needs no such gate.
 */
public final class Database implements AutoCloseable {

    /** Readers are cheap under WAL; a few connections cover the read paths without holding many file handles. */
    public static final int SQLITE_POOL_SIZE = 4;
    public static final int SQLITE_BUSY_TIMEOUT_MS = 10_000;

    private final HikariDataSource dataSource;
    private final Dialect dialect;
    private final Semaphore writeGate;

    private Database(HikariDataSource dataSource, Dialect dialect) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.writeGate = dialect == Dialect.SQLITE ? new Semaphore(1, true) : null;
    }

    /** Opens (creating if needed) the embedded SQLite database in {@code dataDir} and migrates it. */
    public static Database openSqlite(Path dataDir) throws SQLException {
        try {
            Files.createDirectories(dataDir);
        } catch (java.io.IOException e) {
            throw new SQLException("cannot create data directory " + dataDir + ": " + e.getMessage(), e);
        }
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
            Flyway.configure()
                    .dataSource(ds)
                    .locations("classpath:db/migration/common")
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new SQLException("database migration failed: " + e.getMessage(), e);
        }
        return new Database(ds, Dialect.SQLITE);
    }

    public Dialect dialect() {
        return dialect;
    }

    /** Work that reads and writes inside one transaction. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /** Runs {@code work} in one committed transaction; rolls back on any exception. */
    public <T> T write(Work<T> work) throws SQLException {
        if (writeGate != null) {
            writeGate.acquireUninterruptibly();
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } finally {
            if (writeGate != null) {
                writeGate.release();
            }
        }
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

    @Override
    public void close() {
        dataSource.close();
    }
}
