package io.sluice.db;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.sql.DataSource;

/**
 * Whether a database's schema is already at the newest migration this build ships, decided without Flyway:
 * loading, configuring and running Flyway (classpath scan, history table, checksum validation) was the largest
 * single cost of a start on an existing data directory (about 400 classes, most of a second on a busy machine).
 * Flyway still runs whenever the schema is behind, the history has a failed entry, or anything here is unsure.
 */
final class SchemaVersion {

    private static final Pattern MIGRATION = Pattern.compile("V(\\d+(?:[._]\\d+)*)__[^/]*\\.sql");

    /** Flyway's version order: dotted (or underscored) numbers compared part by part. */
    static final Comparator<String> ORDER = (a, b) -> {
        String[] x = a.split("[._]");
        String[] y = b.split("[._]");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            long p = i < x.length ? Long.parseLong(x[i]) : 0;
            long q = i < y.length ? Long.parseLong(y[i]) : 0;
            if (p != q) {
                return Long.compare(p, q);
            }
        }
        return 0;
    };

    private SchemaVersion() {
    }

    /** The newest versioned migration under the class-path folders {@code locations}; empty if unsure or none. */
    static Optional<String> newestShipped(List<String> locations) {
        return newestShipped(SchemaVersion.class.getClassLoader(), locations);
    }

    /** The same, from {@code loader}'s class path (a folder in tests, the jar in production). */
    static Optional<String> newestShipped(ClassLoader loader, List<String> locations) {
        List<String> versions = new ArrayList<>();
        for (String location : locations) {
            URL url = loader.getResource(location);
            if (url == null) {
                // A jar without directory entries: unsure, so Flyway (which scans every entry) decides.
                return Optional.empty();
            }
            for (String name : names(url, location)) {
                Matcher m = MIGRATION.matcher(name);
                if (m.matches()) {
                    versions.add(m.group(1));
                }
            }
        }
        return versions.stream().max(ORDER);
    }

    private static List<String> names(URL url, String location) {
        try {
            if (url.getProtocol().equals("file")) {
                try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
                    return files.map(p -> p.getFileName().toString()).toList();
                }
            }
            if (url.getProtocol().equals("jar") && url.openConnection() instanceof JarURLConnection c) {
                String prefix = location.endsWith("/") ? location : location + "/";
                JarFile jar = c.getJarFile();
                return jar.stream().map(e -> e.getName())
                        .filter(n -> n.startsWith(prefix) && n.indexOf('/', prefix.length()) < 0)
                        .map(n -> n.substring(prefix.length())).toList();
            }
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * True when the database's Flyway history ends, without a failed entry, at {@code newest}: nothing to migrate.
     * False when there is no history table yet, a failed entry, or an older version; any error also says false
     * (Flyway then decides and reports).
     */
    static boolean isCurrent(DataSource ds, String newest) {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL")) {
            String stored = null;
            while (r.next()) {
                if (!r.getBoolean(2)) {
                    return false;
                }
                String v = r.getString(1);
                if (stored == null || ORDER.compare(v, stored) > 0) {
                    stored = v;
                }
            }
            return stored != null && ORDER.compare(stored, newest) == 0;
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }
}
