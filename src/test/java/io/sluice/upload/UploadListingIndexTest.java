package io.sluice.upload;

import io.sluice.db.Database;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The upload list at 100,000 rows (inserted directly in SQL): every sort, with and without an owner, and with each
 * filter, is planned by SQLite as a walk of an index in the page's order (EXPLAIN QUERY PLAN names the index and
 * never a temporary B-tree for the ORDER BY, which would mean reading every matching row to sort it), and the page
 * after a deep cursor is the right one. No timings are asserted: bench/ is for those.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UploadListingIndexTest {

    static final int ROWS = 100_000;

    @TempDir
    Path dir;

    @Test
    void everyPageQueryWalksAnIndexInOrder() throws Exception {
        try (Database db = Database.openSqlite(dir)) {
            IdGenerator ids = new IdGenerator(Clock.systemUTC());
            List<String> owners = List.of("KEYA", "KEYB", "KEYC");
            db.write(c -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO uploads (id, filename, size, sha256, "
                        + "content_type, storage_key, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                    for (int i = 0; i < ROWS; i++) {
                        String id = ids.next();
                        ps.setString(1, id);
                        ps.setString(2, "file-" + (i % 5000) + ".bin");
                        ps.setLong(3, i % 977);
                        ps.setString(4, "0".repeat(64));
                        ps.setString(5, i % 2 == 0 ? "image/png" : "text/plain");
                        ps.setString(6, id);
                        ps.setLong(7, 1_700_000_000_000L + i / 10);
                        ps.setString(8, owners.get(i % owners.size()));
                        ps.addBatch();
                        if (i % 5000 == 4999) {
                            ps.executeBatch();
                        }
                    }
                    ps.executeBatch();
                }
                try (var st = c.createStatement()) {
                    st.execute("ANALYZE");
                }
                return null;
            });
            SqlUploadRepository repo = new SqlUploadRepository(db);
            List<String> plans = new ArrayList<>();
            for (UploadQuery.Sort sort : UploadQuery.Sort.values()) {
                for (String owner : new String[]{null, "KEYB"}) {
                    for (String[] filter : new String[][]{{null, null}, {"file-12", null}, {null, "image/*"}}) {
                        UploadQuery first = new UploadQuery(owner, filter[0], filter[1], sort, null);
                        List<Upload> page = repo.search(first, 50);
                        assertThat(page).as(first.toString()).isNotEmpty();
                        UploadQuery next = UploadQuery.parse(owner, filter[0], filter[1], sort.token,
                                first.cursorAfter(page.getLast()));
                        String plan = plan(db, SqlUploadRepository.searchSql(next), next);
                        plans.add(next.sort() + " owner=" + owner + " " + plan);
                        assertThat(plan).as(next + ": " + plan).containsPattern(
                                "USING (COVERING )?INDEX (uploads_|sqlite_autoindex_uploads)|USING PRIMARY KEY")
                                .doesNotContain("TEMP B-TREE").doesNotContain("SCAN uploads\n");
                        // The second page continues the first in order, without overlap.
                        List<Upload> second = repo.search(next, 50);
                        assertThat(second).extracting(Upload::id)
                                .doesNotContainAnyElementsOf(page.stream().map(Upload::id).toList());
                        if (owner != null) {
                            assertThat(second).allMatch(u -> u.owner().equals(owner));
                        }
                    }
                }
            }
            System.out.println(String.join("\n", plans));
        }
    }

    /**
     * The same queries on PostgreSQL (embedded): V7 applies there too, and paging every sort through rows tied on
     * name, size and creation time returns each row once, in the order a sort in Java gives.
     */
    @Test
    void postgresPagesEverySortThroughTies() throws Exception {
        String url = io.sluice.testing.Postgres.freshDatabase();
        try (Database db = Database.openPostgres(url, io.sluice.testing.Postgres.USER, "", 2)) {
            IdGenerator ids = new IdGenerator(Clock.systemUTC());
            List<Upload> rows = new ArrayList<>();
            java.time.Instant same = java.time.Instant.ofEpochMilli(1_700_000_000_000L);
            for (int i = 0; i < 37; i++) {
                rows.add(new Upload(ids.next(), "Tied_" + (char) ('a' + i % 3) + "%.txt", 100 + i % 4, "0".repeat(64),
                        i % 2 == 0 ? "text/plain" : "image/png", same, "k" + i, null, java.util.Map.of(),
                        i % 5 == 0 ? "OTHER" : "KEYA"));
            }
            SqlUploadRepository repo = new SqlUploadRepository(db);
            db.write(c -> {
                for (Upload u : rows) {
                    repo.insert(c, u);
                }
                return null;
            });
            java.util.Comparator<Upload> byId = java.util.Comparator.comparing(Upload::id);
            java.util.Map<UploadQuery.Sort, java.util.Comparator<Upload>> orders = java.util.Map.of(
                    UploadQuery.Sort.NEWEST, byId.reversed(),
                    UploadQuery.Sort.OLDEST, byId,
                    UploadQuery.Sort.NAME, java.util.Comparator.comparing(Upload::filename).thenComparing(byId),
                    UploadQuery.Sort.NAME_DESC,
                    java.util.Comparator.comparing(Upload::filename).thenComparing(byId).reversed(),
                    UploadQuery.Sort.SIZE, java.util.Comparator.comparingLong(Upload::size).thenComparing(byId),
                    UploadQuery.Sort.SIZE_DESC,
                    java.util.Comparator.comparingLong(Upload::size).thenComparing(byId).reversed());
            for (var e : orders.entrySet()) {
                for (String[] f : new String[][]{{null, null, null}, {"KEYA", "TIED_B%", null}, {"KEYA", null, "image/*"}}) {
                    List<String> expected = rows.stream()
                            .filter(u -> f[0] == null || u.owner().equals(f[0]))
                            .filter(u -> f[1] == null || u.filename().toLowerCase().contains(f[1].toLowerCase()))
                            .filter(u -> f[2] == null || u.contentType().startsWith("image/"))
                            .sorted(e.getValue()).map(Upload::id).toList();
                    List<String> seen = new ArrayList<>();
                    String cursor = null;
                    for (int pages = 0; pages < 50; pages++) {
                        UploadQuery q = UploadQuery.parse(f[0], f[1], f[2], e.getKey().token, cursor);
                        List<Upload> page = repo.search(q, 4);
                        page.forEach(u -> seen.add(u.id()));
                        if (page.size() < 4) {
                            break;
                        }
                        cursor = q.cursorAfter(page.getLast());
                    }
                    assertThat(seen).as(e.getKey() + " " + java.util.Arrays.toString(f)).containsExactlyElementsOf(expected);
                }
            }
        }
    }

    /** EXPLAIN QUERY PLAN of the page query with this query's bind values: its detail lines, one per line. */
    private static String plan(Database db, String sql, UploadQuery q) throws Exception {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("EXPLAIN QUERY PLAN " + sql)) {
                int i = 1;
                if (q.owner() != null) {
                    ps.setString(i++, q.owner());
                }
                if (q.after() != null) {
                    switch (q.sort().column) {
                        case "filename" -> ps.setString(i++, q.after().name());
                        case "size" -> ps.setLong(i++, q.after().size());
                        default -> { }
                    }
                    ps.setString(i++, q.after().id());
                }
                if (q.nameContains() != null) {
                    ps.setString(i++, "%" + q.nameContains() + "%");
                }
                if (q.type() != null) {
                    ps.setString(i++, q.type().replace("*", "%"));
                }
                ps.setInt(i, 51);
                StringBuilder out = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.append(rs.getString("detail")).append('\n');
                    }
                }
                return out.toString();
            }
        });
    }
}
