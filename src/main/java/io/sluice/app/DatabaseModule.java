package io.sluice.app;

import io.sluice.config.DatabaseConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;

import java.sql.SQLException;

/** The database (migrated on open): closed last, after every module that writes to it has stopped. */
public record DatabaseModule(Database db) implements Module {

    /** The server's database: as {@link #open}, with SQLite's headroom on the data disk. */
    public static DatabaseModule create(SluiceConfig config) throws SQLException {
        DatabaseConfig d = config.database();
        return new DatabaseModule(d.postgres() ? open(config) : Database.openSqlite(config.dataDir(), d.headroom()));
    }

    /**
     * The configured database: a shared PostgreSQL when {@code database.url} is set, else SQLite in the data dir
     * (for tools beside a server: the server's headroom is left to the server).
     */
    public static Database open(SluiceConfig config) throws SQLException {
        DatabaseConfig d = config.database();
        return d.postgres() ? Database.openPostgres(d.url(), d.user(), d.password(), d.poolSize())
                : Database.openSqlite(config.dataDir());
    }

    @Override
    public String name() {
        return "database";
    }

    @Override
    public void stop() {
        db.close();
    }
}
