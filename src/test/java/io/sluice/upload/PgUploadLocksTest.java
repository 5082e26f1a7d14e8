package io.sluice.upload;

import io.sluice.db.Database;
import io.sluice.testing.Await;
import io.sluice.testing.Postgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link PgUploadLocks} on two "nodes" (two {@link Database} instances, each with its own lock session and LISTEN
 * connection) sharing one PostgreSQL database: one holder per upload across both, a contender's release request
 * reaches the holder on the other node, {@code tryAcquire} never asks, and a session that goes away frees its locks.
 */
class PgUploadLocksTest {

    private static final Duration LONG = Duration.ofSeconds(20);
    private Database dbA;
    private Database dbB;
    private PgUploadLocks nodeA;
    private PgUploadLocks nodeB;

    @BeforeEach
    void open() throws Exception {
        String url = Postgres.freshDatabase();
        dbA = Database.openPostgres(url, Postgres.USER, "", 2);
        dbB = Database.openPostgres(url, Postgres.USER, "", 2);
        nodeA = new PgUploadLocks(dbA);
        nodeB = new PgUploadLocks(dbB);
    }

    @AfterEach
    void close() {
        for (AutoCloseable c : new AutoCloseable[] {nodeA, nodeB, dbA, dbB}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // closing everything regardless
            }
        }
    }

    @Test
    void aReleaseRequestReachesTheHolderOnTheOtherNode() throws Exception {
        AtomicReference<UploadLocks.Lock> held = new AtomicReference<>();
        AtomicInteger asked = new AtomicInteger();
        // The holder, like a PATCH stuck on a half-open connection: when asked, it stops and lets go.
        held.set(nodeA.acquire("U1", LONG, () -> {
            asked.incrementAndGet();
            held.get().close();
        }).orElseThrow());
        assertThat(nodeA.held()).isEqualTo(1);

        Optional<UploadLocks.Lock> mine = nodeB.acquire("U1", LONG, () -> { });
        assertThat(mine).as("node B got the lock once node A let go").isPresent();
        assertThat(asked.get()).as("node A's holder was asked exactly once").isEqualTo(1);
        assertThat(nodeA.held()).isZero();
        assertThat(nodeB.held()).isEqualTo(1);
        assertThat(nodeA.tryAcquire("U1")).as("and now node A is the one refused").isEmpty();
        mine.get().close();
        assertThat(nodeB.held()).isZero();
        Optional<UploadLocks.Lock> again = nodeA.tryAcquire("U1");
        assertThat(again).isPresent();
        again.get().close();
    }

    @Test
    void tryAcquireIsRefusedWhileTheOtherNodeHoldsAndAHolderThatWillNotLetGoWins() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        UploadLocks.Lock lock = nodeA.acquire("U2", LONG, asked::incrementAndGet).orElseThrow();

        assertThat(nodeB.tryAcquire("U2")).as("held on node A").isEmpty();
        assertThat(asked.get()).as("tryAcquire never asks the holder").isZero();
        assertThat(nodeB.acquire("U2", Duration.ofMillis(300), () -> { })).as("the holder kept it").isEmpty();
        Await.until(LONG, "node A's holder to be asked", () -> asked.get() == 1);
        assertThat(nodeB.held()).as("a refused contender holds nothing").isZero();
        assertThat(nodeB.tryAcquire("U3")).as("other uploads are free").isPresent().get()
                .satisfies(UploadLocks.Lock::close);

        lock.close();
        lock.close(); // idempotent
        Optional<UploadLocks.Lock> mine = nodeB.tryAcquire("U2");
        assertThat(mine).isPresent();
        mine.get().close();
    }

    @Test
    void twoRequestsOnOneNodeAreExclusiveToo() throws Exception {
        CountDownLatch asked = new CountDownLatch(1);
        AtomicReference<UploadLocks.Lock> first = new AtomicReference<>();
        first.set(nodeA.acquire("U4", LONG, () -> {
            asked.countDown();
            first.get().close();
        }).orElseThrow());
        assertThat(nodeA.tryAcquire("U4")).as("advisory locks are reentrant per session: the node must refuse")
                .isEmpty();
        Optional<UploadLocks.Lock> second = nodeA.acquire("U4", LONG, () -> { });
        assertThat(second).isPresent();
        assertThat(asked.getCount()).isZero();
        assertThat(nodeB.tryAcquire("U4")).as("still held in PostgreSQL, by the second request").isEmpty();
        second.get().close();
        assertThat(nodeA.held()).isZero();
    }

    @Test
    void aSessionThatGoesAwayFreesItsLocks() throws Exception {
        UploadLocks.Lock lock = nodeA.acquire("U5", LONG, () -> { }).orElseThrow();
        assertThat(lock).isNotNull();
        assertThat(nodeB.tryAcquire("U5")).isEmpty();
        // Node A dies without closing its lock: its session ends, and PostgreSQL frees what it held.
        nodeA.close();
        dbA.close();
        AtomicReference<UploadLocks.Lock> taken = new AtomicReference<>();
        Await.until(LONG, "node B to get the dead node's lock", () -> {
            nodeB.tryAcquire("U5").ifPresent(taken::set);
            return taken.get() != null;
        });
        taken.get().close();
        assertThat(nodeB.held()).isZero();
    }

    @Test
    void keysAreStableAndSpreadOverSixtyFourBits() {
        assertThat(PgUploadLocks.key("01JABCDEF")).isEqualTo(PgUploadLocks.key("01JABCDEF"));
        assertThat(PgUploadLocks.key("01JABCDEF")).isNotEqualTo(PgUploadLocks.key("01JABCDEG"));
    }

    @Test
    void aBrokenLockSessionAsksEveryHolderToLetGoAndTheNextUseReconnects() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        UploadLocks.Lock lock = nodeA.acquire("U6", LONG, asked::incrementAndGet).orElseThrow();
        int killed = dbB.write(tx -> {
            try (var st = tx.createStatement(); var rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) "
                    + "FROM pg_stat_activity WHERE datname = current_database() AND application_name = '"
                    + Database.SESSION_APPLICATION_NAME + "'")) {
                rs.next();
                return rs.getInt(1);
            }
        });
        assertThat(killed).as("node A's lock session").isEqualTo(1);
        // Node A finds out at its next use of the session: the lock of U6 is gone, so its holder must stop.
        assertThat(nodeA.tryAcquire("U7")).isEmpty();
        assertThat(asked.get()).as("the holder of U6 was asked to let go").isEqualTo(1);
        Optional<UploadLocks.Lock> other = nodeB.tryAcquire("U6");
        assertThat(other).as("PostgreSQL freed U6 with the session").isPresent();
        lock.close();
        other.get().close();
        Optional<UploadLocks.Lock> again = nodeA.tryAcquire("U7");
        assertThat(again).as("a new session").isPresent();
        again.get().close();
        assertThat(nodeA.held()).isZero();
    }
}
