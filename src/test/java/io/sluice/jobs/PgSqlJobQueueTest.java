package io.sluice.jobs;

import io.sluice.db.Database;
import io.sluice.testing.Postgres;

import java.nio.file.Path;

/**
 * Every case of {@link SqlJobQueueTest} on a real PostgreSQL (a fresh database per case): the claim's
 * {@code FOR UPDATE SKIP LOCKED}, the database clock, {@code ON CONFLICT} and {@code RETURNING} as PostgreSQL runs
 * them. Skipped, loudly, where no embedded PostgreSQL can start.
 */
class PgSqlJobQueueTest extends SqlJobQueueTest {

    @Override
    Database openDatabase(Path dataDir) throws Exception {
        return Database.openPostgres(Postgres.freshDatabase(), Postgres.USER, "", 8);
    }
}
