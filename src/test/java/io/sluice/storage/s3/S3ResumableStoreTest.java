package io.sluice.storage.s3;

import io.sluice.storage.ResumableWriter;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.S3Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link io.sluice.storage.ResumableStore} contract on a real S3-compatible server (s3proxy): appends across
 * sync points, reopening at a smaller recorded offset after a "crash" (an abandoned writer), tails below and above
 * the 5 MiB part minimum, a second store instance resuming, idempotent promotion, deletion leaving nothing, and
 * assembly by server-side part copy.
 */
class S3ResumableStoreTest {

    private static final long MIB = 1024 * 1024;
    private static final long P = S3Settings.MIN_PART_SIZE;

    @TempDir
    Path spoolDir;
    private S3Server server;
    private String bucket;
    private S3Client client;
    private S3ResumableStore store;

    @BeforeEach
    void setUp() throws IOException {
        server = S3Server.get();
        bucket = server.newBucket();
        client = S3Clients.client(server.settings(bucket, P));
        store = new S3ResumableStore(client, server.settings(bucket, P), spoolDir);
    }

    @AfterEach
    void tearDown() throws IOException {
        try (Stream<Path> files = Files.list(spoolDir)) {
            assertThat(files.toList()).as("spool files left behind").isEmpty();
        }
        client.close();
    }

    @Test
    void appendsAcrossSyncPointsWithTailsBelowAndAbovePartSize() throws Exception {
        String key = "k0000000001";
        store.createResumable(key);
        assertThat(store.resumableLength(key)).isZero();
        long[] appends = {3 * MIB, 7 * MIB, 1, 2 * MIB - 1};
        long offset = 0;
        for (int i = 0; i < appends.length; i++) {
            try (ResumableWriter w = store.openAppend(key, offset)) {
                feed(w, new GeneratedBody(appends[i], i));
                w.sync();
                offset += appends[i];
                w.acknowledged(offset);
            }
            assertThat(store.resumableLength(key)).isEqualTo(offset);
        }
        // Readable while unfinished: the bytes still in the current chunk.
        long tailStart = offset - 1;
        try (ReadableByteChannel ch = store.openResumable(key, tailStart, 1)) {
            assertThat(readAll(ch)).hasSize(1);
        }
        store.promote(key);
        InputStream expected = concat(new GeneratedBody(appends[0], 0), new GeneratedBody(appends[1], 1),
                new GeneratedBody(appends[2], 2), new GeneratedBody(appends[3], 3));
        assertCommitted(key, offset, sha(expected));
        assertThat(server.objects(bucket)).containsExactly("blobs/" + key);
        assertThat(server.multipartUploads(bucket)).isEmpty();
    }

