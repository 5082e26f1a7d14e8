package io.sluice.db;

import io.sluice.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link Database#write} with group commit, on a real SQLite file: concurrent writes share a transaction but not
 * their fate; each caller gets its own result or its own exception, and only what it committed stays.
 */
class DatabaseTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dataDir;
    private Database db;
    private ExecutorService pool;

    @BeforeEach
    void setUp() throws Exception {
        db = Database.openSqlite(dataDir);
        db.write(c -> {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id TEXT PRIMARY KEY)");
            }
            return null;
        });
        pool = Executors.newVirtualThreadPerTaskExecutor();
    }

    @AfterEach
    void tearDown() throws Exception {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        db.close();
    }

    @Test
    void aWriteReturnsItsResultAfterItsCommit() throws Exception {
        int n = db.write(c -> insert(c, "a"));

        assertThat(n).isEqualTo(1);
        assertThat(rows()).containsExactly("a");
    }

    @Test
    void aLoneFailingWriteLeavesNothingAndThrowsItsOwnException() {
        SQLException boom = new SQLException("boom");

        assertThatThrownBy(() -> db.write(c -> {
            insert(c, "a");
            throw boom;
        })).isSameAs(boom);
        assertThat(rowsQuietly()).isEmpty();
    }

    @Test
    void writesQueuedBehindACommitShareOneBatchButFailAlone() throws Exception {
        // The first write holds the committer until the others are queued, so they form one batch after it.
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch holding = new CountDownLatch(1);
        Future<Integer> first = pool.submit(() -> db.write(c -> {
            insert(c, "first");
            holding.countDown();
            await(release);
            return 1;
        }));
        assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();

        SQLException sqlFailure = new SQLException("constraint, say");
        IllegalStateException bug = new IllegalStateException("a bug in one work");
        Future<String> ok1 = pool.submit(() -> db.write(c -> {
            insert(c, "ok1");
            return "ok1";
        }));
        Future<String> failsSql = pool.submit(() -> db.write(c -> {
            insert(c, "failsSql");
            throw sqlFailure;
        }));
        Future<String> failsRuntime = pool.submit(() -> db.write(c -> {
            insert(c, "failsRuntime");
            throw bug;
        }));
        Future<String> duplicate = pool.submit(() -> db.write(c -> {
            insert(c, "dup-inner");
            insert(c, "first"); // primary key taken by the first write: SQLite refuses it
            return "unreachable";
        }));
        Future<String> ok2 = pool.submit(() -> db.write(c -> {
            insert(c, "ok2");
            return "ok2";
        }));
        Await.until(WAIT, "five writes queued behind the first", () -> db.queuedWrites() == 5);
        release.countDown();

        assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(ok1.get(30, TimeUnit.SECONDS)).isEqualTo("ok1");
        assertThat(ok2.get(30, TimeUnit.SECONDS)).isEqualTo("ok2");
        assertThatThrownBy(() -> failsSql.get(30, TimeUnit.SECONDS)).hasCause(sqlFailure);
        assertThatThrownBy(() -> failsRuntime.get(30, TimeUnit.SECONDS)).hasCause(bug);
        assertThatThrownBy(() -> duplicate.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(SQLException.class);
        assertThat(rows()).containsExactlyInAnyOrder("first", "ok1", "ok2");
        assertThat(db.queuedWrites()).isZero();
    }

    @Test
    void manyConcurrentWritersAllCommitAndNoneIsLeftWaiting() throws Exception {
        int writers = 500;
        List<Future<Integer>> results = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            String id = "w" + i;
            results.add(pool.submit(() -> db.write(c -> insert(c, id))));
        }
        for (Future<Integer> f : results) {
            assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(1);
        }

        assertThat(rows()).hasSize(writers);
        assertThat(db.queuedWrites()).isZero();
    }

    @Test
    void aWriteSeesTheRowsOfWritesCommittedBeforeIt() throws Exception {
        db.write(c -> insert(c, "a"));

        int seen = db.write(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM t")) {
                rs.next();
                return rs.getInt(1);
            }
        });

        assertThat(seen).isEqualTo(1);
    }

    private static int insert(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (id) VALUES (?)")) {
            ps.setString(1, id);
            return ps.executeUpdate();
        }
    }

    private List<String> rows() throws SQLException {
        return db.read(c -> {
            List<String> ids = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM t")) {
                while (rs.next()) {
                    ids.add(rs.getString(1));
                }
            }
            return ids;
        });
    }

    private List<String> rowsQuietly() {
        try {
            return rows();
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
