package io.sluice.upload;

import io.sluice.db.Database;
import io.sluice.testing.Postgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The contracts of {@link UploadRepository} and {@link ResumableRepository} (their doc comments) checked on every
 * database Sluice runs on, one fresh database per case. A new database adds one {@link Backend} constant and gets
 * the whole suite; PostgreSQL (embedded) is skipped loudly where it cannot start.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(RepositoryContractTest.Backend.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RepositoryContractTest {

    enum Backend {
        SQLITE {
            @Override
            Database open(Path dir) throws Exception {
                return Database.openSqlite(dir);
            }
        },
        POSTGRESQL {
            @Override
            Database open(Path dir) throws Exception {
                return Database.openPostgres(Postgres.freshDatabase(), Postgres.USER, "", 4);
            }
        };

        abstract Database open(Path dir) throws Exception;
    }

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    Database db;
    UploadRepository uploads;
    ResumableRepository resumables;

    @BeforeEach
    void open() throws Exception {
        db = backend.open(dir);
        uploads = new SqlUploadRepository(db);
        resumables = new SqlResumableRepository(db);
    }

    @AfterEach
    void close() {
        if (db != null) {
            db.close();
        }
    }

    // --- UploadRepository ----------------------------------------------------------------------------------------

    @Test
    void anInsertedUploadIsFoundWithEveryField() throws Exception {
        Upload u = upload(T0, "owner-a", Map.of("album", "été", "empty", ""));
        db.write(tx -> {
            uploads.insert(tx, u);
            return null;
        });
        assertThat(uploads.find(u.id())).contains(u);
        assertThat(uploads.find("nope0000000000")).isEmpty();
        assertThat(uploads.count()).isEqualTo(1);
    }

    @Test
    void listingIsNewestFirstAndPagesByTheLastId() throws Exception {
        List<Upload> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            five.add(upload(T0.plusSeconds(i), i % 2 == 0 ? "even" : "odd", Map.of()));
        }
        db.write(tx -> {
            for (Upload u : five) {
                uploads.insert(tx, u);
            }
            return null;
        });
        List<String> first = uploads.listBefore(null, 2).stream().map(Upload::id).toList();
        assertThat(first).containsExactly(five.get(4).id(), five.get(3).id());
        List<String> next = uploads.listBefore(first.getLast(), 10).stream().map(Upload::id).toList();
        assertThat(next).containsExactly(five.get(2).id(), five.get(1).id(), five.get(0).id());
        List<String> even = uploads.listOwnedBefore("even", null, 10).stream().map(Upload::id).toList();
        assertThat(even).containsExactly(five.get(4).id(), five.get(2).id(), five.get(0).id());
        assertThat(uploads.count()).isEqualTo(5);
    }

    @Test
    void deleteReturnsTheRemovedRowOnceAndDeleteInTakesTheCallersTransaction() throws Exception {
        Upload a = upload(T0, null, Map.of());
        Upload b = upload(T0.plusSeconds(1), null, Map.of());
        db.write(tx -> {
            uploads.insert(tx, a);
            uploads.insert(tx, b);
            return null;
        });
        assertThat(uploads.delete(a.id())).contains(a);
        assertThat(uploads.delete(a.id())).as("second delete").isEmpty();
        assertThat(uploads.find(a.id())).isEmpty();
        db.write(tx -> {
            uploads.deleteIn(tx, b.id());
            uploads.deleteIn(tx, b.id());
            return null;
        });
        assertThat(uploads.find(b.id())).isEmpty();
        assertThat(uploads.count()).isZero();
    }

    // --- ResumableRepository -------------------------------------------------------------------------------------

    @Test
    void anInsertedResumableUploadIsFoundWithEveryField() throws Exception {
        Resumable r = resumable(T0, 1000, Resumable.Concat.NONE, List.of());
        Resumable deferred = resumable(T0.plusSeconds(1), Resumable.DEFERRED, Resumable.Concat.PARTIAL, List.of());
        Resumable fin = resumable(T0.plusSeconds(2), 2000, Resumable.Concat.FINAL, List.of(r.id(), deferred.id()));
        db.write(tx -> {
            resumables.insert(tx, r);
            resumables.insert(tx, deferred);
            resumables.insert(tx, fin);
            return null;
        });
        assertThat(resumables.find(r.id())).contains(r);
        assertThat(resumables.find(deferred.id())).contains(deferred);
        assertThat(resumables.find(deferred.id()).orElseThrow().lengthDeferred()).isTrue();
        assertThat(resumables.find(fin.id()).orElseThrow().partials()).containsExactly(r.id(), deferred.id());
        assertThat(resumables.find("nope0000000000")).isEmpty();
    }

    @Test
    void offsetsOnlyGrow() throws Exception {
        Resumable r = resumable(T0, 1000, Resumable.Concat.NONE, List.of());
        db.write(tx -> {
            resumables.insert(tx, r);
            resumables.update(tx, r.withOffset(600));
            return null;
        });
        assertThat(resumables.find(r.id()).orElseThrow().offset()).isEqualTo(600);
        db.write(tx -> {
            resumables.update(tx, r.withOffset(300));
            return null;
        });
        assertThat(resumables.find(r.id()).orElseThrow().offset()).as("a lower offset is ignored").isEqualTo(600);
        db.write(tx -> {
            resumables.update(tx, r.withOffset(600).withLength(700));
            return null;
        });
        assertThat(resumables.find(r.id()).orElseThrow().length()).as("the same offset may set the length")
                .isEqualTo(700);
    }

    @Test
    void completeSucceedsOnceFromActiveOrFinishing() throws Exception {
        Resumable active = resumable(T0, 10, Resumable.Concat.NONE, List.of());
        Resumable finishing = resumable(T0.plusSeconds(1), 10, Resumable.Concat.NONE, List.of())
                .with(Resumable.State.FINISHING, null);
        db.write(tx -> {
            resumables.insert(tx, active);
            resumables.insert(tx, finishing);
            return null;
        });
        assertThat(resumables.finishing(10)).extracting(Resumable::id).containsExactly(finishing.id());
        for (Resumable r : List.of(active, finishing)) {
            Resumable done = r.withOffset(10).with(r.state(), null);
            boolean first = db.write(tx -> resumables.complete(tx, done));
            boolean second = db.write(tx -> resumables.complete(tx, done));
            assertThat(first).as("first finish of " + r.state()).isTrue();
            assertThat(second).as("second finish").isFalse();
            Resumable stored = resumables.find(r.id()).orElseThrow();
            assertThat(stored.state()).isEqualTo(Resumable.State.COMPLETED);
            assertThat(stored.offset()).isEqualTo(10);
            assertThat(stored.expiresAt()).isNull();
        }
        assertThat(resumables.finishing(10)).isEmpty();
    }

    @Test
    void expiredListsUnfinishedUploadsPastTheirExpiryOldestFirst() throws Exception {
        Resumable soon = resumable(T0, 10, Resumable.Concat.NONE, List.of()).with(Resumable.State.ACTIVE,
                T0.plusSeconds(10));
        Resumable sooner = resumable(T0.plusSeconds(1), 10, Resumable.Concat.NONE, List.of())
                .with(Resumable.State.ACTIVE, T0.plusSeconds(5));
        Resumable later = resumable(T0.plusSeconds(2), 10, Resumable.Concat.NONE, List.of())
                .with(Resumable.State.ACTIVE, T0.plusSeconds(100));
        Resumable finishing = resumable(T0.plusSeconds(3), 10, Resumable.Concat.NONE, List.of())
                .with(Resumable.State.FINISHING, T0.plusSeconds(1));
        db.write(tx -> {
            for (Resumable r : List.of(soon, sooner, later, finishing)) {
                resumables.insert(tx, r);
            }
            return null;
        });
        assertThat(resumables.expired(T0.plusSeconds(50), 10)).extracting(Resumable::id)
                .containsExactly(sooner.id(), soon.id());
        assertThat(resumables.expired(T0.plusSeconds(50), 1)).extracting(Resumable::id).containsExactly(sooner.id());
        assertThat(resumables.expired(T0, 10)).isEmpty();
    }

    @Test
    void tombstonesArePrunedByAgeAndDeleteRemovesARow() throws Exception {
        Resumable r = resumable(T0, 10, Resumable.Concat.NONE, List.of());
        Resumable other = resumable(T0.plusSeconds(1), 10, Resumable.Concat.NONE, List.of());
        db.write(tx -> {
            resumables.insert(tx, r);
            resumables.insert(tx, other);
            resumables.update(tx, r.with(Resumable.State.EXPIRED, null));
            return null;
        });
        assertThat(resumables.find(r.id()).orElseThrow().state()).isEqualTo(Resumable.State.EXPIRED);
        assertThat(resumables.pruneTombstones(Instant.now().minus(1, ChronoUnit.HOURS))).as("too young").isZero();
        assertThat(resumables.pruneTombstones(Instant.now().plus(1, ChronoUnit.HOURS))).isEqualTo(1);
        assertThat(resumables.find(r.id())).isEmpty();
        assertThat(resumables.find(other.id())).as("an active upload is no tombstone").isPresent();
        db.write(tx -> {
            resumables.delete(tx, other.id());
            resumables.delete(tx, other.id());
            return null;
        });
        assertThat(resumables.find(other.id())).isEmpty();
    }

    // --- helpers -------------------------------------------------------------------------------------------------

    private static String idAt(Instant t) {
        return new IdGenerator(Clock.fixed(t, ZoneOffset.UTC)).next();
    }

    private static Upload upload(Instant at, String owner, Map<String, String> metadata) {
        String id = idAt(at);
        return new Upload(id, "file-" + id + ".txt", 42, "ab".repeat(32), "text/plain", at, "k" + id, "127.0.0.1",
                metadata, owner);
    }

    private static Resumable resumable(Instant at, long length, Resumable.Concat concat, List<String> partials) {
        String id = idAt(at);
        return new Resumable(id, length, 0, "r-" + id + ".bin", Map.of("filename", "r.bin", "flag", ""),
                "filename ci5iaW4=,flag", concat, partials, Resumable.State.ACTIVE, "127.0.0.1",
                at.plus(1, ChronoUnit.DAYS), at, "owner-r");
    }
}
