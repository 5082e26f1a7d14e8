package io.sluice.tus;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.sluice.tus.Tus.assertError;
import static io.sluice.tus.Tus.assertHeadStatus;
import static io.sluice.tus.Tus.bytes;
import static io.sluice.tus.Tus.id;
import static io.sluice.tus.Tus.sha256;
import static io.sluice.tus.Tus.slice;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One writer per upload, and what happens to a writer that stalls (the documented behaviour, as tusd's): a PATCH
 * that sent part of its body and then went quiet holds the upload; the next request on the same upload asks it to
 * let go, the server closes the stalled connection, keeps the bytes that arrived, and the newcomer proceeds.
 *
 * <p>Knowing when the server has taken in every byte a stalled PATCH sent: the server copies the body through
 * buffers of {@link #BUFFER} bytes and writes a buffer to the file only when the next byte needs room. A stalled
 * PATCH therefore sends {@code k * BUFFER + 1} bytes; once the file holds {@code k * BUFFER}, the last byte has been
 * read too, and the offset the server saves when cut is exactly what was sent.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TusLockTest {

    static final int BUFFER = 16 * 1024;
    static final int FULL_BUFFERS = 4;
    static final int STALLED_BYTES = FULL_BUFFERS * BUFFER + 1;
    static final int LENGTH = 200_000;
    /** The stalled writer's address in the admission tests; the java.net.http requests come from 127.0.0.1. */
    static final String OTHER_CLIENT = "127.0.0.2";

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("admission.bufferSize", "16KiB");
    static Tus tus;

    @BeforeAll
    static void start() throws Exception {
        tus = new Tus(server.server());
    }

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    @Test
    void headMakesAStalledPatchLetGoAndReportsTheBytesItHadSent() throws Exception {
        byte[] data = bytes(LENGTH, 1);
        String path = tus.created(LENGTH);
        try (StalledPatch stalled = StalledPatch.start(server.server(), path, 0, data)) {
            stalled.awaitTakenIn();

            HttpResponse<String> head = tus.head(path);
            assertHeadStatus(head, 200);
            assertThat(head.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(STALLED_BYTES));
            assertThat(stalled.raw().closedByServer()).as("stalled connection closed by the server").isTrue();
        }
        assertThat(tus.offset(path)).isEqualTo(STALLED_BYTES);
        tus.patchOk(path, STALLED_BYTES, slice(data, STALLED_BYTES, LENGTH));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void cuttingAStalledPatchIsRoutineNotAWarning() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        root.addAppender(events);
        try {
            byte[] data = bytes(LENGTH, 9);
            String path = tus.created(LENGTH);
            try (StalledPatch stalled = StalledPatch.start(server.server(), path, 0, data)) {
                stalled.awaitTakenIn();
                assertThat(tus.offset(path)).isEqualTo(STALLED_BYTES);
                assertThat(stalled.raw().closedByServer()).isTrue();
            }
            server.assertNothingLeftBehind();
            Await.until(Duration.ofSeconds(10), "the cut PATCH is logged", () -> snapshot(events).stream()
                    .anyMatch(e -> e.getFormattedMessage().contains("PATCH " + path)));
            assertThat(snapshot(events).stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList())
                    .as("WARN/ERROR lines for a stalled writer let go").isEmpty();
            tus.delete(path);
        } finally {
            root.detachAppender(events);
        }
    }

    /** The events so far; server threads append while the test reads (the appender locks itself). */
    private static List<ILoggingEvent> snapshot(ListAppender<ILoggingEvent> events) {
        synchronized (events) {
            return List.copyOf(events.list);
        }
    }

    @Test
    void aSecondPatchAtTheOldOffsetCutsTheFirstAndLearnsTheSavedOffset() throws Exception {
        byte[] data = bytes(LENGTH, 2);
        String path = tus.created(LENGTH);
        try (StalledPatch stalled = StalledPatch.start(server.server(), path, 0, data)) {
            stalled.awaitTakenIn();

            // A client that gave up on the first connection and starts over from what it last knew.
            JsonNode error = assertError(tus.patch(path, 0, slice(data, 0, 50_000)), 409, "offset_mismatch");
            assertThat(error.path("offset").asLong()).isEqualTo(STALLED_BYTES);
            assertThat(stalled.raw().closedByServer()).as("stalled connection closed by the server").isTrue();
        }
        tus.patchOk(path, STALLED_BYTES, slice(data, STALLED_BYTES, LENGTH));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void aPatchAtTheSavedOffsetTakesOverFromAStalledOne() throws Exception {
        byte[] data = bytes(LENGTH, 3);
        String path = tus.created(LENGTH);
        try (StalledPatch stalled = StalledPatch.start(server.server(), path, 0, data)) {
            stalled.awaitTakenIn();
            tus.patchOk(path, STALLED_BYTES, slice(data, STALLED_BYTES, STALLED_BYTES + 10_000));
            // The old connection is gone: what it tries to send now cannot reach the upload.
            assertThat(stalled.raw().closedByServer()).isTrue();
        }
        int at = STALLED_BYTES + 10_000;
        assertThat(tus.offset(path)).isEqualTo(at);
        tus.patchOk(path, at, slice(data, at, LENGTH));
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void deleteTerminatesAStalledUpload() throws Exception {
        byte[] data = bytes(LENGTH, 4);
        String path = tus.created(LENGTH);
        try (StalledPatch stalled = StalledPatch.start(server.server(), path, 0, data)) {
            stalled.awaitTakenIn();
            assertThat(tus.delete(path).statusCode()).isEqualTo(204);
            assertThat(stalled.raw().closedByServer()).isTrue();
        }
        assertHeadStatus(tus.head(path), 404);
        assertThat(tus.resumableFiles(id(path))).isZero();
    }

    @Test
    void aStalledPatchHoldsItsUploadSlotUntilReleased(@TempDir Path dir) throws Exception {
        try (TestServer one = TestServer.start(dir, "admission.bufferSize", "16KiB",
                "admission.maxConcurrentUploads", "1")) {
            Tus t = new Tus(one);
            byte[] dataA = bytes(LENGTH, 5);
            byte[] dataB = bytes(30_000, 6);
            String a = t.created(LENGTH);
            String b = t.created(dataB.length);

            // From another client, so that what refuses the others is the global slot, not a per-client share.
            try (StalledPatch stalled = StalledPatch.start(one, OTHER_CLIENT, a, 0, dataA)) {
                stalled.awaitTakenIn();
                assertThat(one.app().admission().activeUploads()).isEqualTo(1);

                for (HttpResponse<String> refused : List.of(t.patch(b, 0, dataB), t.create(1000))) {
                    assertError(refused, 503, "upload_slots_exhausted");
                    assertThat(refused.headers().firstValue("Retry-After").map(Long::parseLong))
                            .hasValueSatisfying(s -> assertThat(s).isPositive());
                }
                // The stalled client itself is refused by its own share first.
                try (RawHttp sameClient = new RawHttp(OTHER_CLIENT, one.port(), 15_000)) {
                    sameClient.send("PATCH " + b + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                            + "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                            + "Content-Length: " + dataB.length + "\r\nConnection: close\r\n\r\n");
                    RawResponse r = sameClient.readResponse();
                    assertThat(r.status()).as(r.body()).isEqualTo(429);
                    assertThat(r.header("Tus-Resumable")).isEqualTo("1.0.0");
                    assertThat(r.header("Retry-After")).isNotNull();
                    assertThat(Json.errorCode(r.body())).isEqualTo("client_upload_limit");
                }
                // Asking where an upload stands takes no slot: B answers, A is not disturbed by it.
                assertThat(t.offset(b)).isZero();

                // Releasing A (a HEAD, as a resuming client sends) cuts the stalled request and frees the slot.
                assertThat(t.offset(a)).isEqualTo(STALLED_BYTES);
                assertThat(stalled.raw().closedByServer()).isTrue();
            }
            t.patchOk(b, 0, dataB);
            t.patchOk(a, STALLED_BYTES, slice(dataA, STALLED_BYTES, LENGTH));
            assertThat(t.record(id(a)).path("sha256").asText()).isEqualTo(sha256(dataA));
            assertThat(t.record(id(b)).path("sha256").asText()).isEqualTo(sha256(dataB));
            one.assertNothingLeftBehind();
        }
    }

    @Test
    void aStalledPatchThatFinishesCompletesTheUploadAndFreesTheSlot(@TempDir Path dir) throws Exception {
        try (TestServer one = TestServer.start(dir, "admission.bufferSize", "16KiB",
                "admission.maxConcurrentUploads", "1")) {
            Tus t = new Tus(one);
            byte[] dataA = bytes(LENGTH, 7);
            byte[] dataB = bytes(30_000, 8);
            String a = t.created(LENGTH);
            String b = t.created(dataB.length);
            try (StalledPatch stalled = StalledPatch.start(one, OTHER_CLIENT, a, 0, dataA)) {
                stalled.awaitTakenIn();
                assertError(t.patch(b, 0, dataB), 503, "upload_slots_exhausted");
                RawResponse done = stalled.finish();
                assertThat(done.status()).as(done.body()).isEqualTo(204);
                assertThat(done.header("Upload-Offset")).isEqualTo(String.valueOf(LENGTH));
            }
            t.patchOk(b, 0, dataB);
            assertThat(t.record(id(a)).path("sha256").asText()).isEqualTo(sha256(dataA));
            assertThat(t.record(id(b)).path("sha256").asText()).isEqualTo(sha256(dataB));
            one.assertNothingLeftBehind();
        }
    }

    @Test
    void aStalledPatchWithAChecksumKeepsNothingWhenCut() throws Exception {
        // Its bytes cannot be verified any more, so none of them count (the documented exception).
        byte[] data = bytes(LENGTH, 10);
        String path = tus.created(LENGTH);
        try (StalledPatch stalled = StalledPatch.start(server.server(), path, 0, data,
                "Upload-Checksum: " + Tus.checksum("sha256", "SHA-256", data))) {
            stalled.awaitTakenIn();
            assertThat(tus.offset(path)).isZero();
            assertThat(stalled.raw().closedByServer()).isTrue();
        }
        tus.patchOk(path, 0, data);
        assertThat(tus.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
    }

    @Test
    void theExpirySweeperLeavesAnUploadThatIsBeingWrittenAlone(@TempDir Path dir) throws Exception {
        try (TestServer quick = TestServer.start(dir, "admission.bufferSize", "16KiB", "tus.expiry", "1s")) {
            Tus t = new Tus(quick);
            byte[] data = bytes(LENGTH, 11);
            String path = t.created(LENGTH);
            try (StalledPatch writing = StalledPatch.start(quick, path, 0, data)) {
                writing.awaitTakenIn();
                // A long PATCH that keeps sending, well past the expiry its upload had when it started and through
                // several sweeps (one a second). It is alive: the sweeper must not cut it.
                long until = System.nanoTime() + Duration.ofMillis(3_500).toNanos();
                int sent = STALLED_BYTES;
                while (System.nanoTime() < until && sent + 1_000 < LENGTH) {
                    writing.raw().send(slice(data, sent, sent + 1_000));
                    sent += 1_000;
                    Thread.sleep(50);
                }
                RawResponse done = writing.finishFrom(sent);
                assertThat(done.status()).as(done.body()).isEqualTo(204);
                assertThat(done.header("Upload-Offset")).isEqualTo(String.valueOf(LENGTH));
            }
            assertThat(t.record(id(path)).path("sha256").asText()).isEqualTo(sha256(data));
            quick.assertNothingLeftBehind();
        }
    }

    /**
     * A PATCH over a raw socket that declares the whole rest of the upload in Content-Length but sends only
     * {@link #STALLED_BYTES} of it, then goes quiet.
     */
    record StalledPatch(TestServer server, String path, long offset, byte[] data, RawHttp raw) implements AutoCloseable {

        static StalledPatch start(TestServer server, String path, long offset, byte[] data, String... headerLines)
                throws IOException {
            return start(server, null, path, offset, data, headerLines);
        }

        /**
         * @param localAddress loopback address to connect from (another one is another client), or null
         * @param headerLines  extra request header lines ({@code "Name: value"})
         */
        static StalledPatch start(TestServer server, String localAddress, String path, long offset, byte[] data,
                                  String... headerLines) throws IOException {
            RawHttp raw = new RawHttp(localAddress, server.port(), 15_000);
            StringBuilder extra = new StringBuilder();
            for (String line : headerLines) {
                extra.append(line).append("\r\n");
            }
            raw.send("PATCH " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                    + "Content-Type: application/offset+octet-stream\r\nUpload-Offset: " + offset + "\r\n"
                    + extra + "Content-Length: " + (data.length - offset) + "\r\n\r\n");
            raw.send(slice(data, (int) offset, (int) offset + STALLED_BYTES));
            return new StalledPatch(server, path, offset, data, raw);
        }

        /** Waits until the server has read every byte sent (see the class comment) and holds the upload. */
        void awaitTakenIn() throws Exception {
            long full = offset + (long) FULL_BUFFERS * BUFFER;
            Await.until(Duration.ofSeconds(15), "the server takes in the stalled PATCH's bytes",
                    () -> stored() >= full && server.app().resumable().locksHeld() >= 1);
        }

        /** Sends the rest of the body and reads the answer. */
        RawResponse finish() throws IOException {
            return finishFrom((int) offset + STALLED_BYTES);
        }

        /** Sends the body from {@code position} (a position in the upload) to the end and reads the answer. */
        RawResponse finishFrom(int position) throws IOException {
            raw.send(slice(data, position, data.length));
            return raw.readResponse();
        }

        private long stored() throws IOException {
            Optional<Path> file;
            try (Stream<Path> s = Files.walk(server.dataDir().resolve("resumable"))) {
                file = s.filter(p -> p.getFileName().toString().equals(id(path))).findFirst();
            }
            return file.isPresent() ? Files.size(file.get()) : -1;
        }

        @Override
        public void close() throws IOException {
            raw.close();
        }
    }
}
