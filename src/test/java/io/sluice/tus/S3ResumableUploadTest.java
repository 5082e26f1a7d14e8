package io.sluice.tus;

import io.sluice.storage.s3.S3Clients;
import io.sluice.storage.s3.S3ResumableStore;
import io.sluice.storage.s3.S3Settings;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.Json;
import io.sluice.testing.S3Server;
import io.sluice.testing.TestServer;
import io.tus.java.client.ProtocolException;
import io.tus.java.client.TusClient;
import io.tus.java.client.TusUpload;
import io.tus.java.client.TusUploader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * tus on the real server with {@code storage.type: s3} (s3proxy): uploads in odd-sized PATCHes, resumption by a
 * new server over the same bucket and data directory, the real tus-java-client, concatenation by server-side part
 * copy, and termination. Each check ends with the bucket holding exactly the finished blobs and no multipart upload.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class S3ResumableUploadTest {

    private static final long MIB = 1024 * 1024;

    @TempDir
    Path dataDir;
    @TempDir
    Path files;

    private TestServer start(S3Server s3, String bucket) throws Exception {
        return TestServer.start(dataDir, s3.serverSettings(bucket, "storage.s3.partSize", "5MiB"));
    }

    @Test
    void threePatchesOfOddSizesGiveTheRightSha256() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        long[] sizes = {3 * MIB, 7 * MIB, 1};
        long total = 10 * MIB + 1;
        try (TestServer server = start(s3, bucket)) {
            Tus tus = new Tus(server);
            String path = tus.created(total, "Upload-Metadata", "filename " + b64("odd.bin"));
            String id = path.substring(Tus.BASE.length());
            long offset = 0;
            InputStream content = new GeneratedBody(total, 5);
            for (long size : sizes) {
                tus.patchOk(path, offset, content.readNBytes((int) size));
                offset += size;
            }
            String sha = sha(new GeneratedBody(total, 5));
            assertThat(tus.record(id).path("sha256").asText()).isEqualTo(sha);
            assertThat(download(server, path)).isEqualTo(sha);
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + id);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
    }

    /** A PATCH refused for its checksum after it sealed parts keeps nothing: the next one starts at the old offset. */
    @Test
    void aRefusedAppendLeavesTheAcknowledgedBytesAlone() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        long total = 12 * MIB;
        byte[] content = new GeneratedBody(total, 40).readAllBytes();
        try (TestServer server = start(s3, bucket)) {
            Tus tus = new Tus(server);
            String path = tus.created(total);
            tus.patchOk(path, 0, java.util.Arrays.copyOfRange(content, 0, (int) (2 * MIB + 1)));
            byte[] other = new GeneratedBody(9 * MIB, 41).readAllBytes();
            String wrong = "sha256 " + java.util.Base64.getEncoder().encodeToString(new byte[32]);
            HttpResponse<String> refused = tus.patch(path, 2 * MIB + 1, other, "Upload-Checksum", wrong);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(460);
            assertThat(Json.errorCode(refused.body())).isEqualTo("checksum_mismatch");
            assertThat(tus.offset(path)).isEqualTo(2 * MIB + 1);
            tus.patchOk(path, 2 * MIB + 1, java.util.Arrays.copyOfRange(content, (int) (2 * MIB + 1), (int) total));
            String id = path.substring(Tus.BASE.length());
            String sha = sha(new java.io.ByteArrayInputStream(content));
            assertThat(tus.record(id).path("sha256").asText()).isEqualTo(sha);
            assertThat(download(server, path)).isEqualTo(sha);
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + id);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
    }

    @Test
    void aNewServerOnTheSameBucketResumesTheUpload() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        long total = 13 * MIB + 5;
        byte[] first;
        String path;
        try (TestServer server = start(s3, bucket)) {
            Tus tus = new Tus(server);
            path = tus.created(total);
            first = new GeneratedBody(total, 6).readNBytes((int) (6 * MIB + 3));
            tus.patchOk(path, 0, first);
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
        try (TestServer server = start(s3, bucket)) {
            Tus tus = new Tus(server);
            assertThat(tus.offset(path)).isEqualTo(first.length);
            InputStream content = new GeneratedBody(total, 6);
            content.skipNBytes(first.length);
            tus.patchOk(path, first.length, content.readAllBytes());
            String id = path.substring(Tus.BASE.length());
            String sha = sha(new GeneratedBody(total, 6));
            assertThat(tus.record(id).path("sha256").asText()).isEqualTo(sha);
            assertThat(download(server, path)).isEqualTo(sha);
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + id);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
    }

    @Test
    void tusJavaClientUploadsThroughS3() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        Path file = files.resolve("client.bin");
        long size = 12 * MIB + 321;
        try (InputStream in = new GeneratedBody(size, 7)) {
            Files.copy(in, file);
        }
        try (TestServer server = start(s3, bucket)) {
            TusClient client = new TusClient();
            client.setUploadCreationURL(server.uri(Tus.BASE).toURL());
            TusUploader uploader = client.createUpload(new TusUpload(file.toFile()));
            uploader.setChunkSize((int) MIB);
            uploader.setRequestPayloadSize((int) (4 * MIB + 17));
            while (uploader.uploadChunk() > -1) {
                // next chunk
            }
            uploader.finish();
            String path = uploader.getUploadURL().getPath();
            String id = path.substring(Tus.BASE.length());
            var record = new Tus(server).record(id);
            assertThat(record.path("sha256").asText()).isEqualTo(sha(new GeneratedBody(size, 7)));
            assertThat(record.path("size").asLong()).isEqualTo(size);
            assertThat(record.path("filename").asText()).isEqualTo("client.bin");
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        } catch (ProtocolException e) {
            throw new AssertionError("tus-java-client: " + e.getMessage(), e);
        }
    }

    @Test
    void concatenationOfThreePartialsCopiesPartsServerSide() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        long[] sizes = {6 * MIB, 5 * MIB + 9, MIB + 7};
        try (TestServer server = start(s3, bucket)) {
            Tus tus = new Tus(server);
            List<String> partials = new ArrayList<>();
            List<InputStream> expected = new ArrayList<>();
            for (int i = 0; i < sizes.length; i++) {
                String path = tus.created(sizes[i], "Upload-Concat", "partial");
                tus.patchOk(path, 0, new GeneratedBody(sizes[i], 10 + i).readAllBytes());
                partials.add(path);
                expected.add(new GeneratedBody(sizes[i], 10 + i));
            }
            HttpResponse<String> fin = tus.send("POST", Tus.BASE, null,
                    "Upload-Concat", "final;" + String.join(" ", partials),
                    "Upload-Metadata", "filename " + b64("joined.bin"));
            String path = Tus.locationOf(fin);
            String id = path.substring(Tus.BASE.length());
            long total = sizes[0] + sizes[1] + sizes[2];
            String sha = sha(new SequenceInputStream(java.util.Collections.enumeration(expected)));
            var record = tus.record(id);
            assertThat(record.path("sha256").asText()).isEqualTo(sha);
            assertThat(record.path("size").asLong()).isEqualTo(total);
            assertThat(download(server, path)).isEqualTo(sha);
            assertThat(tus.offset(path)).isEqualTo(total);
            for (String partial : partials) {
                assertThat(tus.head(partial).statusCode()).isEqualTo(404);
            }
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + id);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
    }

    @Test
    void terminationLeavesNothingInTheBucket() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        try (TestServer server = start(s3, bucket)) {
            Tus tus = new Tus(server);
            String path = tus.created(20 * MIB);
            tus.patchOk(path, 0, new GeneratedBody(7 * MIB, 8).readAllBytes());
            assertThat(s3.multipartUploads(bucket)).hasSize(1);
            assertThat(tus.delete(path).statusCode()).isEqualTo(204);
            HttpResponse<String> gone = tus.head(path);
            assertThat(gone.statusCode()).isEqualTo(404);
            HttpResponse<String> patch = tus.patch(path, 7 * MIB, new byte[1]);
            assertThat(patch.statusCode()).isEqualTo(404);
            assertThat(Json.errorCode(patch.body())).isEqualTo("not_found");
            assertThat(s3.objects(bucket)).isEmpty();
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
    }

    /**
     * Expiry removes everything an upload has in the bucket: an unfinished upload's multipart upload and chunks,
     * and a finished partial's, even when an interrupted concatenation had already promoted it to an object.
     */
    @Test
    void expiredUploadsLeaveNothingInTheBucket(@TempDir Path promoteSpool) throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        try (TestServer server = TestServer.start(dataDir, s3.serverSettings(bucket, "storage.s3.partSize", "5MiB",
                "tus.expiry", "2s"))) {
            Tus tus = new Tus(server);
            String unfinished = tus.created(20 * MIB);
            tus.patchOk(unfinished, 0, new GeneratedBody(6 * MIB, 30).readAllBytes());
            String partial = tus.created(MIB, "Upload-Concat", "partial");
            tus.patchOk(partial, 0, new GeneratedBody(MIB, 31).readAllBytes());
            // What a concatenation cut short by a crash leaves: the partial promoted to an object, its row intact.
            // Every piece of S3 state is in the bucket, so a store of its own over the same bucket does what the
            // server's would.
            S3Settings settings = s3.settings(bucket, 5 * MIB);
            try (S3Client client = S3Clients.client(settings)) {
                new S3ResumableStore(client, settings, promoteSpool)
                        .promote(partial.substring(Tus.BASE.length()));
            }
            assertThat(s3.objects(bucket)).contains("blobs/" + partial.substring(Tus.BASE.length()));

            for (String path : List.of(unfinished, partial)) {
                io.sluice.testing.Await.until(java.time.Duration.ofSeconds(20), "HEAD of " + path + " answers 410",
                        () -> tus.head(path).statusCode() == 410);
            }
            io.sluice.testing.Await.until(java.time.Duration.ofSeconds(20), "the sweeper empties the bucket",
                    () -> s3.objects(bucket).isEmpty() && s3.multipartUploads(bucket).isEmpty());
            server.assertNothingLeftBehind();
            assertNoSpoolFiles();
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    /** The S3 stores' spool files (part files, resumable spools) are gone once no request runs. */
    private void assertNoSpoolFiles() throws IOException {
        Path spool = dataDir.resolve("s3-spool");
        if (Files.isDirectory(spool)) {
            try (var list = Files.list(spool)) {
                assertThat(list.toList()).as("S3 spool files").isEmpty();
            }
        }
    }

    private static String download(TestServer server, String path) throws Exception {
        HttpResponse<InputStream> r = server.client().send(HttpRequest.newBuilder(server.uri(path)).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        try (InputStream in = r.body()) {
            return sha(in);
        }
    }

    static String sha(InputStream in) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String b64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
