package io.sluice.config;

/**
 * Where the metadata lives: SQLite in the data directory (the default), or a PostgreSQL server that several nodes
 * can share.
 *
 * @param url      empty: SQLite in {@code <dataDir>/sluice.db}; otherwise a {@code jdbc:postgresql:} URL
 * @param user     PostgreSQL user; empty: the driver's default (or the one in the URL)
 * @param password PostgreSQL password; empty: none. A credential: never printed ({@link #toString()} hides it)
 * @param poolSize pooled connections to PostgreSQL per process
 * @param headroom bytes of the data disk kept for SQLite (a ballast file released when the disk fills); 0 keeps
 *                 none. Unused with PostgreSQL
 */
public record DatabaseConfig(String url, String user, String password, int poolSize, long headroom) {

    public static final int DEFAULT_POOL_SIZE = 16;
    /**
     * Room for several thousand small commits, or a whole WAL cycle (SQLite checkpoints at 1,000 pages, 4 MiB)
     * several times over: enough to delete uploads and change keys on a full disk. Negligible on any real disk.
     */
    public static final long DEFAULT_HEADROOM = 16L << 20;

    public boolean postgres() {
        return !url.isEmpty();
    }

    @Override
    public String toString() {
        return "DatabaseConfig[url=" + url + ", user=" + user + ", password=" + (password.isEmpty() ? "" : "(set)")
                + ", poolSize=" + poolSize + ", headroom=" + headroom + "]";
    }
}