    @Test
    void aLengthThatIsAWholeNumberOfPartsCompletes() throws Exception {
        String key = "k0000000002";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(2 * P, 7));
            w.sync();
        }
        store.promote(key);
        assertCommitted(key, 2 * P, sha(new GeneratedBody(2 * P, 7)));
    }

    /** The stored bytes run past the recorded offset (synced but never recorded), into stale parts and chunks. */
    @Test
    void reopeningAtASmallerRecordedOffsetRebuildsExactlyThatPrefix() throws Exception {
        for (long recorded : new long[]{2 * MIB, P, 7 * MIB, 0}) {
            String key = "crash" + recorded + "xx";
            store.createResumable(key);
            try (ResumableWriter a = store.openAppend(key, 0)) {
                feed(a, new GeneratedBody(recorded, 11));
                a.sync();
                // Written and synced, never recorded: the process "dies" here.
                feed(a, new GeneratedBody(12 * MIB, 12));
                a.sync();
            }
            assertThat(store.resumableLength(key)).isGreaterThan(recorded);
            try (ResumableWriter b = store.openAppend(key, recorded)) {
                assertThat(store.resumableLength(key)).isEqualTo(recorded);
                feed(b, new GeneratedBody(MIB + 3, 13));
                b.sync();
            }
            store.promote(key);
            assertCommitted(key, recorded + MIB + 3,
                    sha(concat(new GeneratedBody(recorded, 11), new GeneratedBody(MIB + 3, 13))));
        }
    }

    /** A writer abandoned without any sync leaves the recorded prefix intact, even after several such crashes. */
    @Test
    void repeatedCrashesWithoutSyncKeepTheAcknowledgedPrefix() throws Exception {
        String key = "k0000000003";
        store.createResumable(key);
        long recorded = 6 * MIB + 5;
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(recorded, 21));
            w.sync();
            w.acknowledged(recorded);
        }
        for (int crash = 0; crash < 2; crash++) {
            try (ResumableWriter w = store.openAppend(key, recorded)) {
                feed(w, new GeneratedBody(5 * MIB, 100 + crash));
                // no sync: the part it filled was copied, the rest only spooled
            }
        }
        try (ResumableWriter w = store.openAppend(key, recorded)) {
            feed(w, new GeneratedBody(MIB, 22));
            w.sync();
        }
        store.promote(key);
        assertCommitted(key, recorded + MIB,
                sha(concat(new GeneratedBody(recorded, 21), new GeneratedBody(MIB, 22))));
    }

    @Test
    void aSecondStoreInstanceResumesWhatTheFirstStarted() throws Exception {
        String key = "k0000000004";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(6 * MIB, 31));
            w.sync();
        }
        try (S3Client other = S3Clients.client(server.settings(bucket, P))) {
            // Another node: its own client and store, and a different configured part size (the blob's wins).
            S3ResumableStore second = new S3ResumableStore(other, server.settings(bucket, 8 * MIB), spoolDir);
            assertThat(second.resumableLength(key)).isEqualTo(6 * MIB);
            try (ResumableWriter w = second.openAppend(key, 6 * MIB)) {
                feed(w, new GeneratedBody(5 * MIB, 32));
                w.sync();
            }
            second.promote(key);
        }
        store.promote(key); // idempotent, from the first node too
        assertCommitted(key, 11 * MIB, sha(concat(new GeneratedBody(6 * MIB, 31), new GeneratedBody(5 * MIB, 32))));
    }

    @Test
    void promoteIsIdempotentAndRefusesWhatDoesNotExist() throws Exception {
        String key = "k0000000005";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(100, 41));
            w.sync();
        }
        store.promote(key);
        store.promote(key);
        assertCommitted(key, 100, sha(new GeneratedBody(100, 41)));
        assertThat(store.resumableLength(key)).isEqualTo(-1);
        assertThatThrownBy(() -> store.openAppend(key, 100)).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> store.promote("k0000000099")).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> store.openAppend("k0000000099", 0)).isInstanceOf(NoSuchFileException.class);
        assertThat(store.deleteResumable(key)).isFalse();
    }

    /**
     * A crash after CompleteMultipartUpload but before the clean-up (and before the database recorded the
     * completion): the next append is told the blob is gone (the service then finishes the upload), and promote
     * completes the clean-up.
     */
    @Test
    void aCompletionCutBeforeItsCleanUpIsReportedAndFinished() throws Exception {
        String key = "k0000000008";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(6 * MIB, 81));
            w.sync();
        }
        byte[] info = client.getObjectAsBytes(b -> b.bucket(bucket).key("resumable/" + key + "/info")).asByteArray();
        store.promote(key);
        client.putObject(b -> b.bucket(bucket).key("resumable/" + key + "/info"),
                software.amazon.awssdk.core.sync.RequestBody.fromBytes(info));
        assertThatThrownBy(() -> store.openAppend(key, 6 * MIB)).isInstanceOf(NoSuchFileException.class);
        store.promote(key);
        assertThat(server.objects(bucket)).containsExactly("blobs/" + key);
        assertCommitted(key, 6 * MIB, sha(new GeneratedBody(6 * MIB, 81)));
    }

    /** The blob store's start-up sweep of stale multipart uploads spares resumable blobs, however old. */
    @Test
    void theStaleMultipartSweepSparesResumableBlobs() throws Exception {
        String key = "k0000000009";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(6 * MIB, 91));
            w.sync();
        }
        client.createMultipartUpload(b -> b.bucket(bucket).key("blobs/orphan00001"));
        try (S3Client own = S3Clients.client(server.settings(bucket, P));
             S3BlobStore blobs = new S3BlobStore(own, S3Clients.presigner(server.settings(bucket, P)),
                     server.settings(bucket, P), spoolDir.resolve("blobs"), java.time.Duration.ZERO,
                     java.time.Clock.systemUTC())) {
            blobs.sweepStaged();
        }
        assertThat(server.multipartUploads(bucket)).containsExactly("blobs/" + key);
        store.promote(key);
        assertCommitted(key, 6 * MIB, sha(new GeneratedBody(6 * MIB, 91)));
        Files.delete(spoolDir.resolve("blobs"));
    }

    @Test
    void openingBeyondWhatIsStoredFails() throws Exception {
        String key = "k0000000006";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(MIB, 51));
            w.sync();
        }
        assertThatThrownBy(() -> store.openAppend(key, 2 * MIB)).isInstanceOf(IOException.class)
                .hasMessageContaining("fewer than offset");
        assertThatThrownBy(() -> store.openAppend(key, 6 * MIB)).isInstanceOf(IOException.class);
    }

    @Test
    void deleteLeavesNoMultipartUploadAndNoObjects() throws Exception {
        String key = "k0000000007";
        store.createResumable(key);
        try (ResumableWriter w = store.openAppend(key, 0)) {
            feed(w, new GeneratedBody(7 * MIB, 61));
            w.sync();
        }
        assertThat(server.multipartUploads(bucket)).containsExactly("blobs/" + key);
        assertThat(store.deleteResumable(key)).isTrue();
        assertThat(server.objects(bucket)).isEmpty();
        assertThat(server.multipartUploads(bucket)).isEmpty();
        assertThat(store.resumableLength(key)).isEqualTo(-1);
        assertThat(store.deleteResumable(key)).isFalse();
    }

    @Test
    void assemblesPartialsByServerSideCopyWhateverTheirSizes() throws Exception {
        List<List<Long>> cases = List.of(
                List.of(6 * MIB, P + 77, MIB),          // every part but the last >= 5 MiB: copies only
                List.of(MIB, 6 * MIB, 2 * MIB + 1, 3L)); // small ones in front and in the middle: spooled
        int c = 0;
        for (List<Long> sizes : cases) {
            c++;
            InputStream[] expected = new InputStream[sizes.size()];
            List<String> keys = new java.util.ArrayList<>();
            for (int i = 0; i < sizes.size(); i++) {
                String key = "part" + c + "x" + i + "xxxx";
                keys.add(key);
                store.createResumable(key);
                try (ResumableWriter w = store.openAppend(key, 0)) {
                    feed(w, new GeneratedBody(sizes.get(i), 70 + i));
                    w.sync();
                }
                expected[i] = new GeneratedBody(sizes.get(i), 70 + i);
            }
            String fin = "final" + c + "xxxxx";
            store.assemble(fin, keys);
            long total = sizes.stream().mapToLong(Long::longValue).sum();
            assertCommitted(fin, total, sha(concat(expected)));
            // The partials are promoted now, and the same call again would find them so.
            for (String key : keys) {
                assertThat(server.objects(bucket)).contains("blobs/" + key);
                try (ReadableByteChannel ch = store.openResumable(key, 0, 1)) {
                    assertThat(readAll(ch)).hasSize(1);
                }
            }
        }
        assertThat(server.multipartUploads(bucket)).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------------

    private void assertCommitted(String key, long size, String sha256) throws Exception {
        var head = client.headObject(b -> b.bucket(bucket).key("blobs/" + key));
        assertThat(head.contentLength()).as("size of " + key).isEqualTo(size);
        try (InputStream in = client.getObject(b -> b.bucket(bucket).key("blobs/" + key))) {
            assertThat(sha(in)).as("sha256 of " + key).isEqualTo(sha256);
        }
    }

    private static void feed(ResumableWriter w, InputStream in) throws IOException {
        byte[] buf = new byte[256 * 1024 + 13];
        int n;
        while ((n = in.read(buf)) > 0) {
            w.write(ByteBuffer.wrap(buf, 0, n));
        }
    }

    private static InputStream concat(InputStream... parts) {
        InputStream out = InputStream.nullInputStream();
        for (InputStream p : parts) {
            out = new SequenceInputStream(out, p);
        }
        return out;
    }

    private static String sha(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static byte[] readAll(ReadableByteChannel ch) throws IOException {
        return Channels.newInputStream(ch).readAllBytes();
    }
}
