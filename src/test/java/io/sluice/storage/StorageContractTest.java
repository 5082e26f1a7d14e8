package io.sluice.storage;

import io.sluice.storage.local.LocalBlobStore;
import io.sluice.storage.s3.S3BlobStore;
import io.sluice.storage.s3.S3ResumableStore;
import io.sluice.storage.s3.S3Settings;
import io.sluice.testing.S3Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The storage capabilities' contracts (the doc comments of {@link BlobStore}, {@link BlobWriter},
 * {@link ResumableStore}, {@link Assembler}, {@link KeyListing} and {@link Presigner}) checked against every
 * backend's {@link ComposedStore}, as the server builds it. A new backend adds one {@link Backend} constant and
 * gets the whole suite; an optional capability it lacks is skipped with its name (the backend says what it offers
 * in its {@code ComposedStore}, and only what it offers is checked). S3 runs on s3proxy and is skipped loudly when
 * s3proxy cannot start.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(StorageContractTest.Backend.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StorageContractTest {

    /** How each backend's composed store is opened over a fresh, empty place. */
    enum Backend {
        LOCAL {
            @Override
            ComposedStore open(Path dir) throws IOException {
                return new LocalBlobStore(dir).composed();
            }
        },
        S3 {
            @Override
            ComposedStore open(Path dir) throws IOException {
                S3Server s3 = S3Server.get();
                S3BlobStore blobs = S3BlobStore.open(s3.settings(s3.newBucket(), S3Settings.MIN_PART_SIZE), dir);
                return S3ResumableStore.over(blobs).composedWith(blobs);
            }
        };

        abstract ComposedStore open(Path dir) throws IOException;
    }

    private static final AtomicInteger KEYS = new AtomicInteger();

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    ComposedStore store;

    @BeforeEach
    void open() throws IOException {
        store = backend.open(dir);
    }

    @AfterEach
    void close() throws Exception {
        if (store != null) {
            assertThat(store.blobs().stagedCount()).as("staged blobs left open").isZero();
            store.close();
        }
    }

    // --- BlobStore and BlobWriter --------------------------------------------------------------------------------

    @Test
    void aCommittedBlobReadsBackWholeAndInRanges() throws Exception {
        String key = newKey();
        byte[] data = bytes(10_000, 1);
        commit(key, data);
        assertThat(store.blobs().size(key)).isEqualTo(data.length);
        assertThat(read(store.blobs().openRange(key, 0, data.length))).isEqualTo(data);
        assertThat(read(store.blobs().openRange(key, 1234, 100))).isEqualTo(Arrays.copyOfRange(data, 1234, 1334));
        assertThat(read(store.blobs().openRange(key, data.length - 1, 1)))
                .isEqualTo(Arrays.copyOfRange(data, data.length - 1, data.length));
    }

    @Test
    void aBlobIsInvisibleUntilCommitAndAnAbortedWriterLeavesNothing() throws Exception {
        String key = newKey();
        try (BlobWriter w = store.blobs().create(key)) {
            w.write(ByteBuffer.wrap(bytes(5000, 2)));
            assertThat(w.written()).isEqualTo(5000);
            assertThat(store.blobs().size(key)).as("size before commit").isEqualTo(-1);
            assertThat(store.blobs().stagedCount()).isEqualTo(1);
        }
        assertThat(store.blobs().size(key)).as("size after abort").isEqualTo(-1);
        assertThat(store.blobs().stagedCount()).isZero();
        assertThatThrownBy(() -> store.blobs().openRange(key, 0, 1)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void committingAKeyAgainReplacesItsBlob() throws Exception {
        String key = newKey();
        commit(key, bytes(8000, 3));
        byte[] second = bytes(3000, 4);
        commit(key, second);
        assertThat(store.blobs().size(key)).isEqualTo(second.length);
        assertThat(read(store.blobs().openRange(key, 0, second.length))).isEqualTo(second);
    }

    @Test
    void deleteRemovesABlobAndIsIdempotent() throws Exception {
        String key = newKey();
        commit(key, bytes(100, 5));
        assertThat(store.blobs().delete(key)).isTrue();
        assertThat(store.blobs().size(key)).isEqualTo(-1);
        assertThat(store.blobs().delete(key)).as("second delete").isFalse();
        assertThatThrownBy(() -> store.blobs().openRange(key, 0, 1)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void anUnknownKeyHasNoSizeNoBytesAndNothingToDelete() throws Exception {
        String key = newKey();
        assertThat(store.blobs().size(key)).isEqualTo(-1);
        assertThat(store.blobs().delete(key)).isFalse();
        assertThatThrownBy(() -> store.blobs().openRange(key, 0, 1)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void theStoreAcceptsWritesAndSweepingWithNothingStagedRemovesNothing() throws Exception {
        assertThat(store.blobs().probeWritable()).isTrue();
        String key = newKey();
        commit(key, bytes(10, 6));
        assertThat(store.blobs().sweepStaged()).isZero();
        assertThat(store.blobs().size(key)).as("a committed blob survives the sweep").isEqualTo(10);
    }

    // --- ResumableStore ------------------------------------------------------------------------------------------

    @Test
    void aResumableBlobGrowsByAppendsAtItsOffsetAndIsReadableMeanwhile() throws Exception {
        String key = newKey();
        store.resumable().createResumable(key);
        assertThat(store.resumable().resumableLength(key)).isZero();
        byte[] data = bytes(30_000, 7);
        long offset = 0;
        for (int part = 0; part < 3; part++) {
            try (ResumableWriter w = store.resumable().openAppend(key, offset)) {
                w.write(ByteBuffer.wrap(data, (int) offset, 10_000));
                assertThat(w.written()).isEqualTo(10_000);
                w.sync();
                offset += 10_000;
                w.acknowledged(offset);
            }
            assertThat(store.resumable().resumableLength(key)).isEqualTo(offset);
            assertThat(read(store.resumable().openResumable(key, 0, offset)))
                    .isEqualTo(Arrays.copyOf(data, (int) offset));
        }
        assertThat(read(store.resumable().openResumable(key, 15_000, 100)))
                .isEqualTo(Arrays.copyOfRange(data, 15_000, 15_100));
        assertThat(store.blobs().size(key)).as("a resumable blob is invisible to the blob store").isEqualTo(-1);
        assertThat(store.blobs().delete(key)).as("and cannot be deleted as a committed blob").isFalse();
    }

    @Test
    void appendingAtASmallerOffsetCutsTheUnacknowledgedTail() throws Exception {
        String key = newKey();
        store.resumable().createResumable(key);
        byte[] first = bytes(6000, 8);
        try (ResumableWriter w = store.resumable().openAppend(key, 0)) {
            w.write(ByteBuffer.wrap(first));
            w.sync();
        }
        // The caller recorded only 4000 of them (a crash after the sync): the rest is replaced.
        byte[] rest = bytes(3000, 9);
        try (ResumableWriter w = store.resumable().openAppend(key, 4000)) {
            w.write(ByteBuffer.wrap(rest));
            w.sync();
            w.acknowledged(7000);
        }
        assertThat(store.resumable().resumableLength(key)).isEqualTo(7000);
        byte[] expected = new byte[7000];
        System.arraycopy(first, 0, expected, 0, 4000);
        System.arraycopy(rest, 0, expected, 4000, 3000);
        assertThat(read(store.resumable().openResumable(key, 0, 7000))).isEqualTo(expected);
    }

    @Test
    void appendingBeyondTheStoredLengthOrToAnUnknownKeyFails() throws Exception {
        String key = newKey();
        store.resumable().createResumable(key);
        assertThatThrownBy(() -> store.resumable().openAppend(key, 10).close()).isInstanceOf(IOException.class);
        String unknown = newKey();
        assertThatThrownBy(() -> store.resumable().openAppend(unknown, 0).close())
                .isInstanceOf(NoSuchFileException.class);
        assertThat(store.resumable().resumableLength(unknown)).isEqualTo(-1);
    }

    @Test
    void promoteTurnsAResumableBlobIntoACommittedOneAndCanBeRepeated() throws Exception {
        String key = newKey();
        byte[] data = bytes(12_345, 10);
        resumable(key, data);
        store.resumable().promote(key);
        assertThat(store.blobs().size(key)).isEqualTo(data.length);
        assertThat(read(store.blobs().openRange(key, 0, data.length))).isEqualTo(data);
        assertThat(store.resumable().resumableLength(key)).as("resumable after promote").isEqualTo(-1);
        store.resumable().promote(key);
        assertThat(store.blobs().size(key)).as("after a repeated promote").isEqualTo(data.length);
        assertThatThrownBy(() -> store.resumable().promote(newKey())).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void deleteResumableRemovesItAndIsIdempotent() throws Exception {
        String key = newKey();
        resumable(key, bytes(500, 11));
        assertThat(store.resumable().deleteResumable(key)).isTrue();
        assertThat(store.resumable().resumableLength(key)).isEqualTo(-1);
        assertThat(store.resumable().deleteResumable(key)).as("second delete").isFalse();
        assertThat(store.blobs().size(key)).isEqualTo(-1);
    }

    // --- optional capabilities -----------------------------------------------------------------------------------

    @Test
    void anAssemblerConcatenatesFinishedResumableBlobsInOrder() throws Exception {
        Assumptions.assumeTrue(store.hasAssembler(), backend + " offers no Assembler (copied by tus instead)");
        byte[] a = bytes(7000, 12);
        byte[] b = bytes(3, 13);
        String ka = newKey();
        String kb = newKey();
        resumable(ka, a);
        resumable(kb, b);
        String key = newKey();
        store.assembler().orElseThrow().assemble(key, List.of(ka, kb));
        byte[] expected = new byte[a.length + b.length];
        System.arraycopy(a, 0, expected, 0, a.length);
        System.arraycopy(b, 0, expected, a.length, b.length);
        assertThat(store.blobs().size(key)).isEqualTo(expected.length);
        assertThat(read(store.blobs().openRange(key, 0, expected.length))).isEqualTo(expected);
    }

    @Test
    void keyListingFindsCommittedKeysByPrefixOnly() throws Exception {
        Assumptions.assumeTrue(store.hasKeyListing(), backend + " offers no KeyListing");
        String prefix = "list" + KEYS.incrementAndGet() + "x";
        List<String> committed = List.of(prefix + "0001", prefix + "0002");
        for (String k : committed) {
            commit(k, bytes(10, 14));
        }
        commit(newKey(), bytes(10, 15));
        try (BlobWriter staged = store.blobs().create(prefix + "0003")) {
            staged.write(ByteBuffer.wrap(bytes(10, 16)));
            List<String> seen = new ArrayList<>();
            store.keyListing().orElseThrow().forEachKey(prefix, seen::add);
            assertThat(seen).containsExactlyInAnyOrderElementsOf(committed);
        }
    }

    @Test
    void aPresignedPutMakesTheBlobAndPresigningAloneMakesNothing() throws Exception {
        Assumptions.assumeTrue(store.hasPresigner(), backend + " offers no Presigner (Sluice signs its own URLs)");
        Presigner presigner = store.presigner().orElseThrow();
        String unused = newKey();
        presigner.presignPut(unused, 10, "text/plain", Duration.ofMinutes(5));
        assertThat(store.blobs().size(unused)).as("presigning creates nothing").isEqualTo(-1);

        String key = newKey();
        byte[] data = "presigned!".getBytes(StandardCharsets.UTF_8);
        Presigner.PresignedRequest put = presigner.presignPut(key, data.length, "text/plain", Duration.ofMinutes(5));
        HttpRequest.Builder request = HttpRequest.newBuilder(put.url())
                .method(put.method(), HttpRequest.BodyPublishers.ofByteArray(data));
        put.headers().forEach((name, value) -> {
            if (!name.equalsIgnoreCase("host") && !name.equalsIgnoreCase("content-length")) {
                request.header(name, value);
            }
        });
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        assertThat(store.blobs().size(key)).isEqualTo(data.length);
        assertThat(read(store.blobs().openRange(key, 0, data.length))).isEqualTo(data);
    }

    // --- helpers -------------------------------------------------------------------------------------------------

    private static String newKey() {
        return "contract" + String.format("%08d", KEYS.incrementAndGet());
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private void commit(String key, byte[] data) throws IOException {
        try (BlobWriter w = store.blobs().create(key)) {
            w.write(ByteBuffer.wrap(data));
            w.commit();
        }
    }

    private void resumable(String key, byte[] data) throws IOException {
        store.resumable().createResumable(key);
        try (ResumableWriter w = store.resumable().openAppend(key, 0)) {
            w.write(ByteBuffer.wrap(data));
            w.sync();
            w.acknowledged(data.length);
        }
    }

    private static byte[] read(ReadableByteChannel channel) throws IOException {
        try (InputStream in = Channels.newInputStream(channel)) {
            return in.readAllBytes();
        }
    }
}
