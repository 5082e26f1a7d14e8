package io.sluice.upload;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.GeneratedBody;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.RawHttp;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import io.sluice.upload.TypeDetectorTest.Samples;
import io.sluice.upload.UploadTestSupport.RawMultipart;
import io.sluice.upload.UploadTestSupport.RawResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static io.sluice.upload.UploadTestSupport.UPLOADS;
import static io.sluice.upload.UploadTestSupport.await;
import static io.sluice.upload.UploadTestSupport.chunked;
import static io.sluice.upload.UploadTestSupport.post;
import static io.sluice.upload.UploadTestSupport.postHead;
import static io.sluice.upload.UploadTestSupport.putHead;
import static io.sluice.upload.UploadTestSupport.raw;
import static io.sluice.upload.UploadTestSupport.text;
import static io.sluice.upload.UploadTestSupport.textOfSize;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every bad input gets its status and JSON error code and leaves nothing behind: no staged file, no slot, no
 * client share, no pooled buffer, no blob, no record. Multi-file requests are all-or-nothing.
 *
 * <p>The shared server has small limits so that limits are crossed with small bodies, and a 16 KiB buffer so that
 * files span several flushes to the staged file before a request fails.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UploadBadInputTest {

    static final int MAX_FILE = 64 * 1024;
    static final int MAX_REQUEST = 160 * 1024;
    static final int MAX_FILES = 3;

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "64KiB",
            "limits.maxRequestSize", "160KiB", "limits.maxFilesPerRequest", String.valueOf(MAX_FILES),
            "limits.allowedTypes", "image/*,text/*", "admission.bufferSize", "16KiB");

    /** A failed assertion in one test must not make the next ones fail for a reason that is not theirs. */
    @AfterEach
    void noUploadSurvived() throws Exception {
        assertNoTrace(server.server());
    }

    // ---------------------------------------------------------------- size limits

    @Test
    void contentLengthOverMaxFileSizeIsRefusedBeforeTheBodyIsSent() throws Exception {
        // Only the head is sent: the answer must come without the server waiting for a single body byte.
        RawResponse r = raw(server.server(), putHead("big.txt", "Content-Length: " + 10 * 1024 * 1024), null);
        assertRefused(r, 413, "file_too_large");
        assertThat(Json.parse(r.bodyUtf8()).path("error").path("limit").asLong()).isEqualTo(MAX_FILE);
    }

    @Test
    void chunkedPutIsCutWhenItCrossesMaxFileSize() throws Exception {
        RawResponse r = raw(server.server(), putHead("big.txt", "Transfer-Encoding: chunked"),
                chunked(textOfSize(MAX_FILE + 16 * 1024, 1), 8 * 1024));
        assertRefused(r, 413, "file_too_large");
    }

    @Test
    void aFileOverMaxFileSizeInsideMultipartIsRefused() throws Exception {
        Multipart body = new Multipart().file("f", "big.txt", textOfSize(MAX_FILE + 1, 2));
        assertRefused(post(server.server(), body), 413, "file_too_large");
    }

    @Test
    void multipartWithContentLengthOverMaxRequestSizeIsRefusedBeforeTheBodyIsSent() throws Exception {
        RawResponse r = raw(server.server(), postHead(new Multipart().contentType(),
                "Content-Length: " + (MAX_REQUEST + 1)),
                null);
        assertRefused(r, 413, "request_too_large");
    }

    @Test
    void chunkedMultipartIsCutWhenItCrossesMaxRequestSize() throws Exception {
        // Three files, each under the file limit, together over the request limit: the first two are staged
        // completely before the cut and must go too.
        Multipart body = new Multipart()
                .file("f", "one.txt", textOfSize(60 * 1024, 3))
                .file("f", "two.txt", textOfSize(60 * 1024, 4))
                .file("f", "three.txt", textOfSize(60 * 1024, 5));
        RawResponse r = raw(server.server(), postHead(body.contentType(), "Transfer-Encoding: chunked"),
                chunked(body.build(), 8 * 1024));
        assertRefused(r, 413, "request_too_large");
    }

    @Test
    void tooManyFilesIsRefusedAndTheFirstOnesAreDiscarded() throws Exception {
        Multipart body = new Multipart();
        for (int i = 0; i <= MAX_FILES; i++) {
            body.file("f", "f" + i + ".txt", textOfSize(20 * 1024, 10 + i));
        }
        HttpResponse<String> r = post(server.server(), body);
        assertRefused(r, 413, "too_many_files");
        assertThat(Json.parse(r.body()).path("error").path("limit").asInt()).isEqualTo(MAX_FILES);
    }

    // ---------------------------------------------------------------- types

    @Test
    void aTypeOutsideAllowedTypesIsRefused() throws Exception {
        HttpResponse<String> r = server.put(UPLOADS + "/doc.pdf", Samples.pdf());
        assertRefused(r, 415, "type_not_allowed");
        assertThat(Json.parse(r.body()).path("error").path("detectedType").asText()).isEqualTo("application/pdf");

        assertRefused(post(server.server(), new Multipart().file("f", "doc.pdf", Samples.pdf())), 415,
                "type_not_allowed");
    }

    @Test
    void anExtensionThatContradictsTheBytesIsRefused() throws Exception {
        byte[] script = text("#!/bin/sh\necho pwned\n");
        assertRefused(server.put(UPLOADS + "/stock.xlsx", script), 415, "type_mismatch");
        assertRefused(post(server.server(), new Multipart().file("f", "stock.xlsx", script)), 415, "type_mismatch");
        assertRefused(server.put(UPLOADS + "/photo.jpg", Samples.png()), 415, "type_mismatch");
    }

    @Test
    void aBadThirdFileDiscardsTheTwoGoodOnesBeforeIt() throws Exception {
        Multipart body = new Multipart()
                .field("note", "all or nothing")
                .file("f", "good.txt", textOfSize(60 * 1024, 6)) // several 16 KiB flushes
                .file("f", "good.png", Samples.png())
                .file("f", "evil.xlsx", text("#!/bin/sh\nrm -rf /\n"));
        assertRefused(post(server.server(), body), 415, "type_mismatch");
    }

    // ---------------------------------------------------------------- request shape

    @Test
    void postWithoutMultipartIsRefused() throws Exception {
        assertRefused(post(server.server(), "application/json", text("{\"file\":\"x\"}")), 415,
                "unsupported_content_type");
        assertRefused(post(server.server(), "text/plain", text("hello\n")), 415, "unsupported_content_type");
        assertRefused(post(server.server(), "application/x-www-form-urlencoded", text("a=b")), 415,
                "unsupported_content_type");
        assertRefused(post(server.server(), null, text("hello\n")), 415, "unsupported_content_type");
        // Types Jetty has no constant for.
        byte[] multipart = new Multipart("B").file("f", "a.txt", text("a\n")).build();
        assertRefused(post(server.server(), "multipart/mixed; boundary=B", multipart), 415, "unsupported_content_type");
        assertRefused(post(server.server(), "multipart/related; boundary=B", multipart), 415,
                "unsupported_content_type");
        assertRefused(post(server.server(), "application/x-sluice-unknown", text("x")), 415,
                "unsupported_content_type");
        assertRefused(post(server.server(), "garbage", text("x")), 415, "unsupported_content_type");
    }

    @Test
    void multipartWithoutABoundaryIsMalformed() throws Exception {
        byte[] body = new Multipart().file("f", "a.txt", text("a\n")).build();
        assertRefused(post(server.server(), "multipart/form-data", body), 400, "malformed_multipart");
        assertRefused(post(server.server(), "multipart/form-data; boundary=", body), 400, "malformed_multipart");
        assertRefused(post(server.server(), "multipart/form-data; boundary=" + "x".repeat(71), body), 400,
                "malformed_multipart");
    }

    @Test
    void multipartWithTheWrongBoundaryIsMalformed() throws Exception {
        byte[] body = new Multipart("theRealBoundary").file("f", "a.txt", text("a\n")).build();
        assertRefused(post(server.server(), "multipart/form-data; boundary=anotherBoundary", body), 400,
                "malformed_multipart");
    }

    @Test
    void multipartTruncatedBeforeItsClosingBoundaryIsMalformed() throws Exception {
        Multipart one = new Multipart().file("f", "a.txt", text("a\n"));
        assertRefused(post(server.server(), one.contentType(), one.buildUnterminated()), 400, "malformed_multipart");

        // Two complete files, the body then ends (Content-Length honoured) in the middle of the third.
        Multipart three = new Multipart()
                .file("f", "one.txt", textOfSize(40 * 1024, 7))
                .file("f", "two.txt", textOfSize(40 * 1024, 8))
                .file("f", "three.txt", textOfSize(40 * 1024, 9));
        byte[] full = three.buildUnterminated();
        byte[] cut = Arrays.copyOf(full, full.length - 20 * 1024);
        assertRefused(post(server.server(), three.contentType(), cut), 400, "malformed_multipart");
    }

    @Test
    void multipartPartsBeyondTheFormLimitsAreRefused() throws Exception {
        Multipart manyFields = new Multipart().file("f", "a.txt", text("a\n"));
        for (int i = 0; i <= MultipartReceiver.MAX_FIELDS; i++) {
            manyFields.field("k" + i, "v");
        }
        assertRefused(post(server.server(), manyFields), 413, "too_many_fields");

        assertRefused(post(server.server(), new Multipart()
                .file("f", "a.txt", textOfSize(30 * 1024, 16))
                .field("long", "v".repeat(MultipartReceiver.MAX_FIELD_BYTES + 1))), 413, "field_too_large");

        RawMultipart hugeHeaders = new RawMultipart("hB").part("Content-Disposition: form-data; name=\"f\"; "
                + "filename=\"a.txt\"\r\nX-Pad: " + "p".repeat(io.sluice.api.StrictPartsListener.MAX_PART_HEADERS_BYTES), text("a\n"));
        assertRefused(post(server.server(), hugeHeaders.contentType(), hugeHeaders.build()), 400,
                "malformed_multipart");

        RawMultipart unnamed = new RawMultipart("uB")
                .file("name=\"f\"; filename=\"a.txt\"", text("a\n"))
                .part("Content-Type: text/plain", text("no disposition"));
        assertRefused(post(server.server(), unnamed.contentType(), unnamed.build()), 400, "malformed_multipart");
    }

    @Test
    void aFilePartWithoutANameIsRefused() throws Exception {
        RawMultipart nameless = new RawMultipart("nnB").file("filename=\"a.txt\"", text("a\n"));
        assertRefused(post(server.server(), nameless.contentType(), nameless.build()), 400, "malformed_multipart");
        RawMultipart emptyName = new RawMultipart("enB").file("name=\"\"; filename=\"a.txt\"", text("a\n"));
        assertRefused(post(server.server(), emptyName.contentType(), emptyName.build()), 400, "malformed_multipart");
        // After a good file: the good one goes too.
        RawMultipart second = new RawMultipart("snB")
                .file("name=\"f\"; filename=\"good.txt\"", textOfSize(30 * 1024, 13))
                .file("filename=\"b.txt\"", text("b\n"));
        assertRefused(post(server.server(), second.contentType(), second.build()), 400, "malformed_multipart");
    }

    @Test
    void multipartWithoutFilesIsRefused() throws Exception {
        assertRefused(post(server.server(), new Multipart().field("only", "a field")), 400, "no_files");
        // A browser form whose file input was left empty sends filename="" and no bytes: still no file.
        assertRefused(post(server.server(), new Multipart().file("f", "", new byte[0]).field("x", "y")), 400,
                "no_files");
        Multipart nothing = new Multipart();
        assertRefused(post(server.server(), nothing.contentType(), nothing.build()), 400, "no_files");
    }

    @Test
    void anEmptyFileIsRefused() throws Exception {
        assertRefused(post(server.server(), new Multipart().file("f", "empty.txt", new byte[0])), 400, "empty_file");
        assertRefused(server.put(UPLOADS + "/empty.txt", new byte[0]), 400, "empty_file");
        assertRefused(raw(server.server(), putHead("empty.txt", "Transfer-Encoding: chunked"), chunked(new byte[0], 1)),
                400, "empty_file");
        // After a good file: the good one goes too.
        assertRefused(post(server.server(), new Multipart()
                .file("f", "good.txt", textOfSize(30 * 1024, 11))
                .file("f", "empty.txt", new byte[0])), 400, "empty_file");
    }

    // ---------------------------------------------------------------- filenames

    @Test
    void aNewlineInTheFilenameIsRefused() throws Exception {
        // A quoted filename cannot carry a raw LF (it ends the header line); RFC 5987's filename* can.
        RawMultipart body = new RawMultipart("nlBoundary")
                .file("name=\"f\"; filename*=UTF-8''invoice%0A.txt", text("x\n"));
        assertRefused(post(server.server(), body.contentType(), body.build()), 400, "invalid_filename");
    }

    @Test
    void aBidiOverrideInTheFilenameIsRefused() throws Exception {
        assertRefused(post(server.server(), new Multipart().file("f", "invoice\u202Etxt.exe", text("x\n"))), 400,
                "invalid_filename");
        assertRefused(server.put(UPLOADS + "/invoice%E2%80%AEtxt.exe", text("x\n")), 400, "invalid_filename");
    }

    @Test
    void anEmptyFilenameWithContentIsRefused() throws Exception {
        assertRefused(post(server.server(), new Multipart().file("f", "", text("has bytes\n"))), 400,
                "invalid_filename");
        assertRefused(post(server.server(), new Multipart().file("f", "   ", text("has bytes\n"))), 400,
                "invalid_filename");
        assertRefused(post(server.server(), new Multipart().file("f", "...", text("has bytes\n"))), 400,
                "invalid_filename");
        assertRefused(post(server.server(), new Multipart().file("f", "dir/", text("has bytes\n"))), 400,
                "invalid_filename");
    }

    @Test
    void aBadFilenameOnTheSecondFileDiscardsTheFirst() throws Exception {
        assertRefused(post(server.server(), new Multipart()
                .file("f", "fine.txt", textOfSize(40 * 1024, 12))
                .file("f", "bad\u202E.txt", text("x\n"))), 400, "invalid_filename");
    }

    @Test
    void aBlankRawPutFilenameIsRefused() throws Exception {
        assertRefused(server.put(UPLOADS + "/%20%20", text("x\n")), 400, "invalid_filename");
    }

    @Test
    void aNewlineInARawPutFilenameIsRefused() throws Exception {
        assertRefused(server.put(UPLOADS + "/invoice%0A.txt", text("x\n")), 400, "invalid_filename");
    }

    @Test
    void aPathInTheFilenameIsReducedToItsLastPart(@TempDir Path root) throws Exception {
        Path ownData = root.resolve("data");
        try (TestServer s = TestServer.start(ownData)) {
            byte[] content = text("root:x:0:0:not really\n");
            HttpResponse<String> r = post(s, new Multipart().file("f", "../../etc/passwd", content));
            JsonNode u = UploadTestSupport.created(r).get(0);
            assertThat(u.path("filename").asText()).isEqualTo("passwd");
            assertThat(UploadTestSupport.getBytes(s, UPLOADS + "/" + u.path("id").asText() + "/content").body())
                    .isEqualTo(content);

            // Nothing named after the client's path exists anywhere, inside or around the data directory.
            try (Stream<Path> all = Files.walk(root)) {
                assertThat(all.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
                        .doesNotContain("passwd")
                        .isNotEmpty();
            }
            try (Stream<Path> blobs = Files.walk(ownData.resolve("blobs"))) {
                assertThat(blobs.filter(Files::isRegularFile).toList()).singleElement()
                        .satisfies(p -> assertThat(p.getFileName().toString()).isEqualTo(u.path("id").asText()));
            }
            s.assertNothingLeftBehind();
        }
    }

    // ---------------------------------------------------------------- transport

    @Test
    void anOversizedHeaderIs431InJson() throws Exception {
        byte[] body = new Multipart().file("f", "a.txt", text("a\n")).build();
        String head = "POST " + UPLOADS + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "X-Filler: " + "f".repeat(64 * 1024) + "\r\n"
                + "Content-Type: " + new Multipart().contentType() + "\r\nContent-Length: " + body.length + "\r\n\r\n";
        // The server answers as soon as the header block passes its limit and closes; when the rest of our header
        // is still unread, its close can reset the connection before we have read the answer (a transport race,
        // not a server fault). Such an attempt is repeated; an answer, when one arrives, must be the 431.
        RawResponse r = null;
        for (int attempt = 0; attempt < 5 && r == null; attempt++) {
            try {
                r = raw(server.server(), head, body);
            } catch (java.net.SocketException e) {
                // reset or broken pipe before the answer could be read: try again
            }
        }
        assertThat(r).as("a 431 answer in 5 attempts").isNotNull();
        assertRefused(r, 431, "header_too_large");
    }

    @Test
    void aClientThatDisconnectsMidBodyLeavesNothing() throws Exception {
        try (RawHttp http = new RawHttp(server.port(), 5000)) {
            http.send(putHead("half.txt", "Content-Length: " + 60 * 1024));
            http.send(textOfSize(30 * 1024, 13));
            // The upload is under way on the server: admitted and staged.
            await("the upload to be staged", () -> server.app().store().stagedCount() == 1);
        }
        // No one is left to answer; the server must clean up on its own.
        server.assertNothingLeftBehind();
        assertNoTrace(server.server());
    }

    @Test
    void aClientThatDisconnectsMidMultipartLeavesNothing() throws Exception {
        Multipart body = new Multipart()
                .file("f", "one.txt", textOfSize(40 * 1024, 14))
                .file("f", "two.txt", textOfSize(40 * 1024, 15));
        byte[] full = body.build();
        try (RawHttp http = new RawHttp(server.port(), 5000)) {
            http.send(postHead(body.contentType(), "Content-Length: " + full.length));
            http.send(Arrays.copyOf(full, full.length - 20 * 1024));
            await("both files to be staged", () -> server.app().store().stagedCount() == 2);
        }
        server.assertNothingLeftBehind();
        assertNoTrace(server.server());
    }

    @Test
    void aSenderBelowTheMinimumDataRateIsCut(@TempDir Path own) throws Exception {
        try (TestServer s = TestServer.start(own, "server.minRequestDataRate", "10KiB")) {
            assertSlowSenderIsCut(s);
        }
    }

    @Test
    void theDataRateIsMeasuredPerRequestNotAcrossTheServer(@TempDir Path own) throws Exception {
        // Jetty's own MinimumDataRateHandler divides the server-wide byte count by one request's time: after a
        // fast 32 MiB upload a trickling sender would look fast for minutes (and past ~9.2 GB it overflows).
        try (TestServer s = TestServer.start(own, "server.minRequestDataRate", "10KiB")) {
            GeneratedBody fast = new GeneratedBody(32L << 20, 7);
            HttpResponse<String> r = s.send(HttpRequest.newBuilder(s.uri(UPLOADS + "/fast.bin"))
                    .PUT(HttpRequest.BodyPublishers.fromPublisher(
                            HttpRequest.BodyPublishers.ofInputStream(() -> fast), 32L << 20)).build());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            String id = Json.parse(r.body()).path("uploads").get(0).path("id").asText();
            assertThat(s.send(HttpRequest.newBuilder(s.uri(UPLOADS + "/" + id)).DELETE().build()).statusCode())
                    .isEqualTo(204);
            assertSlowSenderIsCut(s);
        }
    }

    private void assertSlowSenderIsCut(TestServer s) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        try (RawHttp http = new RawHttp(s.port(), 15_000)) {
            http.send(putHead("slow.txt", "Content-Length: 100000"));
            http.send(text("first bytes\n"));
            Thread trickle = Thread.ofVirtual().start(() -> {
                try {
                    while (!stop.get()) {
                        Thread.sleep(200);
                        http.send(new byte[]{'x'});
                    }
                } catch (IOException | InterruptedException e) {
                    // the server cut us off: expected
                }
            });
            String answer = http.readAll();
            stop.set(true);
            trickle.join(5_000);
            if (!answer.isEmpty()) {
                // Either a 408 in JSON, or (acceptable) a cut connection with no answer at all.
                RawResponse r = RawResponse.parse(answer);
                assertThat(r).as(answer).isNotNull();
                assertThat(r.status()).as(answer).isEqualTo(408);
                assertThat(Json.errorCode(r.bodyUtf8())).isEqualTo("request_timeout");
                assertThat(r.headers()).containsKey("x-request-id");
            } else {
                assertThat(http.closedByServer()).as("connection cut").isTrue();
            }
        }
        s.assertNothingLeftBehind();
        assertNoTrace(s);
    }

    @Test
    void aSenderThatStallsIsCutByTheIdleTimeout(@TempDir Path own) throws Exception {
        // Jetty's data-rate check runs only when more bytes are awaited after some arrived; a sender that goes
        // silent is the idle timeout's job.
        try (TestServer s = TestServer.start(own, "server.idleTimeout", "1s")) {
            try (RawHttp http = new RawHttp(s.port(), 15_000)) {
                http.send(putHead("stalled.txt", "Content-Length: 100000"));
                http.send(textOfSize(1000, 17));
                await("the upload to be staged", () -> s.app().store().stagedCount() == 1);
                String answer = http.readAll();
                if (!answer.isEmpty()) {
                    RawResponse r = RawResponse.parse(answer);
                    assertThat(r).as(answer).isNotNull();
                    assertThat(r.status()).as(answer).isEqualTo(408);
                    assertThat(Json.errorCode(r.bodyUtf8())).isEqualTo("request_timeout");
                }
            }
            s.assertNothingLeftBehind();
            assertNoTrace(s);
        }
    }

    @Test
    void limitsAreInclusive() throws Exception {
        // Exactly at each limit is accepted (and then deleted, so the class's no-trace checks still hold).
        HttpResponse<String> atFileLimit = server.put(UPLOADS + "/exact.txt", textOfSize(MAX_FILE, 18));
        JsonNode one = UploadTestSupport.created(atFileLimit);
        assertThat(one.get(0).path("size").asLong()).isEqualTo(MAX_FILE);

        Multipart atFilesLimit = new Multipart();
        for (int i = 0; i < MAX_FILES; i++) {
            atFilesLimit.file("f", "f" + i + ".txt", textOfSize(100, 19 + i));
        }
        JsonNode three = UploadTestSupport.created(post(server.server(), atFilesLimit));
        assertThat(three).hasSize(MAX_FILES);

        for (JsonNode u : List.of(one.get(0), three.get(0), three.get(1), three.get(2))) {
            HttpResponse<String> del = server.send(HttpRequest.newBuilder(
                    server.uri(UPLOADS + "/" + u.path("id").asText())).DELETE().build());
            assertThat(del.statusCode()).isEqualTo(204);
        }
        server.assertNothingLeftBehind();
    }

    // ---------------------------------------------------------------- helpers

    private static void assertRefused(HttpResponse<String> r, int status, String code) throws Exception {
        assertRefused(status, code, r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(null),
                r.headers().firstValue("X-Request-Id").orElse(null));
    }

    private static void assertRefused(RawResponse r, int status, String code) throws Exception {
        assertRefused(status, code, r.status(), r.bodyUtf8(), r.headers().get("content-type"),
                r.headers().get("x-request-id"));
    }

    private static void assertRefused(int status, String code, int actualStatus, String body, String contentType,
                                      String requestId) throws Exception {
        assertThat(actualStatus).as("status; body %s", body).isEqualTo(status);
        assertThat(contentType).as("content type").startsWith("application/json");
        assertThat(Json.errorCode(body)).as("error code in %s", body).isEqualTo(code);
        JsonNode error = Json.parse(body).path("error");
        assertThat(error.path("message").asText()).as("message").isNotBlank();
        assertThat(requestId).as("X-Request-Id").isNotBlank();
        assertThat(error.path("requestId").asText()).as("requestId in the body").isEqualTo(requestId);
        server.assertNothingLeftBehind();
        assertNoTrace(server.server());
    }

    /** No committed blob and no upload record. */
    private static void assertNoTrace(TestServer s) throws Exception {
        assertThat(s.blobFiles()).as("blobs on disk").isZero();
        HttpResponse<String> list = s.get(UPLOADS);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(Json.parse(list.body()).path("uploads")).as("upload records").isEmpty();
    }
}
