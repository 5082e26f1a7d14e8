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
            assertThat(store.resumable()).isSameAs(local);
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

    private static void commit(ComposedStore store, String key, String text) throws IOException {
        try (BlobWriter w = store.blobs().create(key)) {
            w.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            w.commit();
        }
    }
}
