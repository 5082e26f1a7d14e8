package io.sluice.upload;

import io.sluice.testing.GeneratedBody;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The data disk as a small real filesystem (a tmpfs mounted for each test): concurrent writers share one ledger and
 * are refused with 507 before their bodies are read; a disk filled by another process answers 507, never 500, and
 * leaves a resumable upload at its last recorded offset with nothing beyond it, resumable to byte-identical content.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DiskFullTest {

    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;
    private final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void unmount() throws Exception {
        for (Path m : mounts) {
            new ProcessBuilder("umount", "-l", m.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** A fresh tmpfs of {@code mib} MiB; the test is skipped, loudly, where mounting is not allowed. */
    private Path tmpfs(int mib) throws Exception {
        Path m = Files.createDirectories(dir.resolve("tmpfs-" + mounts.size()));
        boolean ok;
        try {
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + mib + "m", "tmpfs", m.toString())
                    .redirectErrorStream(true).start();
            ok = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
            if (!ok) {
                System.err.println("DiskFullTest: mount failed: " + new String(p.getInputStream().readAllBytes()));
            }
        } catch (IOException e) {
            ok = false;
        }
        Assumptions.assumeTrue(ok, "SKIPPED: cannot mount a " + mib + " MiB tmpfs (needs root); the full-disk tests"
                + " need a small real filesystem");
        mounts.add(m);
        return m.resolve("data");
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void concurrentTusPatchesShareOneLedgerAndTheOneThatDoesNotFitIsRefusedBeforeItsBody() throws Exception {
        Path data = tmpfs(160);
        try (TestServer ts = TestServer.start(data, "limits.diskReserve", "16MiB")) {
            long size = 64 * MIB;
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ids.add(createTus(ts, size));
            }
            List<RawHttp> conns = new ArrayList<>();
            try {
                for (String id : ids) {
                    // Headers only: whatever answers now was decided before a byte of the body was sent.
                    RawHttp raw = new RawHttp(ts.port(), 1500);
                    raw.send(patchHead(id, 0, size));
                    conns.add(raw);
                }
                List<Integer> admitted = new ArrayList<>();
                int refused = 0;
                for (int i = 0; i < conns.size(); i++) {
                    RawResponse r = tryRead(conns.get(i));
                    if (r == null) {
                        admitted.add(i);
                        continue;
                    }
                    refused++;
                    assertThat(r.status()).as(r.body()).isEqualTo(507);
                    assertThat(Json.errorCode(r.body())).isEqualTo("insufficient_storage");
                    assertThat(Long.parseLong(r.header("Retry-After"))).isPositive();
                    assertThat(Json.parse(r.body()).path("error").path("message").asText())
                            .contains("limits.diskReserve");
                }
                // 160 MiB - 16 MiB reserve holds two 64 MiB appends, not three.
                assertThat(refused).as("appends refused").isEqualTo(1);
                assertThat(admitted).hasSize(2);

                ExecutorService pool = Executors.newFixedThreadPool(2);
                try {
                    List<Future<RawResponse>> answers = new ArrayList<>();
                    for (int i : admitted) {
                        RawHttp raw = conns.get(i);
                        raw.socket().setSoTimeout(60_000);
                        answers.add(pool.submit(() -> {
                            copy(new GeneratedBody(size, i), raw.socket().getOutputStream(), size);
                            return raw.readResponse();
                        }));
                    }
                    for (Future<RawResponse> f : answers) {
                        RawResponse r = f.get(90, TimeUnit.SECONDS);
                        assertThat(r.status()).as(r.body()).isEqualTo(204);
                    }
                } finally {
                    pool.shutdownNow();
                }
            } finally {
                for (RawHttp raw : conns) {
                    raw.close();
                }
            }
            ts.assertNothingLeftBehind();
            for (int i = 0; i < ids.size(); i++) {
                long offset = headOffset(ts, ids.get(i));
                long onDisk = resumableBytes(data, ids.get(i));
                if (offset == size) {
                    assertThat(onDisk).as("finished upload's resumable file").isEqualTo(-1);
                } else {
                    // The refused append wrote nothing: HEAD and the disk agree.
                    assertThat(offset).isZero();
                    assertThat(onDisk).as("bytes past the acknowledged offset").isZero();
                }
            }
            assertThat(ids.stream().filter(id -> uncheckedOffset(ts, id) == size).count()).isEqualTo(2);
        }
    }

    @Test
    void chunkedPutOfUnknownLengthIsRefusedWhenTheLedgerRunsOutNotWhenTheDiskDoes() throws Exception {
        Path data = tmpfs(48);
        try (TestServer ts = TestServer.start(data, "limits.diskReserve", "8MiB")) {
            RawResponse r;
            try (RawHttp raw = new RawHttp(ts.port(), 30_000)) {
                raw.send("PUT /api/v1/uploads/endless.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
                // Bounded: twice the filesystem; the server must answer long before.
                sendChunkedUntilAnswered(raw, new GeneratedBody(96 * MIB, 7), 96 * MIB);
                r = raw.readResponse();
            }
            assertThat(r.status()).as(r.body()).isEqualTo(507);
            assertThat(Json.errorCode(r.body())).isEqualTo("insufficient_storage");
            assertThat(Long.parseLong(r.header("Retry-After"))).isPositive();
            // The staged file is gone and the reservation back to 0 (both asserted here).
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isZero();
            // The reserve was never written into.
            assertThat(Files.getFileStore(data).getUsableSpace()).isGreaterThan(8 * MIB);

            HttpResponse<String> small = ts.put("/api/v1/uploads/small.bin", HeldUpload.bytes(MIB, 3));
            assertThat(small.statusCode()).as(small.body()).isEqualTo(201);
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void aDiskFilledByAnotherProcessAnswers507AndTheUploadResumesFromItsRecordedOffset() throws Exception {
        Path data = tmpfs(64);
        try (TestServer ts = TestServer.start(data)) {
            int size = 24 * MIB;
            byte[] source = HeldUpload.bytes(size, 11);
            String id = createTus(ts, size);
            int first = 4 * MIB;
            HttpResponse<String> patched = ts.send(patch(ts, id, 0, slice(source, 0, first)));
            assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);

            Path filler = data.resolve("filler-from-another-process");
            RawResponse r;
            try (RawHttp raw = new RawHttp(ts.port(), 30_000)) {
                raw.send(patchHead(id, first, size - first));
                raw.send(slice(source, first, first + MIB));
                awaitActiveUploads(ts, 1);
                fill(filler);
                sendUntilAnswered(raw, slice(source, first + MIB, size));
                r = raw.readResponse();
            }
            assertThat(r.status()).as(r.body()).isEqualTo(507);
            assertThat(Json.errorCode(r.body())).isEqualTo("insufficient_storage");
            assertThat(Long.parseLong(r.header("Retry-After"))).isPositive();
            ts.assertNothingLeftBehind();

            long offset = headOffset(ts, id);
            assertThat(offset).as("HEAD after ENOSPC").isEqualTo(first);
            assertThat(resumableBytes(data, id)).as("bytes on disk past the acknowledged offset").isEqualTo(offset);

            Files.delete(filler);
            HttpResponse<String> resumed = ts.send(patch(ts, id, offset, slice(source, (int) offset, size)));
            assertThat(resumed.statusCode()).as(resumed.body()).isEqualTo(204);
            HttpResponse<byte[]> content = ts.client().send(HttpRequest.newBuilder(ts.uri("/api/v1/uploads/" + id
                    + "/content")).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(content.statusCode()).isEqualTo(200);
            assertThat(sha256(content.body())).isEqualTo(sha256(source));
            ts.assertNothingLeftBehind();
        }
    }

    @Test
    void multipartAndKnownLengthPutsThatDoNotFitBesideAWriteInProgressAre507BeforeTheirBodies() throws Exception {
        Path data = tmpfs(64);
        try (TestServer ts = TestServer.start(data, "limits.diskReserve", "8MiB")) {
            try (RawHttp held = new RawHttp(ts.port(), 30_000)) {
                // 40 MiB promised to a PUT whose body has not come yet: the disk is still empty, the ledger is not.
                held.send("PUT /api/v1/uploads/held.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Content-Type: application/octet-stream\r\nContent-Length: " + 40 * MIB + "\r\n\r\n");
                awaitActiveUploads(ts, 1);
                assertThat(ts.app().admission().disk().reserved()).isEqualTo(40L * MIB);

                try (RawHttp put = new RawHttp(ts.port(), 10_000)) {
                    put.send("PUT /api/v1/uploads/b.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            + "Content-Type: application/octet-stream\r\nContent-Length: " + 20 * MIB + "\r\n\r\n");
                    assertRefused(put.readResponse());
                }
                Multipart mp = new Multipart().file("file", "c.bin", HeldUpload.bytes(20 * MIB, 5));
                byte[] form = mp.build();
                try (RawHttp post = new RawHttp(ts.port(), 10_000)) {
                    post.send("POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            + mp.contentType() + "\r\nContent-Length: " + form.length + "\r\n\r\n");
                    assertRefused(post.readResponse());
                }
                // Only the held upload has a staged file; the refused ones staged nothing.
                assertThat(ts.stagedFiles()).isEqualTo(1);
                assertThat(ts.app().admission().disk().reserved()).isEqualTo(40L * MIB);
            }
            // The held client went away: its reservation and staged file are gone, and the same PUT now fits.
            ts.assertNothingLeftBehind();
            HttpResponse<String> put = ts.put("/api/v1/uploads/b.bin", HeldUpload.bytes(20 * MIB, 4));
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            ts.assertNothingLeftBehind();
            assertThat(ts.blobFiles()).isEqualTo(1);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private static void assertRefused(RawResponse r) {
        assertThat(r.status()).as(r.body()).isEqualTo(507);
        assertThat(Json.errorCode(r.body())).isEqualTo("insufficient_storage");
        assertThat(Long.parseLong(r.header("Retry-After"))).isPositive();
    }

    private static String createTus(TestServer ts, long length) throws Exception {
        HttpResponse<String> r = ts.send(HttpRequest.newBuilder(ts.uri("/files/"))
                .header("Tus-Resumable", "1.0.0").header("Upload-Length", Long.toString(length))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String location = r.headers().firstValue("Location").orElseThrow();
        return location.substring(location.lastIndexOf('/') + 1);
    }

    private static String patchHead(String id, long offset, long length) {
        return "PATCH /files/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: "
                + offset + "\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: " + length
                + "\r\n\r\n";
    }

    private static HttpRequest patch(TestServer ts, String id, long offset, byte[] body) {
        return HttpRequest.newBuilder(ts.uri("/files/" + id)).header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", Long.toString(offset))
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body)).build();
    }

    private static long headOffset(TestServer ts, String id) throws Exception {
        HttpResponse<String> r = ts.send(HttpRequest.newBuilder(ts.uri("/files/" + id))
                .header("Tus-Resumable", "1.0.0").method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).isEqualTo(200);
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    private static long uncheckedOffset(TestServer ts, String id) {
        try {
            return headOffset(ts, id);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Size of the unfinished upload's file under {@code resumable/}, or -1 when there is none. */
    private static long resumableBytes(Path data, String id) throws IOException {
        Path p = data.resolve("resumable").resolve(id.substring(id.length() - 2)).resolve(id);
        return Files.exists(p) ? Files.size(p) : -1;
    }

    /** The response if one arrives within the socket's timeout, null when the server is waiting for the body. */
    private static RawResponse tryRead(RawHttp raw) throws IOException {
        try {
            return raw.readResponse();
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    private static void awaitActiveUploads(TestServer ts, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ts.app().admission().activeUploads() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(ts.app().admission().activeUploads()).isEqualTo(n);
    }

    /** Writes into {@code file} until the filesystem is full, as another program on the same disk would. */
    private static void fill(Path file) throws IOException {
        byte[] block = new byte[256 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < 4096; i++) { // bounded: 1 GiB, far beyond the test filesystems
                out.write(block);
            }
        } catch (IOException e) {
            assertThat(e.getMessage()).contains("No space left on device");
            return;
        }
        throw new AssertionError("the filesystem never filled up");
    }

    private static void copy(InputStream in, OutputStream out, long n) throws IOException {
        byte[] buf = new byte[256 * 1024];
        long left = n;
        while (left > 0) {
            int k = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (k < 0) {
                throw new IOException("source ended early");
            }
            out.write(buf, 0, k);
            left -= k;
        }
        out.flush();
    }

    /** Sends {@code body} in pieces, stopping as soon as the server has answered (or closed). */
    private static void sendUntilAnswered(RawHttp raw, byte[] body) {
        int piece = 256 * 1024;
        try {
            InputStream answer = raw.socket().getInputStream();
            for (int at = 0; at < body.length && answer.available() == 0; at += piece) {
                raw.send(slice(body, at, Math.min(body.length, at + piece)));
            }
        } catch (IOException e) {
            // the server stopped reading: its answer is what counts
        }
    }

    /** Sends {@code n} bytes of {@code in} as chunked encoding, stopping as soon as the server has answered. */
    private static void sendChunkedUntilAnswered(RawHttp raw, InputStream in, long n) throws IOException {
        byte[] buf = new byte[256 * 1024];
        InputStream answer = raw.socket().getInputStream();
        try {
            for (long sent = 0; sent < n && answer.available() == 0; sent += buf.length) {
                int k = in.readNBytes(buf, 0, buf.length);
                raw.send((Integer.toHexString(k) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                raw.send(buf.length == k ? buf : slice(buf, 0, k));
                raw.send("\r\n");
            }
            raw.send("0\r\n\r\n");
        } catch (IOException e) {
            // the server stopped reading: its answer is what counts
        }
    }

    private static byte[] slice(byte[] all, int from, int to) {
        return java.util.Arrays.copyOfRange(all, from, to);
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
