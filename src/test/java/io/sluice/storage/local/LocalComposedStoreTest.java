package io.sluice.storage.local;

import io.sluice.storage.BlobFiles;
import io.sluice.storage.BlobWriter;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.DiskLedger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** What the local backend offers, stated once in its composed store, and the re-commit contract of BlobStore. */
class LocalComposedStoreTest {

    @TempDir
    Path dir;

    @Test
    void localDiskOffersResumableBlobsAndPathsButNoAssemblyPresigningOrListing() throws Exception {
        LocalBlobStore local = new LocalBlobStore(dir);
        try (ComposedStore store = local.composed()) {
            assertThat(store.blobs()).isSameAs(local);
            assertThat(store.resumable()).as("resumable blobs: their own store beside the committed ones")
                    .isInstanceOf(LocalResumableStore.class);
            assertThat(store.hasLocalPaths()).isTrue();
            assertThat(store.hasAssembler()).as("tus concatenation copies bytes on local disk").isFalse();
            assertThat(store.hasPresigner()).as("presign falls back to Sluice-signed URLs").isFalse();
            assertThat(store.hasKeyListing()).isFalse();

            commit(store, "blob000001", "hello");
            BlobFiles files = BlobFiles.of(store, dir.resolve("copies"),
                    new DiskLedger(() -> 1L << 40, 0, Duration.ofSeconds(1), 0));
            try (BlobFiles.BlobFile f = files.open("blob000001")) {
                assertThat(f.path()).as("read in place, not copied").isEqualTo(local.pathOf("blob000001"));
                assertThat(Files.readString(f.path())).isEqualTo("hello");
            }
            assertThat(dir.resolve("copies")).doesNotExist();
        }
    }

    /** BlobStore: committing a key again replaces the blob atomically (job outputs rely on it). */
    @Test
    void committingAKeyAgainReplacesTheBlob() throws IOException {
        LocalBlobStore local = new LocalBlobStore(dir);
        commit(local.composed(), "out-000001", "first attempt, longer");
        commit(local.composed(), "out-000001", "retry");
        assertThat(local.size("out-000001")).isEqualTo(5);
        assertThat(Files.readString(local.pathOf("out-000001"))).isEqualTo("retry");
        assertThat(local.stagedCount()).isZero();
    }

    /**
     * A commit keeps its staged name (linked to the blob) until the writer is closed: a crash in between leaves that
     * marker, and the start-up sweep removes the blob unless its record exists; either way the marker goes.
     */
    @Test
    void theSweepRemovesACommittedBlobThatACrashLeftWithoutItsRecord() throws IOException {
        LocalBlobStore local = new LocalBlobStore(dir);
        BlobWriter recorded = local.create("recorded01");
        recorded.write(ByteBuffer.wrap("kept".getBytes(StandardCharsets.UTF_8)));
        recorded.commit();
        BlobWriter unrecorded = local.create("unrecorded1");
        unrecorded.write(ByteBuffer.wrap("gone".getBytes(StandardCharsets.UTF_8)));
        unrecorded.commit();
        BlobWriter staged = local.create("onlystaged1");
        staged.write(ByteBuffer.wrap("never committed".getBytes(StandardCharsets.UTF_8)));
        // The crash: no writer is closed. Both committed blobs are readable, each with its marker in staging.
        assertThat(Files.readString(local.pathOf("unrecorded1"))).isEqualTo("gone");
        try (var s = Files.list(dir.resolve("tmp"))) {
            assertThat(s.count()).as("two markers and one staged file").isEqualTo(3);
        }

        LocalBlobStore restarted = new LocalBlobStore(dir);
        assertThat(restarted.sweepStaged(key -> key.equals("recorded01"))).isEqualTo(3);
        assertThat(Files.readString(restarted.pathOf("recorded01"))).isEqualTo("kept");
        assertThat(restarted.pathOf("unrecorded1")).doesNotExist();
        assertThat(restarted.pathOf("onlystaged1")).doesNotExist();
        try (var s = Files.list(dir.resolve("tmp"))) {
            assertThat(s.count()).isZero();
        }
    }

    /** A writer closed after its commit (the record made) removes its marker and keeps the blob. */
    @Test
    void closingACommittedWriterRemovesOnlyItsMarker() throws IOException {
        LocalBlobStore local = new LocalBlobStore(dir);
        commit(local.composed(), "blob000002", "kept");
        assertThat(Files.readString(local.pathOf("blob000002"))).isEqualTo("kept");
        try (var s = Files.list(dir.resolve("tmp"))) {
            assertThat(s.count()).isZero();
        }
        assertThat(local.sweepStaged(key -> false)).isZero();
        assertThat(local.pathOf("blob000002")).exists();
    }

    private static void commit(ComposedStore store, String key, String text) throws IOException {
        try (BlobWriter w = store.blobs().create(key)) {
            w.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            w.commit();
        }
    }
}
