package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The IETF resumable-upload draft on {@code /files/}, for interop versions 5 and 6 (what tus-js-client 4 sends for
 * {@code ietf-draft-03} / {@code ietf-draft-05}) and 8 (draft -11), over raw sockets so that the {@code 104} interim
 * response is seen, and seen before any body byte is sent.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IetfDraftTest {

    static final int MAX = 256 * 1024;
    static final String PARTIAL_UPLOAD = "application/partial-upload";
    static final String MISMATCHING_OFFSET =
            "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
    static final String INCONSISTENT_LENGTH =
            "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "256KiB",
            "admission.bufferSize", "16KiB");

    @AfterEach
    void nothingLeftBehind() throws Exception {
        server.assertNothingLeftBehind();
    }

    // ------------------------------------------------------------------------------------------ every version

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void creationWithTheWholeBodyIsOneRequestAnnouncedBy104BeforeTheBody(int v) throws Exception {
        byte[] data = HeldUpload.bytes(40_000, v);
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            // Only the head goes out first: the 104 must come without the server having read a body byte.
            raw.send(head("POST", "/files/", v, data.length, "Upload-Complete: ?1", "Upload-Length: " + data.length,
                    "Upload-Metadata: filename " + b64("whole.bin")));
            RawResponse interim = raw.readResponse();
            assertThat(interim.status()).isEqualTo(104);
            assertThat(interim.header("Upload-Draft-Interop-Version")).isEqualTo(String.valueOf(v));
            String location = interim.header("Location");
            assertThat(location).matches("http://127\\.0\\.0\\.1:\\d+/files/[0-9A-Z]{26}");
            assertLimits(v, interim);

            raw.send(data);
            RawResponse created = finalResponse(raw);
            assertThat(created.status()).as(created.body()).isEqualTo(201);
            assertThat(created.header("Location")).isEqualTo(location);
            assertThat(created.header("Upload-Offset")).isEqualTo(String.valueOf(data.length));
            assertThat(created.header("Upload-Complete")).isEqualTo("?1");
            assertThat(created.header("Sluice-Upload-Id")).isEqualTo(idOf(location));
            assertRecord(idOf(location), data, "whole.bin");
        }
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void incompleteCreationThenHeadThenAppendsUntilUploadCompleteTrue(int v) throws Exception {
        byte[] data = HeldUpload.bytes(100_000, 10 + v);
        Answer created = create(v, data.length, false, Arrays.copyOfRange(data, 0, 30_000));
        assertThat(created.interim()).extracting(RawResponse::status).containsExactly(104);
        RawResponse r = created.last();
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.header("Upload-Offset")).isEqualTo("30000");
        assertThat(r.header("Upload-Complete")).isEqualTo("?0");
        assertThat(r.header("Sluice-Upload-Id")).isNull();
        String path = URI.create(r.header("Location")).getPath();

        RawResponse head = headRequest(v, path);
        assertThat(head.status()).isEqualTo(204);
        assertThat(head.header("Upload-Offset")).isEqualTo("30000");
        assertThat(head.header("Upload-Complete")).isEqualTo("?0");
        assertThat(head.header("Upload-Length")).isEqualTo(String.valueOf(data.length));
        assertThat(head.header("Cache-Control")).isEqualTo("no-store");
        assertThat(head.header("Upload-Draft-Interop-Version")).isEqualTo(String.valueOf(v));
        assertLimits(v, head);

        RawResponse middle = patch(v, path, 30_000, false, Arrays.copyOfRange(data, 30_000, 70_000));
        assertThat(middle.status()).as(middle.body()).isEqualTo(204);
        assertThat(middle.header("Upload-Offset")).isEqualTo("70000");
        assertThat(middle.header("Upload-Complete")).isEqualTo("?0");

        RawResponse last = patch(v, path, 70_000, true, Arrays.copyOfRange(data, 70_000, data.length));
        assertThat(last.status()).as(last.body()).isEqualTo(204);
        assertThat(last.header("Upload-Offset")).isEqualTo(String.valueOf(data.length));
        assertThat(last.header("Upload-Complete")).isEqualTo("?1");
        assertThat(last.header("Sluice-Upload-Id")).isEqualTo(idOf(path));

        RawResponse after = headRequest(v, path);
        assertThat(after.header("Upload-Complete")).isEqualTo("?1");
        assertThat(after.header("Upload-Offset")).isEqualTo(String.valueOf(data.length));
        assertRecord(idOf(path), data, "upload");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void anAppendAtTheWrongOffsetIsAConflictThatNamesTheRightOne(int v) throws Exception {
        String path = createdPath(v, 300, HeldUpload.bytes(100, v));
        RawResponse r = patch(v, path, 50, false, HeldUpload.bytes(50, 1));
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.header("Upload-Offset")).isEqualTo("100");
        if (v == 8) {
            assertThat(r.header("Content-Type")).isEqualTo("application/problem+json");
            JsonNode problem = Json.parse(r.body());
            assertThat(problem.path("type").asText()).isEqualTo(MISMATCHING_OFFSET);
            assertThat(problem.path("expected-offset").asLong()).isEqualTo(100);
            assertThat(problem.path("provided-offset").asLong()).isEqualTo(50);
        } else {
            assertThat(Json.errorCode(r.body())).isEqualTo("offset_mismatch");
            assertThat(Json.parse(r.body()).path("error").path("offset").asLong()).isEqualTo(100);
        }
        assertThat(headRequest(v, path).header("Upload-Offset")).isEqualTo("100");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void deleteCancelsTheUploadThenItIsNotFound(int v) throws Exception {
        String path = createdPath(v, 300, HeldUpload.bytes(100, v));
        Answer deleted = send(head("DELETE", path, v, -1), null);
        assertThat(deleted.last().status()).isEqualTo(204);
        assertThat(headRequest(v, path).status()).isEqualTo(404);
        RawResponse append = patch(v, path, 100, true, HeldUpload.bytes(200, 1));
        assertThat(append.status()).isEqualTo(404);
        assertThat(Json.errorCode(append.body())).isEqualTo("not_found");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void optionsAnnouncesTheLimits(int v) throws Exception {
        RawResponse r = send(head("OPTIONS", "/files/", v, -1), null).last();
        assertThat(r.status()).isEqualTo(204);
        assertThat(r.header("Upload-Draft-Interop-Version")).isEqualTo(String.valueOf(v));
        if (v >= 6) {
            assertThat(r.header("Upload-Limit")).isEqualTo("max-size=" + MAX);
            assertThat(r.header("Accept-Patch")).isEqualTo(PARTIAL_UPLOAD);
        } else {
            assertThat(r.header("Upload-Limit")).isNull();
        }
        assertThat(r.header("Tus-Resumable")).isNull();
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void aCreationCutMidBodyIsResumedFromTheOffsetTheServerKept(int v) throws Exception {
        byte[] data = HeldUpload.bytes(120_000, 20 + v);
        String location;
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(head("POST", "/files/", v, data.length, "Upload-Complete: ?1", "Upload-Length: " + data.length));
            RawResponse interim = raw.readResponse();
            assertThat(interim.status()).isEqualTo(104);
            location = interim.header("Location");
            raw.send(Arrays.copyOfRange(data, 0, 50_000));
        }
        String path = URI.create(location).getPath();
        // The server reads what arrived, sees the disconnect, saves the bytes and ends the request. (A HEAD sent
        // earlier would make it let go at once, keeping only what it had read by then.)
        Await.until(Duration.ofSeconds(10), "the cut creation to end",
                () -> server.app().admission().activeUploads() == 0 && server.app().resumable().locksHeld() == 0);
        RawResponse head = headRequest(v, path);
        assertThat(head.status()).isEqualTo(204);
        assertThat(head.header("Upload-Offset")).isEqualTo("50000");
        assertThat(head.header("Upload-Complete")).isEqualTo("?0");
        assertThat(head.header("Upload-Length")).isEqualTo(String.valueOf(data.length));

        RawResponse rest = patch(v, path, 50_000, true, Arrays.copyOfRange(data, 50_000, data.length));
        assertThat(rest.status()).as(rest.body()).isEqualTo(204);
        assertThat(rest.header("Upload-Complete")).isEqualTo("?1");
        assertRecord(idOf(path), data, "upload");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void aCompletedUploadTakesNoMoreAppends(int v) throws Exception {
        byte[] data = HeldUpload.bytes(1000, 30 + v);
        Answer created = create(v, data.length, true, data);
        String path = URI.create(created.last().header("Location")).getPath();

        RawResponse empty = patch(v, path, data.length, true, new byte[0]);
        assertThat(empty.status()).isEqualTo(400);
        assertThat(Json.errorCode(empty.body())).isEqualTo("upload_completed");
        assertThat(empty.header("Upload-Offset")).isEqualTo(String.valueOf(data.length));

        RawResponse more = patch(v, path, data.length, true, HeldUpload.bytes(10, 1));
        assertThat(more.status()).isEqualTo(400);
        if (v == 8) {
            assertThat(Json.parse(more.body()).path("type").asText()).isEqualTo(INCONSISTENT_LENGTH);
        } else {
            assertThat(Json.errorCode(more.body())).isEqualTo("upload_completed");
        }
        assertRecord(idOf(path), data, "upload");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void aStalledAppendIsReleasedByHeadAndTheUploadResumes(int v) throws Exception {
        byte[] data = HeldUpload.bytes(150_000, 40 + v);
        String path = createdPath(v, data.length, null);
        try (RawHttp stalled = new RawHttp(server.port(), 10_000)) {
            stalled.send(head("PATCH", path, v, data.length, appendHeaders(v, 0, true)));
            stalled.send(Arrays.copyOfRange(data, 0, 60_000));
            // Once the server holds the upload, a HEAD makes it let go by closing the stalled connection.
            Await.until(Duration.ofSeconds(10), "the append to hold the upload",
                    () -> server.app().resumable().locksHeld() == 1);
            RawResponse head = headRequest(v, path);
            assertThat(head.status()).isEqualTo(204);
            long offset = Long.parseLong(head.header("Upload-Offset"));
            assertThat(offset).isBetween(0L, 60_000L);
            assertThat(stalled.closedByServer()).isTrue();

            RawResponse rest = patch(v, path, offset, true, Arrays.copyOfRange(data, (int) offset, data.length));
            assertThat(rest.status()).as(rest.body()).isEqualTo(204);
            assertThat(rest.header("Upload-Complete")).isEqualTo("?1");
        }
        assertRecord(idOf(path), data, "upload");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void anUnknownLengthIsSetByTheCompletingAppend(int v) throws Exception {
        byte[] data = HeldUpload.bytes(5000, 50 + v);
        // tus-js-client's uploadLengthDeferred sends Upload-Defer-Length: 1 on creation; it is tolerated.
        Answer created = send(head("POST", "/files/", v, -1, "Upload-Complete: ?0", "Upload-Defer-Length: 1"), null);
        assertThat(created.last().status()).as(created.last().body()).isEqualTo(201);
        String path = URI.create(created.last().header("Location")).getPath();
        assertThat(headRequest(v, path).header("Upload-Length")).isNull();

        RawResponse first = patch(v, path, 0, false, Arrays.copyOfRange(data, 0, 2000));
        assertThat(first.header("Upload-Offset")).isEqualTo("2000");
        RawResponse last = patch(v, path, 2000, true, Arrays.copyOfRange(data, 2000, data.length),
                "Upload-Length: " + data.length);
        assertThat(last.status()).as(last.body()).isEqualTo(204);
        assertThat(last.header("Upload-Complete")).isEqualTo("?1");
        assertThat(last.header("Upload-Length")).isEqualTo(String.valueOf(data.length));
        assertRecord(idOf(path), data, "upload");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void anotherInteropVersionIsRefusedOnEveryMethod(int v) throws Exception {
        String path = createdPath(v, 300, null);
        for (String method : List.of("OPTIONS", "POST", "HEAD", "PATCH", "DELETE")) {
            String target = method.equals("POST") || method.equals("OPTIONS") ? "/files/" : path;
            RawResponse r = send(head(method, target, 99, 0, "Upload-Complete: ?1", "Upload-Offset: 0",
                    "Content-Type: " + PARTIAL_UPLOAD), new byte[0]).last();
            assertThat(r.status()).as(method).isEqualTo(400);
            if (!method.equals("HEAD")) {
                assertThat(Json.errorCode(r.body())).as(method).isEqualTo("unsupported_interop_version");
                assertThat(Json.parse(r.body()).path("error").path("supported").toString()).isEqualTo("[5,6,8]");
            }
        }
        // The upload was not touched by any of them.
        assertThat(headRequest(v, path).status()).isEqualTo(204);
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void uploadCompleteIsRequiredAndMustBeABoolean(int v) throws Exception {
        RawResponse missing = send(head("POST", "/files/", v, 0, "Upload-Length: 10"), new byte[0]).last();
        assertThat(missing.status()).isEqualTo(400);
        assertThat(Json.errorCode(missing.body())).isEqualTo("invalid_upload_complete");

        String path = createdPath(v, 300, null);
        RawResponse notBoolean = send(head("PATCH", path, v, 1, "Upload-Offset: 0", "Upload-Complete: yes",
                "Content-Type: " + PARTIAL_UPLOAD), new byte[1]).last();
        assertThat(notBoolean.status()).isEqualTo(400);
        assertThat(Json.errorCode(notBoolean.body())).isEqualTo("invalid_upload_complete");

        RawResponse noOffset = send(head("PATCH", path, v, 1, "Upload-Complete: ?0",
                "Content-Type: " + PARTIAL_UPLOAD), new byte[1]).last();
        assertThat(noOffset.status()).isEqualTo(400);
        assertThat(Json.errorCode(noOffset.body())).isEqualTo("invalid_upload_offset");
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void aLengthAboveTheLimitIsRefusedBeforeAnythingIsCreated(int v) throws Exception {
        Answer r = send(head("POST", "/files/", v, -1, "Upload-Complete: ?0", "Upload-Length: " + (MAX + 1)), null);
        assertThat(r.interim()).isEmpty();
        assertThat(r.last().status()).isEqualTo(413);
        assertThat(Json.errorCode(r.last().body())).isEqualTo("file_too_large");
        if (v >= 6) {
            assertThat(r.last().header("Upload-Limit")).isEqualTo("max-size=" + MAX);
        }
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void aCreationWithLengthsThatDisagreeIsAnInconsistentLength(int v) throws Exception {
        Answer r = send(head("POST", "/files/", v, 50, "Upload-Complete: ?1", "Upload-Length: 100"),
                HeldUpload.bytes(50, 1));
        assertThat(r.interim()).as("refused before an upload exists").isEmpty();
        assertInconsistent(v, r.last(), "inconsistent_length");
        if (v == 8) {
            assertThat(Json.parse(r.last().body()).path("status").asInt()).isEqualTo(400);
        }
    }

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6, 8})
    void appendsThatContradictTheLengthAreInconsistentLengths(int v) throws Exception {
        String path = createdPath(v, 300, HeldUpload.bytes(100, 2));
        // Completing at 150 when the length is 300.
        assertInconsistent(v, patch(v, path, 100, true, HeldUpload.bytes(50, 3)), "inconsistent_length");
        // A stale offset is told first, whatever the lengths.
        assertThat(patch(v, path, 40, true, HeldUpload.bytes(50, 3)).status()).isEqualTo(409);
        // A body beyond the length.
        assertInconsistent(v, patch(v, path, 100, false, HeldUpload.bytes(250, 4)), "inconsistent_length");
        // Another length.
        assertInconsistent(v, patch(v, path, 100, false, HeldUpload.bytes(10, 5), "Upload-Length: 500"),
                "inconsistent_length");
        // None of them kept anything.
        assertThat(headRequest(v, path).header("Upload-Offset")).isEqualTo("100");
    }

    // ------------------------------------------------------------------------------------------ versions 5 and 6

    /** tus-js-client sends {@code ?0} on the last chunk of a file stream: reaching the length completes it, as tusd. */
    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {5, 6})
    void uploadsOfTheEarlierDraftsCompleteWhenTheyReachTheirLength(int v) throws Exception {
        byte[] data = HeldUpload.bytes(20_000, 60 + v);
        String path = createdPath(v, data.length, null);
        patch(v, path, 0, false, Arrays.copyOfRange(data, 0, 8000));
        RawResponse last = patch(v, path, 8000, false, Arrays.copyOfRange(data, 8000, data.length));
        assertThat(last.status()).as(last.body()).isEqualTo(204);
        assertThat(last.header("Upload-Complete")).isEqualTo("?1");
        assertThat(last.header("Sluice-Upload-Id")).isEqualTo(idOf(path));
        assertRecord(idOf(path), data, "upload");
    }

    /** Draft -03 (interop 5) predates application/partial-upload; tus-js-client sends no Content-Type there. */
    @Test
    void interop5AppendsNeedNoContentType() throws Exception {
        byte[] data = HeldUpload.bytes(3000, 70);
        String path = createdPath(5, data.length, null);
        RawResponse r = send(head("PATCH", path, 5, data.length, "Upload-Offset: 0", "Upload-Complete: ?1"), data)
                .last();
        assertThat(r.status()).as(r.body()).isEqualTo(204);
        assertThat(r.header("Upload-Complete")).isEqualTo("?1");
        assertRecord(idOf(path), data, "upload");
    }

    // ------------------------------------------------------------------------------------------ versions 6 and 8

    @ParameterizedTest(name = "interop {0}")
    @ValueSource(ints = {6, 8})
    void appendsFromDraft04OnNeedApplicationPartialUpload(int v) throws Exception {
        String path = createdPath(v, 300, null);
        RawResponse r = send(head("PATCH", path, v, 10, "Upload-Offset: 0", "Upload-Complete: ?0",
                "Content-Type: application/offset+octet-stream"), new byte[10]).last();
        assertThat(r.status()).isEqualTo(415);
        assertThat(Json.errorCode(r.body())).isEqualTo("unsupported_content_type");
        RawResponse none = send(head("PATCH", path, v, 10, "Upload-Offset: 0", "Upload-Complete: ?0"), new byte[10])
                .last();
        assertThat(none.status()).isEqualTo(415);
        assertThat(headRequest(v, path).header("Upload-Offset")).isEqualTo("0");
    }

    // ------------------------------------------------------------------------------------------ version 8, admission

    @Test
    void interop8CompletesOnlyWhenTheClientSaysSo() throws Exception {
        byte[] data = HeldUpload.bytes(2000, 80);
        Answer created = create(8, data.length, false, data);
        RawResponse r = created.last();
        assertThat(r.status()).isEqualTo(201);
        assertThat(r.header("Upload-Offset")).isEqualTo("2000");
        assertThat(r.header("Upload-Complete")).isEqualTo("?0");
        String path = URI.create(r.header("Location")).getPath();
        RawResponse head = headRequest(8, path);
        assertThat(head.header("Upload-Complete")).isEqualTo("?0");
        assertThat(head.header("Upload-Offset")).isEqualTo(head.header("Upload-Length"));
        assertThat(server.get("/api/v1/uploads/" + idOf(path)).statusCode()).isEqualTo(404);

        RawResponse done = patch(8, path, data.length, true, new byte[0]);
        assertThat(done.status()).as(done.body()).isEqualTo(204);
        assertThat(done.header("Upload-Complete")).isEqualTo("?1");
        assertThat(done.header("Sluice-Upload-Id")).isEqualTo(idOf(path));
        assertRecord(idOf(path), data, "upload");
    }

    @Test
    void interop8CreationTakesTheFileNameFromContentDisposition() throws Exception {
        byte[] data = HeldUpload.bytes(500, 90);
        Answer created = send(head("POST", "/files/", 8, data.length, "Upload-Complete: ?1",
                "Content-Disposition: inline; filename=\"resume.bin\"; filename*=UTF-8''r%C3%A9sum%C3%A9.bin"), data);
        assertThat(created.last().status()).as(created.last().body()).isEqualTo(201);
        assertRecord(created.last().header("Sluice-Upload-Id"), data, "résumé.bin");
    }

    @Test
    void interop8LengthFromContentLengthWhenTheCreationCompletes() throws Exception {
        // No Upload-Length: Upload-Complete ?1 with Content-Length states it.
        byte[] data = HeldUpload.bytes(700, 91);
        Answer created = send(head("POST", "/files/", 8, data.length, "Upload-Complete: ?1"), data);
        assertThat(created.interim()).extracting(RawResponse::status).containsExactly(104);
        assertThat(created.last().header("Upload-Length")).isEqualTo("700");
        assertRecord(created.last().header("Sluice-Upload-Id"), data, "upload");
    }

    @Test
    void admissionRefusesACreationBeforeAnythingIsCreated(@TempDir Path otherDir) throws Exception {
        try (TestServer small = TestServer.start(otherDir, "admission.maxConcurrentUploads", "1")) {
            byte[] big = HeldUpload.bytes(64 * 1024, 92);
            try (HeldUpload held = HeldUpload.start(small.port(), null, "held.bin", big, 1000)) {
                Await.until(Duration.ofSeconds(10), "the held upload admitted",
                        () -> small.app().admission().activeUploads() == 1);
                try (RawHttp raw = new RawHttp(small.port(), 10_000)) {
                    raw.send(head("POST", "/files/", 8, 10, "Upload-Complete: ?1"));
                    raw.send(new byte[10]);
                    Answer a = readAnswer(raw);
                    assertThat(a.interim()).isEmpty();
                    assertThat(a.last().status()).isIn(429, 503);
                    assertThat(a.last().header("Retry-After")).isNotNull();
                }
                assertThat(held.finish().status()).isEqualTo(201);
            }
            small.assertNothingLeftBehind();
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** The interim responses (1xx) and the final response of one request. */
    record Answer(List<RawResponse> interim, RawResponse last) {
    }

    /** One request on its own connection. */
    static Answer send(String head, byte[] body) throws IOException {
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(head);
            if (body != null && body.length > 0) {
                raw.send(body);
            }
            return readAnswer(raw);
        }
    }

    static Answer readAnswer(RawHttp raw) throws IOException {
        List<RawResponse> interim = new ArrayList<>();
        while (true) {
            RawResponse r = raw.readResponse();
            if (r.status() >= 200) {
                return new Answer(interim, r);
            }
            interim.add(r);
        }
    }

    static RawResponse finalResponse(RawHttp raw) throws IOException {
        return readAnswer(raw).last();
    }

    /** A request head; {@code contentLength} -1 sends none, {@code version} 0 no interop header. */
    static String head(String method, String path, int version, long contentLength, String... headers) {
        StringBuilder sb = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.port()
                + "\r\n");
        if (version > 0) {
            sb.append("Upload-Draft-Interop-Version: ").append(version).append("\r\n");
        }
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        if (contentLength >= 0) {
            sb.append("Content-Length: ").append(contentLength).append("\r\n");
        }
        return sb.append("Connection: close\r\n\r\n").toString();
    }

    /** Creation as tus-js-client sends it: Upload-Length, Upload-Complete, the body if any. */
    static Answer create(int v, long length, boolean complete, byte[] body) throws IOException {
        List<String> headers = new ArrayList<>(List.of("Upload-Complete: " + (complete ? "?1" : "?0"),
                "Upload-Length: " + length));
        if (v >= 6 && body != null) {
            headers.add("Content-Type: " + PARTIAL_UPLOAD);
        }
        return send(head("POST", "/files/", v, body == null ? -1 : body.length, headers.toArray(String[]::new)),
                body);
    }

    /** Creates an upload of {@code length} bytes with {@code first} in it (or nothing) and returns its path. */
    static String createdPath(int v, long length, byte[] first) throws IOException {
        Answer a = create(v, length, false, first);
        assertThat(a.last().status()).as(a.last().body()).isEqualTo(201);
        return URI.create(a.last().header("Location")).getPath();
    }

    static String[] appendHeaders(int v, long offset, boolean complete, String... extra) {
        List<String> headers = new ArrayList<>(List.of("Upload-Offset: " + offset,
                "Upload-Complete: " + (complete ? "?1" : "?0")));
        if (v >= 6) {
            headers.add("Content-Type: " + PARTIAL_UPLOAD);
        }
        headers.addAll(List.of(extra));
        return headers.toArray(String[]::new);
    }

    static RawResponse patch(int v, String path, long offset, boolean complete, byte[] body, String... extra)
            throws IOException {
        return send(head("PATCH", path, v, body.length, appendHeaders(v, offset, complete, extra)), body).last();
    }

    static RawResponse headRequest(int v, String path) throws IOException {
        return send(head("HEAD", path, v, -1), null).last();
    }

    static void assertLimits(int v, RawResponse r) {
        if (v == 8) {
            assertThat(r.header("Upload-Limit")).matches("max-size=" + MAX + ", max-age=\\d+");
        } else if (v == 6) {
            assertThat(r.header("Upload-Limit")).matches("max-size=" + MAX + ", expires=\\d+");
        } else {
            assertThat(r.header("Upload-Limit")).isNull();
        }
    }

    /** Version 8: the RFC 9457 problem type; 5 and 6: the JSON error {@code code}. */
    static void assertInconsistent(int v, RawResponse r, String code) {
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        if (v == 8) {
            assertThat(r.header("Content-Type")).isEqualTo("application/problem+json");
            assertThat(Json.parse(r.body()).path("type").asText()).isEqualTo(INCONSISTENT_LENGTH);
        } else {
            assertThat(Json.errorCode(r.body())).isEqualTo(code);
        }
    }

    /** The finished upload's record: size, sha256 and name. */
    static void assertRecord(String id, byte[] data, String filename) throws Exception {
        HttpResponse<String> r = server.get("/api/v1/uploads/" + id);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode record = Json.parse(r.body());
        assertThat(record.path("size").asLong()).isEqualTo(data.length);
        assertThat(record.path("sha256").asText()).isEqualTo(HeldUpload.sha256(data));
        assertThat(record.path("filename").asText()).isEqualTo(filename);
    }

    static String idOf(String location) {
        return location.substring(location.lastIndexOf('/') + 1);
    }

    static String b64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
