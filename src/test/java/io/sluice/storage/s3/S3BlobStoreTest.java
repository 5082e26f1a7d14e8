package io.sluice.storage.s3;

import io.sluice.storage.BlobWriter;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.Presigner;
import io.sluice.testing.S3Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The BlobStore contract (and the Presigner's) on a real S3-compatible server. */
class S3BlobStoreTest {

    private static final int PART = (int) S3Settings.MIN_PART_SIZE;

    @TempDir
    Path dir;
    private S3Server s3;
    private String bucket;
    private S3BlobStore store;

    @BeforeEach
    void open() throws IOException {
        s3 = S3Server.get();
        bucket = s3.newBucket();
        store = newStore(Duration.ofHours(24));
    }

    private S3BlobStore newStore(Duration staleAfter) throws IOException {
        S3Settings settings = s3.settings(bucket, PART);
        return new S3BlobStore(S3Clients.client(settings), S3Clients.presigner(settings), settings,
                dir.resolve("s3-spool"), staleAfter, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    /** Deterministic bytes that differ per position, so a misplaced part shows. */
    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + (i >>> 13));
        }
        return b;
    }

    /** Writes in uneven chunks, as a request does. */
    private static void writeAll(BlobWriter w, byte[] data) throws IOException {
        int pos = 0;
        int chunk = 65_536 + 7;
        while (pos < data.length) {
            int n = Math.min(chunk, data.length - pos);
            w.write(ByteBuffer.wrap(data, pos, n));
            pos += n;
        }
        assertThat(w.written()).isEqualTo(data.length);
    }

    private byte[] read(String key, long offset, long length) throws IOException {
        try (ReadableByteChannel ch = store.openRange(key, offset, length)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Channels.newInputStream(ch).transferTo(out);
            return out.toByteArray();
        }
    }

    private long spoolFiles() throws IOException {
        try (Stream<Path> files = Files.list(store.spoolDirectory())) {
            return files.count();
        }
    }

    private void assertNothingStaged() throws IOException {
        assertThat(store.stagedCount()).isZero();
        assertThat(s3.multipartUploads(bucket)).isEmpty();
        assertThat(spoolFiles()).isZero();
    }

    @Test
    void committedBlobsOfEverySizeReadBackWhole() throws IOException {
        int[] sizes = {0, 1, PART, PART + 1, 3 * PART + 12_345};
        for (int size : sizes) {
            String key = "key" + size + "abcdef";
            byte[] data = bytes(size);
            try (BlobWriter w = store.create(key)) {
                writeAll(w, data);
                assertThat(store.stagedCount()).isEqualTo(1);
                assertThat(store.size(key)).as("invisible before commit").isEqualTo(-1);
                w.commit();
            }
            assertThat(store.size(key)).isEqualTo(size);
            assertThat(read(key, 0, size)).as("size " + size).isEqualTo(data);
            assertNothingStaged();
        }
        assertThat(s3.objects(bucket)).hasSize(sizes.length).allMatch(k -> k.startsWith("blobs/"));
    }

    @Test
    void rangesReturnExactlyTheirBytes() throws IOException {
        byte[] data = bytes(PART + 100);
        try (BlobWriter w = store.create("ranged0001")) {
            writeAll(w, data);
            w.commit();
        }
        assertThat(read("ranged0001", 0, 1)).isEqualTo(new byte[]{data[0]});
        assertThat(read("ranged0001", PART - 10, 20)).isEqualTo(Arrays.copyOfRange(data, PART - 10, PART + 10));
        assertThat(read("ranged0001", data.length - 5, 5)).isEqualTo(Arrays.copyOfRange(data, data.length - 5,
                data.length));
        assertThat(read("ranged0001", 7, 0)).isEmpty();
    }

    @Test
    void abortLeavesNothingBehindAtAnyStage() throws IOException {
        // Never written, mid first part, after parts were uploaded (a multipart upload exists).
        for (int size : new int[]{0, PART / 2, 2 * PART + 3}) {
            String key = "aborted" + size + "x";
            try (BlobWriter w = store.create(key)) {
                writeAll(w, bytes(size));
            }
            assertThat(store.size(key)).isEqualTo(-1);
            assertNothingStaged();
        }
        assertThat(s3.objects(bucket)).isEmpty();
    }

    @Test
    void deleteAndMissingKeys() throws IOException {
        try (BlobWriter w = store.create("doomed0001")) {
            writeAll(w, bytes(10));
            w.commit();
        }
        assertThat(store.delete("doomed0001")).isTrue();
        assertThat(store.delete("doomed0001")).isFalse();
        assertThat(store.size("doomed0001")).isEqualTo(-1);
        assertThatThrownBy(() -> store.openRange("doomed0001", 0, 5)).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> store.openRange("doomed0001", 0, 0)).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> store.create("../escape")).isInstanceOf(IllegalArgumentException.class);
        assertThat(s3.objects(bucket)).isEmpty();
    }

    @Test
    void probeAndSpaceReportRemoteStorage() {
        assertThat(store.probeWritable()).isTrue();
        assertThat(store.usableSpace()).isEqualTo(-1);
        assertThat(s3.objects(bucket)).as("the probe object is removed").isEmpty();
    }

    @Test
    void sweepRemovesWhatACrashLeft() throws IOException {
        // A crashed process: spool files and an unfinished multipart upload under the blob prefix, plus another
        // installation's upload (other prefix) that must be left alone.
        Files.writeString(store.spoolDirectory().resolve("crashed.0" + S3BlobStore.SPOOL_SUFFIX), "x");
        String leftover = s3.client().createMultipartUpload(b -> b.bucket(bucket).key("blobs/crashed001"))
                .uploadId();
        String foreign = s3.client().createMultipartUpload(b -> b.bucket(bucket).key("other/thing")).uploadId();
        assertThat(leftover).isNotBlank();
        assertThat(store.sweepStaged()).as("recent uploads may be another node's").isEqualTo(1);
        assertThat(s3.multipartUploads(bucket)).containsExactlyInAnyOrder("blobs/crashed001", "other/thing");
        store.close();
        store = newStore(Duration.ZERO);
        assertThat(store.sweepStaged()).isEqualTo(1);
        assertThat(s3.multipartUploads(bucket)).containsExactly("other/thing");
        s3.client().abortMultipartUpload(b -> b.bucket(bucket).key("other/thing").uploadId(foreign));
        assertNothingStaged();
    }

    @Test
    void presignedPutThenGet() throws Exception {
        byte[] data = bytes(1000);
        Presigner.PresignedRequest put = store.presignPut("presigned01", data.length, "text/csv",
                Duration.ofMinutes(5));
        assertThat(put.method()).isEqualTo("PUT");
        assertThat(s3.objects(bucket)).as("presigning creates nothing").isEmpty();
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest.Builder req = HttpRequest.newBuilder(put.url()).PUT(HttpRequest.BodyPublishers.ofByteArray(data));
        put.headers().forEach((k, v) -> {
            if (!k.equalsIgnoreCase("content-length")) { // restricted in java.net.http; it sends the right one
                req.header(k, v);
            }
        });
        HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(store.size("presigned01")).isEqualTo(data.length);

        Presigner.PresignedRequest get = store.presignGet("presigned01", Duration.ofMinutes(5));
        HttpResponse<byte[]> g = http.send(HttpRequest.newBuilder(get.url()).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(g.statusCode()).isEqualTo(200);
        assertThat(g.body()).isEqualTo(data);

        // The signature covers the path: the same URL cannot write another key.
        URI other = URI.create(put.url().toString().replace("presigned01", "presigned02"));
        HttpResponse<String> forged = http.send(HttpRequest.newBuilder(other)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).header("Content-Type", "text/csv").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(forged.statusCode()).isEqualTo(403);
        assertThat(store.size("presigned02")).isEqualTo(-1);
    }

    /** What S3 offers, stated once in its composed store: assembly, presigning and listing, no local paths. */
    @Test
    void composedStoreOffersWhatS3Has() throws Exception {
        S3ResumableStore resumable = S3ResumableStore.over(store);
        ComposedStore composed = resumable.composedWith(store);
        assertThat(composed.blobs()).isSameAs(store);
        assertThat(composed.resumable()).isSameAs(resumable);
        assertThat(composed.assembler()).containsSame(resumable);
        assertThat(composed.presigner()).containsSame(store);
        assertThat(composed.keyListing()).containsSame(store);
        assertThat(composed.hasLocalPaths()).as("processors get copies of S3 blobs").isFalse();
    }

    /** BlobStore: committing a key again replaces the blob (a retried job attempt publishes its output again). */
    @Test
    void committingAKeyAgainReplacesTheBlob() throws IOException {
        byte[] first = bytes(PART + 1000);
        byte[] second = bytes(100);
        for (byte[] data : List.of(first, second)) {
            try (BlobWriter w = store.create("out-again01")) {
                writeAll(w, data);
                w.commit();
            }
        }
        assertThat(store.size("out-again01")).isEqualTo(second.length);
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        try (ReadableByteChannel ch = store.openRange("out-again01", 0, second.length)) {
            Channels.newInputStream(ch).transferTo(read);
        }
        assertThat(read.toByteArray()).isEqualTo(second);
        assertThat(s3.objects(bucket)).containsExactly("blobs/out-again01");
        assertThat(store.stagedCount()).isZero();
    }
}
