package io.sluice.db;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * V4 moved from db/migration/common to db/migration/sqlite unchanged (PostgreSQL has its own twin). A SQLite
 * database migrated before the move, with all four scripts in one folder, must open as it did: Flyway checks the
 * version, description and checksum of applied scripts, not the folder they came from.
 */
class MigrationLayoutTest {

    @TempDir
    Path dir;

    @Test
    void aDatabaseMigratedWithTheOldLayoutOpensUnchanged() throws Exception {
        Path old = Files.createDirectories(dir.resolve("old-layout"));
        for (String script : List.of("common/V1__uploads.sql", "common/V2__resumable_uploads.sql",
                "common/V3__jobs.sql", "sqlite/V4__webhooks.sql")) {
            try (InputStream in = getClass().getResourceAsStream("/db/migration/" + script)) {
                assertThat(in).as(script).isNotNull();
                Files.copy(in, old.resolve(script.substring(script.indexOf('/') + 1)));
            }
        }
        Path data = Files.createDirectories(dir.resolve("data"));
        Flyway.configure().dataSource("jdbc:sqlite:" + data.resolve("sluice.db"), null, null)
                .locations("filesystem:" + old).load().migrate();

        try (Database db = Database.openSqlite(data)) {
            assertThat(db.ping()).isTrue();
            long applied = db.read(c -> {
                try (var st = c.createStatement();
                     var rs = st.executeQuery("SELECT COUNT(*) FROM flyway_schema_history WHERE success = 1")) {
                    rs.next();
                    return rs.getLong(1);
                }
            });
            // Opening validated the four applied scripts; later versions (V5...) may be applied on top.
            assertThat(applied).isGreaterThanOrEqualTo(4);
        }
    }
}
