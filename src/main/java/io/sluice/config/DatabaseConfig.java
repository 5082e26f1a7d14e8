package io.sluice.config;

/**
 * Where the metadata lives: SQLite in the data directory (the default), or a PostgreSQL server that several nodes
 * can share.
 *
 * @param url      empty: SQLite in {@code <dataDir>/sluice.db}; otherwise a {@code jdbc:postgresql:} URL
 * @param user     PostgreSQL user; empty: the driver's default (or the one in the URL)
 * @param password PostgreSQL password; empty: none. A credential: never printed ({@link #toString()} hides it)
 * @param poolSize pooled connections to PostgreSQL per process
 */
public record DatabaseConfig(String url, String user, String password, int poolSize) {

    public static final int DEFAULT_POOL_SIZE = 16;

    public boolean postgres() {
        return !url.isEmpty();
    }

    @Override
    public String toString() {
        return "DatabaseConfig[url=" + url + ", user=" + user + ", password=" + (password.isEmpty() ? "" : "(set)")
                + ", poolSize=" + poolSize + "]";
    }
}
