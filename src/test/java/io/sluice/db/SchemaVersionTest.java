package io.sluice.db;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Start-up runs Flyway only when the schema is behind the newest migration shipped: a database left at an older
 * version is still migrated, one with a failed entry still goes through Flyway, and the newest version is read
 * from a jar as from a folder.
 */
class SchemaVersionTest {

    private static final List<String> SQLITE = List.of("db/migration/common", "db/migration/sqlite");

    @TempDir
    Path dir;

    private static String newestOnDisk() throws Exception {
        return Files.list(Path.of("src/main/resources/db/migration/common")).map(p -> p.getFileName().toString())
                .map(n -> n.substring(1, n.indexOf("__"))).max(SchemaVersion.ORDER).orElseThrow();
    }

    private static String stored(Database db) throws Exception {
        return db.read(c -> {
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
                    "SELECT version FROM flyway_schema_history WHERE success = 1 ORDER BY installed_rank DESC LIMIT 1")) {
                r.next();
                return r.getString(1);
            }
        });
    }

    @Test
    void newestShippedIsTheHighestVersionInTheFoldersAndInAJar() throws Exception {
        assertThat(SchemaVersion.newestShipped(SQLITE)).contains(newestOnDisk());

        Path jar = dir.resolve("m.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (String name : List.of("db/migration/common/", "db/migration/common/V2__b.sql",
                    "db/migration/common/V10__c.sql", "db/migration/common/V9_1__d.sql",
                    "db/migration/common/deeper/V99__not_here.sql", "db/migration/sqlite/", "db/migration/sqlite/V4__e.sql",
                    "db/migration/common/R__repeatable.sql")) {
                out.putNextEntry(new JarEntry(name));
                out.closeEntry();
            }
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[]{jar.toUri().toURL()}, null)) {
            assertThat(SchemaVersion.newestShipped(loader, SQLITE)).contains("10");
            assertThat(SchemaVersion.newestShipped(loader, List.of("db/migration/sqlite"))).contains("4");
            // A folder the class loader cannot find (no directory entry): unsure, so Flyway decides.
            assertThat(SchemaVersion.newestShipped(loader, List.of("db/migration/common", "db/migration/none")))
                    .isEmpty();
        }
    }

    @Test
    void aDatabaseBehindTheJarIsStillMigratedAndThenIsCurrent() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Flyway.configure().dataSource("jdbc:sqlite:" + data.resolve("sluice.db"), null, null)
                .locations("classpath:db/migration/common", "classpath:db/migration/sqlite").target("5").load().migrate();

        try (Database db = Database.openSqlite(data)) {
            assertThat(stored(db)).isEqualTo(newestOnDisk());
            int tables = db.read(c -> {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
                        "SELECT count(*) FROM sqlite_master WHERE name = 'presigned_uploads'")) {
                    r.next();
                    return r.getInt(1);
                }
            });
            assertThat(tables).isEqualTo(1);
        }
        // Opened again: current, so no Flyway run, and nothing changes.
        try (Database db = Database.openSqlite(data)) {
            assertThat(stored(db)).isEqualTo(newestOnDisk());
        }
    }

    @Test
    void isCurrentOnlyForAHistoryThatEndsAtTheNewestWithoutFailures() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        String url = "jdbc:sqlite:" + data.resolve("sluice.db");
        org.sqlite.SQLiteDataSource ds = new org.sqlite.SQLiteDataSource();
        ds.setUrl(url);
        String newest = newestOnDisk();

        assertThat(SchemaVersion.isCurrent(ds, newest)).as("no history table").isFalse();
        Flyway.configure().dataSource(url, null, null)
                .locations("classpath:db/migration/common", "classpath:db/migration/sqlite").target("5").load().migrate();
        assertThat(SchemaVersion.isCurrent(ds, newest)).as("behind").isFalse();
        Flyway.configure().dataSource(url, null, null)
                .locations("classpath:db/migration/common", "classpath:db/migration/sqlite").load().migrate();
        assertThat(SchemaVersion.isCurrent(ds, newest)).as("current").isTrue();
        assertThat(SchemaVersion.isCurrent(ds, "1")).as("ahead of this jar: Flyway decides").isFalse();

        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE flyway_schema_history SET success = 0 WHERE version = '" + newest + "'");
        }
        assertThat(SchemaVersion.isCurrent(ds, newest)).as("a failed entry").isFalse();
    }
}
