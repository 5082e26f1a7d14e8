package io.sluice.db;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.SmallDisk;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The database on a full disk, readiness and restart, on a real small filesystem (tmpfs) that a filler file — another
 * process — fills to the last byte: deletes, key changes, job state changes and presigning still work on the same
 * connection pool, readiness says why it is not ready and comes back within 5 s of space being freed, and a server
 * restarted on the full disk starts, serves reads and deletes, and takes uploads once space returns.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FullDiskTest {

    /** Small, so filling it is quick; large enough for the database headroom (16 MiB by default) and the server. */
    static final int DISK_MIB = 64;
    static final Duration READY_BOUND = Duration.ofSeconds(5);
    /** The production default (TestServer keeps it small for the rest of the suite). */
    static final String DEFAULT_HEADROOM = io.sluice.config.Units.formatSize(
            io.sluice.config.DatabaseConfig.DEFAULT_HEADROOM);

    @TempDir
    Path dir;

    /** Every answer of a test, so that "no 500 anywhere" is checked over all of them. */
    private final List<String> answers = new ArrayList<>();

    @Test
    void deletesKeysJobsAndPresignWorkOnAFullDiskAndReadinessRecovers() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir, DISK_MIB)) {
            Path config = dir.resolve("sluice.yaml");
            // One worker, and every job of "slow" sleeps long after its one line: the first runs, the second waits.
            Files.writeString(config, """
                    jobs:
                      pollInterval: 50ms
                    pipelines:
                      slow:
                        processor: test-sleep
                        concurrency: 1
                        options: {lines: 1, delayMillis: 600000}
                    """);
            try (TestServer s = TestServer.start(disk.root().resolve("data"), config, "jobs.workers", "1",
                    "server.shutdownGrace", "2s", "database.headroom", DEFAULT_HEADROOM)) {
                awaitHeadroomHeld(s, null);
                String admin = createKey(s, null, "admin", true);
                JsonNode one = uploaded(s, admin, "one.txt?pipeline=slow", "first\n");
                JsonNode two = uploaded(s, admin, "two.txt?pipeline=slow", "second\n");
                String first = one.path("id").asText();
                String running = one.at("/job/id").asText();
                String queued = two.at("/job/id").asText();
                Await.until(Duration.ofSeconds(20), "the first job runs", () ->
                        "running".equals(job(s, admin, running).path("state").asText()));
                assertThat(job(s, admin, queued).path("state").asText()).isEqualTo("queued");
                Path wal = s.dataDir().resolve("sluice.db-wal");
                long walBefore = Files.exists(wal) ? Files.size(wal) : 0;

                long filled = disk.fill();
                assertThat(filled).isPositive();
                assertThat(disk.usable()).as("the disk is full").isLessThan(4096);

                HttpResponse<String> notReady = s.get("/health/ready");
                record(notReady);
                assertThat(notReady.statusCode()).isEqualTo(503);
                JsonNode why = Json.parse(notReady.body());
                assertThat(why.path("reason").asText()).as(notReady.body()).startsWith("disk below reserve: ");
                assertThat(why.at("/checks/disk").asText()).isEqualTo("DOWN");

                // Freeing space: a delete commits (the headroom goes to the database) and removes the blob.
                HttpResponse<String> deleted = send(s, admin, "DELETE", "/api/v1/uploads/" + first, null);
                assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
                assertThat(send(s, admin, "GET", "/api/v1/uploads/" + first, null).statusCode()).isEqualTo(404);
                // Key changes, a job state change, presigning: all commit, several times over on the same pool.
                List<String> keys = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    keys.add(createKey(s, admin, "on-a-full-disk-" + i, false));
                }
                HttpResponse<String> revoked = send(s, admin, "DELETE", "/api/v1/keys/" + keys.getFirst(), null);
                assertThat(revoked.statusCode()).as(revoked.body()).isIn(200, 204);
                HttpResponse<String> cancelled = send(s, admin, "POST", "/api/v1/jobs/" + queued + "/cancel", "");
                assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(202);
                assertThat(job(s, admin, queued).path("state").asText()).isEqualTo("cancelled");
                // Presigning only records a row: it is answered (the PUT that writes is the one the disk refuses).
                HttpResponse<String> presigned = send(s, admin, "POST", "/api/v1/uploads/presign",
                        "{\"filename\":\"later.txt\",\"size\":5,\"contentType\":\"text/plain\"}");
                assertThat(presigned.statusCode()).as(presigned.body()).isEqualTo(201);
                for (int i = 0; i < 5; i++) {
                    assertThat(send(s, admin, "GET", "/api/v1/uploads", null).statusCode()).isEqualTo(200);
                    assertThat(send(s, admin, "GET", "/api/v1/keys", null).statusCode()).isEqualTo(200);
                    assertThat(createKey(s, admin, "again-" + i, false)).isNotBlank();
                }
                // The database lived within what the disk had: the WAL grew by no more than the headroom.
                assertThat(Files.size(wal) - walBefore).as("WAL growth on the full disk")
                        .isLessThanOrEqualTo(s.app().config().database().headroom());
                assertThat(disk.bytesInFiles()).as("bytes in files vs the disk").isLessThanOrEqualTo(disk.total());
                // The released headroom is owed, not free: readiness stays 503 while the disk holds less than it.
                // (SQLite may also give space back by checkpointing its WAL; then the rule is met and it is 200.)
                JsonNode headroom = Json.parse(send(s, admin, "GET", "/health/detailed", null).body()).at("/disk/headroom");
                long owed = headroom.path("size").asLong() - headroom.path("held").asLong();
                long freeBefore = disk.usable();
                HttpResponse<String> stillFull = s.get("/health/ready");
                long freeAfter = disk.usable();
                record(stillFull);
                assertThat(owed).as("the headroom was released and is owed").isPositive();
                if (Math.max(freeBefore, freeAfter) < owed) {
                    assertThat(stillFull.statusCode()).as("the released headroom is owed, not free").isEqualTo(503);
                } else if (Math.min(freeBefore, freeAfter) >= owed) {
                    assertThat(stillFull.statusCode()).as("free space covers what is owed").isEqualTo(200);
                }

                // The other process frees its space: ready again within the bound, without anyone's help.
                disk.free();
                long freed = System.nanoTime();
                Await.until(READY_BOUND.plusSeconds(5), "readiness after space was freed",
                        () -> record(s.get("/health/ready")).statusCode() == 200);
                assertThat(Duration.ofNanos(System.nanoTime() - freed)).isLessThan(READY_BOUND);
                awaitHeadroomHeld(s, admin);
                assertThat(send(s, admin, "PUT", "/api/v1/uploads/after.txt", "back\n").statusCode()).isEqualTo(201);
            }
        }
        assertNo500();
    }

    @Test
    void aServerRestartedOnAFullDiskStartsServesReadsAndDeletesAndTakesUploadsOnceSpaceReturns() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir, DISK_MIB)) {
            Path data = disk.root().resolve("data");
            String kept;
            String gone;
            String tus;
            try (TestServer s = TestServer.start(data, "database.headroom", DEFAULT_HEADROOM)) {
                awaitHeadroomHeld(s, null);
                kept = upload(s, null, "kept.txt", "kept content\n");
                gone = upload(s, null, "gone.txt", "to delete\n");
                HttpResponse<String> created = s.send(HttpRequest.newBuilder(s.uri("/files/"))
                        .header("Tus-Resumable", "1.0.0").header("Upload-Length", "10")
                        .POST(HttpRequest.BodyPublishers.noBody()).build());
                assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                tus = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
                HttpResponse<String> patched = s.send(HttpRequest.newBuilder(s.uri(tus))
                        .header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
                        .header("Content-Type", "application/offset+octet-stream")
                        .method("PATCH", HttpRequest.BodyPublishers.ofString("half")).build());
                assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);
            }

            // A secret file that is missing (deleted, or new in this version) cannot be written on the full disk.
            Files.delete(data.resolve(io.sluice.notify.WebhookSecret.FILE));
            disk.fill();
            assertThat(disk.usable()).as("the disk is full").isLessThan(4096);

            try (TestServer s = TestServer.start(data, "database.headroom", DEFAULT_HEADROOM)) {
                HttpResponse<String> notReady = record(s.get("/health/ready"));
                assertThat(notReady.statusCode()).isEqualTo(503);
                assertThat(Json.parse(notReady.body()).path("reason").asText()).startsWith("disk below reserve: ");
                assertThat(s.app().checksPass()).as("a full disk is no reason for the watchdog to restart").isTrue();

                HttpResponse<String> list = send(s, null, "GET", "/api/v1/uploads", null);
                assertThat(list.statusCode()).isEqualTo(200);
                assertThat(list.body()).contains(kept, gone);
                HttpResponse<String> content = send(s, null, "GET", "/api/v1/uploads/" + kept + "/content", null);
                assertThat(content.statusCode()).isEqualTo(200);
                assertThat(content.body()).isEqualTo("kept content\n");
                HttpResponse<String> head = record(s.send(HttpRequest.newBuilder(s.uri(tus))
                        .header("Tus-Resumable", "1.0.0").method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .build()));
                assertThat(head.statusCode()).isEqualTo(200);
                assertThat(head.headers().firstValue("Upload-Offset")).hasValue("4");
                HttpResponse<String> deleted = send(s, null, "DELETE", "/api/v1/uploads/" + gone, null);
                assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
                assertThat(send(s, null, "GET", "/api/v1/uploads/" + gone, null).statusCode()).isEqualTo(404);
                assertThat(disk.bytesInFiles()).as("bytes in files vs the disk").isLessThanOrEqualTo(disk.total());

                disk.free();
                long freed = System.nanoTime();
                Await.until(READY_BOUND.plusSeconds(5), "readiness after space was freed",
                        () -> record(s.get("/health/ready")).statusCode() == 200);
                assertThat(Duration.ofNanos(System.nanoTime() - freed)).isLessThan(READY_BOUND);
                assertThat(send(s, null, "PUT", "/api/v1/uploads/after.txt", "back\n").statusCode()).isEqualTo(201);
                HttpResponse<String> finished = s.send(HttpRequest.newBuilder(s.uri(tus))
                        .header("Tus-Resumable", "1.0.0").header("Upload-Offset", "4")
                        .header("Content-Type", "application/offset+octet-stream")
                        .method("PATCH", HttpRequest.BodyPublishers.ofString("-rest")).build());
                assertThat(record(finished).statusCode()).as(finished.body()).isEqualTo(204);
                awaitHeadroomHeld(s, null);
            }
        }
        assertNo500();
    }

    @Test
    void aWriteThatFindsTheDiskFullFailsAsDiskFullLeavesNothingAndNoBrokenConnection() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir, 32); Database db = Database.openSqlite(disk.root().resolve("db"))) {
            db.write(c -> {
                try (var st = c.createStatement()) {
                    st.execute("CREATE TABLE rows_of_test (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
                }
                return null;
            });
            disk.fill();
            // No headroom here: every write needs room the disk does not have. Each fails as "disk full" (never as
            // "cannot commit - no transaction is active", what a connection left in doubt answers), on every
            // connection of the pool in turn.
            for (int i = 0; i < 3 * Database.SQLITE_POOL_SIZE; i++) {
                SQLException e = catchThrowableOfType(SQLException.class, () -> insert(db, 1 << 20));
                assertThat((Throwable) e).as("write %d on the full disk", i).isNotNull();
                assertThat(e.getSQLState()).as(e.toString()).isEqualTo(Database.DISK_FULL_STATE);
                assertThat(Database.isDiskFull(e)).isTrue();
                assertThat(count(db)).as("reads on the full disk").isZero();
            }
            disk.free();
            // Every connection is sound again: concurrent writes and reads, more than the pool holds.
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 4 * Database.SQLITE_POOL_SIZE; i++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        insert(db, 100);
                        count(db);
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(Duration.ofSeconds(30));
            }
            assertThat(failures).isEmpty();
            assertThat(count(db)).as("only the writes that committed left rows").isEqualTo(4L * Database.SQLITE_POOL_SIZE);
        }
    }

    @Test
    void aCommitThatFindsTheDiskFullTakesTheHeadroomAndSucceeds() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir, 32);
             Database db = Database.openSqlite(disk.root().resolve("db"), 4 << 20)) {
            db.write(c -> {
                try (var st = c.createStatement()) {
                    st.execute("CREATE TABLE rows_of_test (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
                }
                return null;
            });
            assertThat(db.headroom().restore(0)).isTrue();
            assertThat(db.headroom().held()).isEqualTo(4 << 20);
            disk.fill();
            insert(db, 256 << 10);
            assertThat(count(db)).isEqualTo(1);
            assertThat(db.headroom().held()).as("released for the commit").isZero();
            assertThat(db.headroom().owed()).isEqualTo(4 << 20);
            assertThat(db.headroom().restore(0)).as("no room to restore it yet").isFalse();
            disk.free();
            assertThat(db.headroom().restore(0)).isTrue();
            assertThat(Files.size(disk.root().resolve("db").resolve(Headroom.FILE_NAME))).isEqualTo(4 << 20);
        }
    }

    @Test
    void aSigningSecretThatCannotBeWrittenOnAFullDiskServesThisRunOnly() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir, 1)) {
            disk.fill();
            String secret = io.sluice.notify.WebhookSecret.resolve("", disk.root());
            assertThat(secret).matches("[0-9a-f]{64}");
            try (var files = Files.list(disk.root())) {
                assertThat(files.map(p -> p.getFileName().toString())).as("nothing half-written left")
                        .containsExactly("filler-of-another-process");
            }
            disk.free();
            String kept = io.sluice.notify.WebhookSecret.resolve("", disk.root());
            assertThat(Files.readString(disk.root().resolve(io.sluice.notify.WebhookSecret.FILE)).strip())
                    .isEqualTo(kept);
        }
    }

    private static void insert(Database db, int bytes) throws SQLException {
        byte[] body = new byte[bytes];
        new java.util.Random(bytes).nextBytes(body);
        db.write(c -> {
            try (var ps = c.prepareStatement("INSERT INTO rows_of_test (body) VALUES (?)")) {
                ps.setBytes(1, body);
                return ps.executeUpdate();
            }
        });
    }

    private static long count(Database db) throws SQLException {
        return db.read(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT count(*) FROM rows_of_test")) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    private void awaitHeadroomHeld(TestServer s, String key) throws Exception {
        long size = s.app().config().database().headroom();
        Await.until(Duration.ofSeconds(10), "the database headroom in place", () -> {
            JsonNode d = Json.parse(send(s, key, "GET", "/health/detailed", null).body());
            return d.at("/disk/headroom/held").asLong() == size && d.at("/disk/headroom/size").asLong() == size;
        });
    }

    private HttpResponse<String> record(HttpResponse<String> r) {
        answers.add(r.request().method() + " " + r.uri().getPath() + " -> " + r.statusCode() + " " + r.body());
        return r;
    }

    private void assertNo500() {
        assertThat(answers).isNotEmpty().noneMatch(a -> a.contains(" -> 500"));
    }

    private HttpResponse<String> send(TestServer s, String key, String method, String path, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri(path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (body != null && body.startsWith("{")) {
            b.header("Content-Type", "application/json");
        }
        return record(s.send(b.build()));
    }

    private String createKey(TestServer s, String adminKey, String name, boolean admin) throws Exception {
        HttpResponse<String> r = send(s, adminKey, "POST", "/api/v1/keys",
                "{\"name\":\"" + name + "\",\"admin\":" + admin + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return admin ? Json.parse(r.body()).path("key").asText() : Json.parse(r.body()).path("id").asText();
    }

    private String upload(TestServer s, String key, String nameAndQuery, String content) throws Exception {
        return uploaded(s, key, nameAndQuery, content).path("id").asText();
    }

    /** The upload as the 201 describes it, its job included. */
    private JsonNode uploaded(TestServer s, String key, String nameAndQuery, String content) throws Exception {
        HttpResponse<String> r = send(s, key, "PUT", "/api/v1/uploads/" + nameAndQuery, content);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).at("/uploads/0");
    }

    private JsonNode job(TestServer s, String key, String id) throws Exception {
        HttpResponse<String> r = send(s, key, "GET", "/api/v1/jobs/" + id, null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }
}
