package io.sluice.upload;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sluice.api.ApiException;
import io.sluice.config.LimitsConfig;
import io.sluice.db.Database;
import io.sluice.storage.BlobStore;
import io.sluice.storage.BlobWriter;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.local.LocalBlobStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static io.sluice.upload.UploadTestSupport.sha256;
import static io.sluice.upload.UploadTestSupport.textOfSize;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link UploadService#commit} without HTTP: a set of files becomes durable and recorded together, or none of
 * them does, whichever step fails. Failures are injected around the real local store and SQLite.
 */
class UploadServiceTest {

    @TempDir
    Path dataDir;
    private Database db;
    private LocalBlobStore local;
    private FaultyStore store;
    private FaultyRepository repository;
    private UploadService service;
    private final List<FileSink> open = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        db = Database.openSqlite(dataDir);
        local = new LocalBlobStore(dataDir);
        store = new FaultyStore(local);
        repository = new FaultyRepository(new SqlUploadRepository(db));
        LimitsConfig limits = new LimitsConfig(1024 * 1024, 5, 5 * 1024 * 1024, List.of(), 0);
        service = new UploadService(store, db, repository, new IdGenerator(Clock.systemUTC()), new FilenamePolicy(),
                new TypeDetector(List.of()), limits, Clock.systemUTC(), new SimpleMeterRegistry());
    }

    @AfterEach
    void tearDown() {
        open.forEach(FileSink::close);
        db.close();
    }

    @Test
    void commitsAllFilesTogether() throws Exception {
        byte[] a = textOfSize(40_000, 1);
        byte[] b = textOfSize(10, 2);
        List<Upload> uploads = service.commit(List.of(sink("a.txt", a), sink("b.txt", b)), Map.of("k", "v"), "me");

        assertThat(uploads).extracting(Upload::filename).containsExactly("a.txt", "b.txt");
        assertThat(uploads).extracting(Upload::sha256).containsExactly(sha256(a), sha256(b));
        assertThat(uploads).extracting(Upload::size).containsExactly((long) a.length, (long) b.length);
        assertThat(repository.count()).isEqualTo(2);
        assertThat(blobs()).hasSize(2);
        assertThat(local.stagedCount()).isZero();
        assertThat(service.find(uploads.get(0).id())).get().extracting(Upload::metadata).isEqualTo(Map.of("k", "v"));
        try (ReadableByteChannel in = service.openContent(uploads.get(1), 0, b.length)) {
            ByteBuffer got = ByteBuffer.allocate(b.length + 1);
            while (in.read(got) >= 0) {
                // drain
            }
            assertThat(got.flip()).isEqualTo(ByteBuffer.wrap(b));
        }
    }

    @Test
    void aStoreFailureOnTheSecondFileRemovesTheFirst() throws Exception {
        store.failCommitNumber = 2;
        store.failAfterRename = false;
        List<FileSink> sinks = List.of(sink("a.txt", textOfSize(100, 3)), sink("b.txt", textOfSize(100, 4)));

        assertThatThrownBy(() -> service.commit(sinks, Map.of(), "me")).isInstanceOf(IOException.class);
        closeAll();

        assertNothingStored();
    }

    @Test
    void aBlobRenamedIntoPlaceWhoseCommitThenFailsIsRemoved() throws Exception {
        // The rename happened but making it durable (the directory fsync) failed: the blob is in place while
        // commit() throws. It must not stay behind without a record.
        store.failCommitNumber = 1;
        store.failAfterRename = true;
        List<FileSink> sinks = List.of(sink("a.txt", textOfSize(100, 5)));

        assertThatThrownBy(() -> service.commit(sinks, Map.of(), "me")).isInstanceOf(IOException.class);
        closeAll();

        assertNothingStored();
    }

    @Test
    void aDatabaseFailureRemovesEveryBlob() throws Exception {
        repository.failInsertNumber = 2;
        List<FileSink> sinks = List.of(sink("a.txt", textOfSize(100, 6)), sink("b.txt", textOfSize(100, 7)));

        assertThatThrownBy(() -> service.commit(sinks, Map.of(), "me")).isInstanceOf(SQLException.class);
        closeAll();

        assertNothingStored();
    }

    @Test
    void anEmptyFileFailsTheWholeSetBeforeAnythingIsCommitted() throws Exception {
        List<FileSink> sinks = List.of(sink("a.txt", textOfSize(100, 8)), sink("empty.txt", new byte[0]));

        assertThatThrownBy(() -> service.commit(sinks, Map.of(), "me"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("empty_file"));
        closeAll();

        assertNothingStored();
        assertThat(store.commits.get()).isZero();
    }

    @Test
    void aSinkClosedWithoutCommitLeavesNothing() throws Exception {
        FileSink s = sink("a.txt", textOfSize(50_000, 9));
        assertThat(local.stagedCount()).isEqualTo(1);
        s.close();
        s.close();
        assertNothingStored();
    }

    private FileSink sink(String name, byte[] content) throws IOException {
        // Each sink gets its own buffers here; in a request they share the ticket's two, one sink after the other.
        FileSink s = service.open(service.sanitize(name), ByteBuffer.allocateDirect(16 * 1024),
                ByteBuffer.allocateDirect(16 * 1024), Long.MAX_VALUE,
                new DiskLedger(() -> -1, 0, Duration.ZERO, 0).reserveStream(-1));
        open.add(s);
        s.write(ByteBuffer.wrap(content));
        return s;
    }

    private void closeAll() {
        open.forEach(FileSink::close);
    }

    private void assertNothingStored() throws Exception {
        assertThat(blobs()).as("committed blobs").isEmpty();
        assertThat(local.stagedCount()).as("staged writers").isZero();
        try (Stream<Path> tmp = Files.list(dataDir.resolve("tmp"))) {
            assertThat(tmp.toList()).as("staged files").isEmpty();
        }
        assertThat(repository.count()).as("records").isZero();
    }

    private List<Path> blobs() throws IOException {
        try (Stream<Path> s = Files.walk(dataDir.resolve("blobs"))) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    /** The local store, with the n-th commit failing before or after its rename. */
    private static final class FaultyStore implements BlobStore {
        private final BlobStore delegate;
        final AtomicInteger commits = new AtomicInteger();
        int failCommitNumber = -1;
        boolean failAfterRename;

        FaultyStore(BlobStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public BlobWriter create(String key) throws IOException {
            BlobWriter w = delegate.create(key);
            return new BlobWriter() {
                @Override
                public void write(ByteBuffer buffer) throws IOException {
                    w.write(buffer);
                }

                @Override
                public long written() {
                    return w.written();
                }

                @Override
                public void commit() throws IOException {
                    int n = commits.incrementAndGet();
                    if (n == failCommitNumber && !failAfterRename) {
                        throw new IOException("injected: fsync failed");
                    }
                    w.commit();
                    if (n == failCommitNumber) {
                        throw new IOException("injected: directory fsync failed after the rename");
                    }
                }

                @Override
                public void close() {
                    w.close();
                }
            };
        }

        @Override
        public ReadableByteChannel openRange(String key, long offset, long length) throws IOException {
            return delegate.openRange(key, offset, length);
        }

        @Override
        public long size(String key) throws IOException {
            return delegate.size(key);
        }

        @Override
        public boolean delete(String key) throws IOException {
            return delegate.delete(key);
        }

        @Override
        public int sweepStaged() throws IOException {
            return delegate.sweepStaged();
        }

        @Override
        public int stagedCount() {
            return delegate.stagedCount();
        }

        @Override
        public long usableSpace() throws IOException {
            return delegate.usableSpace();
        }

        @Override
        public boolean probeWritable() {
            return delegate.probeWritable();
        }
    }

    /** The SQL repository, with the n-th insert failing. */
    private static final class FaultyRepository implements UploadRepository {
        private final UploadRepository delegate;
        private final AtomicInteger inserts = new AtomicInteger();
        int failInsertNumber = -1;

        FaultyRepository(UploadRepository delegate) {
            this.delegate = delegate;
        }

        @Override
        public void insert(Connection tx, Upload upload) throws SQLException {
            if (inserts.incrementAndGet() == failInsertNumber) {
                throw new SQLException("injected: disk I/O error");
            }
            delegate.insert(tx, upload);
        }

        @Override
        public Optional<Upload> find(String id) throws SQLException {
            return delegate.find(id);
        }

        @Override
        public void deleteIn(Connection tx, String id) throws SQLException {
            delegate.deleteIn(tx, id);
        }

        @Override
        public Optional<Upload> delete(String id) throws SQLException {
            return delegate.delete(id);
        }

        @Override
        public List<Upload> listBefore(String before, int limit) throws SQLException {
            return delegate.listBefore(before, limit);
        }

        @Override
        public long count() throws SQLException {
            return delegate.count();
        }
    }
}
