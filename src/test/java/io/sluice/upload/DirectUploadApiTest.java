package io.sluice.upload;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.SluiceServerExtension;
import io.sluice.testing.TestServer;
import io.sluice.upload.TypeDetectorTest.Samples;
import io.sluice.testing.GeneratedBody;
import io.sluice.upload.UploadTestSupport.RawResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.sluice.upload.UploadTestSupport.UPLOADS;
import static io.sluice.upload.UploadTestSupport.created;
import static io.sluice.upload.UploadTestSupport.getBytes;
import static io.sluice.upload.UploadTestSupport.post;
import static io.sluice.upload.UploadTestSupport.sha256;
import static io.sluice.upload.UploadTestSupport.text;
import static io.sluice.upload.UploadTestSupport.textOfSize;
import static org.assertj.core.api.Assertions.assertThat;

/** Happy paths of the direct upload API against a real server with the default configuration. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DirectUploadApiTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with();

    // ---------------------------------------------------------------- multipart

    @Test
    void boundaryParameterNameIsCaseInsensitive() throws Exception {
        byte[] content = text("upper-case boundary\n");
        Multipart body = new Multipart("UpperBoundary42").file("file", "upper.txt", content);
        HttpResponse<String> r = post(server.server(), "multipart/form-data; BOUNDARY=\"UpperBoundary42\"",
                body.build());
        assertUpload(created(r).get(0), "upper.txt", content, "text/plain");
        server.assertNothingLeftBehind();
    }

    @Test
    void multipartWithOneFile() throws Exception {
        byte[] content = text("hello, sluice\n");
        HttpResponse<String> r = post(server.server(), new Multipart().file("file", "hello.txt", content));

        JsonNode uploads = created(r);
        assertThat(uploads).hasSize(1);
        JsonNode u = uploads.get(0);
        assertUpload(u, "hello.txt", content, "text/plain");
        assertThat(u.has("metadata")).as("no metadata without fields").isFalse();
        assertThat(r.headers().firstValue("X-Request-Id")).isPresent();

        HttpResponse<String> meta = server.get(UPLOADS + "/" + u.path("id").asText());
        assertThat(meta.statusCode()).isEqualTo(200);
        assertThat(Json.parse(meta.body())).isEqualTo(u);

        assertDownload(u.path("id").asText(), content, "text/plain");
        server.assertNothingLeftBehind();
    }

    @Test
    void multipartWithThreeFilesAndFields() throws Exception {
        byte[] notes = textOfSize(10_000, 1);
        byte[] png = Samples.png();
        byte[] blob = Samples.random(300_000, 2); // more than one pooled buffer
        Multipart body = new Multipart()
                .field("description", "quarterly stock — Q3")
                .file("files", "notes.txt", notes)
                .file("files", "photo.png", png)
                .field("owner", "ops")
                .file("files", "dump.bin", blob);

        JsonNode uploads = created(post(server.server(), body));

        assertThat(uploads).hasSize(3);
        assertUpload(uploads.get(0), "notes.txt", notes, "text/plain");
        assertUpload(uploads.get(1), "photo.png", png, "image/png");
        assertUpload(uploads.get(2), "dump.bin", blob, "application/octet-stream");
        for (JsonNode u : uploads) {
            assertThat(u.path("metadata").path("description").asText()).isEqualTo("quarterly stock — Q3");
            assertThat(u.path("metadata").path("owner").asText()).isEqualTo("ops");
            assertThat(u.path("metadata").size()).isEqualTo(2);
        }
        assertThat(uploads.get(0).path("id").asText()).isNotEqualTo(uploads.get(1).path("id").asText());

        assertDownload(uploads.get(0).path("id").asText(), notes, "text/plain");
        assertDownload(uploads.get(1).path("id").asText(), png, "image/png");
        assertDownload(uploads.get(2).path("id").asText(), blob, "application/octet-stream");
        // Metadata survives the database round trip.
        JsonNode stored = Json.parse(server.get(UPLOADS + "/" + uploads.get(2).path("id").asText()).body());
        assertThat(stored.path("metadata").path("owner").asText()).isEqualTo("ops");
        server.assertNothingLeftBehind();
    }

    @Test
    void multipartSanitisesTheFilenameItRecords() throws Exception {
        byte[] content = text("not really a password file\n");
        JsonNode u = created(post(server.server(), new Multipart().file("f", "C:\\Users\\me\\notes.txt",
                content))).get(0);
        assertThat(u.path("filename").asText()).isEqualTo("notes.txt");
    }

    // ---------------------------------------------------------------- raw PUT

    @Test
    void rawPutWithContentLength() throws Exception {
        byte[] csv = text("sku,name,qty\nA-1,Widget,4\nB-2,Gadget,10\n");
        HttpResponse<String> r = server.put(UPLOADS + "/stock.csv", csv);

        JsonNode uploads = created(r);
        assertThat(uploads).hasSize(1);
        assertUpload(uploads.get(0), "stock.csv", csv, "text/csv");
        assertDownload(uploads.get(0).path("id").asText(), csv, "text/csv");
        server.assertNothingLeftBehind();
    }

    @Test
    void rawPutChunked() throws Exception {
        byte[] content = textOfSize(700_000, 3);
        // ofInputStream has no known length, so the client sends Transfer-Encoding: chunked.
        HttpRequest req = HttpRequest.newBuilder(server.uri(UPLOADS + "/chunked.txt"))
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(content)))
                .build();
        JsonNode u = created(server.send(req)).get(0);

        assertUpload(u, "chunked.txt", content, "text/plain");
        assertDownload(u.path("id").asText(), content, "text/plain");
        server.assertNothingLeftBehind();
    }

    @Test
    void rawPutChunkedOnTheWire() throws Exception {
        byte[] content = textOfSize(50_000, 4);
        RawResponse r = UploadTestSupport.raw(server.server(),
                UploadTestSupport.putHead("wire.txt", "Transfer-Encoding: chunked"),
                UploadTestSupport.chunked(content, 777));

        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode u = Json.parse(r.bodyUtf8()).path("uploads").get(0);
        assertUpload(u, "wire.txt", content, "text/plain");
        server.assertNothingLeftBehind();
    }

    @Test
    void rawPutKeepsAUnicodeFilenameAndEncodesItForDownload() throws Exception {
        byte[] content = text("cv\n");
        JsonNode u = created(server.put(UPLOADS + "/r%C3%A9sum%C3%A9_2026.txt", content)).get(0);
        assertThat(u.path("filename").asText()).isEqualTo("résumé_2026.txt");

        HttpResponse<byte[]> d = getBytes(server.server(), UPLOADS + "/" + u.path("id").asText() + "/content");
        assertThat(d.headers().firstValue("Content-Disposition")).hasValue(
                "attachment; filename=\"r_sum__2026.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9_2026.txt");
    }

    @Test
    void multipartFilenameWithSpacesAndQuotesIsEncodedForDownload() throws Exception {
        byte[] content = text("cv\n");
        JsonNode u = created(post(server.server(), new Multipart().file("f", "my résumé 'final'.txt", content))).get(0);
        assertThat(u.path("filename").asText()).isEqualTo("my résumé 'final'.txt");

        HttpResponse<byte[]> d = getBytes(server.server(), UPLOADS + "/" + u.path("id").asText() + "/content");
        assertThat(d.headers().firstValue("Content-Disposition")).hasValue(
                "attachment; filename=\"my r_sum_ 'final'.txt\"; filename*=UTF-8''my%20r%C3%A9sum%C3%A9%20%27final%27.txt");
    }

    @Test
    void rawPutDecodesPercentEncodedSpaces() throws Exception {
        JsonNode u = created(server.put(UPLOADS + "/annual%20report.txt", text("x\n"))).get(0);
        assertThat(u.path("filename").asText()).isEqualTo("annual report.txt");
    }

    @Test
    void fiftyMebibytesStreamedWithoutHoldingThem() throws Exception {
        long size = 50L * 1024 * 1024;
        GeneratedBody source = new GeneratedBody(size, 42);
        HttpRequest req = HttpRequest.newBuilder(server.uri(UPLOADS + "/big.bin"))
                .timeout(Duration.ofSeconds(45))
                .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> source), size))
                .build();
        JsonNode u = created(server.send(req)).get(0);

        String sent = source.sha256Hex();
        assertThat(u.path("size").asLong()).isEqualTo(size);
        assertThat(u.path("sha256").asText()).isEqualTo(sent);
        assertThat(u.path("contentType").asText()).isEqualTo("application/octet-stream");

        HttpResponse<InputStream> d = server.client().send(
                HttpRequest.newBuilder(server.uri(UPLOADS + "/" + u.path("id").asText() + "/content")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(d.statusCode()).isEqualTo(200);
        assertThat(d.headers().firstValueAsLong("Content-Length")).hasValue(size);
        MessageDigest got = UploadTestSupport.digest();
        long n = 0;
        try (InputStream in = d.body()) {
            byte[] buf = new byte[64 * 1024];
            int r;
            while ((r = in.read(buf)) >= 0) {
                got.update(buf, 0, r);
                n += r;
            }
        }
        assertThat(n).isEqualTo(size);
        assertThat(HexFormat.of().formatHex(got.digest())).isEqualTo(sent);
        server.assertNothingLeftBehind();
    }

    // ---------------------------------------------------------------- download

    @Test
    void rangeRequests() throws Exception {
        byte[] content = textOfSize(1000, 5);
        String id = created(server.put(UPLOADS + "/ranged.txt", content)).get(0).path("id").asText();
        String path = UPLOADS + "/" + id + "/content";

        HttpResponse<byte[]> first = getBytes(server.server(), path, "Range", "bytes=0-99");
        assertThat(first.statusCode()).isEqualTo(206);
        assertThat(first.headers().firstValue("Content-Range")).hasValue("bytes 0-99/1000");
        assertThat(first.headers().firstValueAsLong("Content-Length")).hasValue(100);
        assertThat(first.body()).isEqualTo(Arrays.copyOfRange(content, 0, 100));

        HttpResponse<byte[]> middle = getBytes(server.server(), path, "Range", "bytes=500-509");
        assertThat(middle.statusCode()).isEqualTo(206);
        assertThat(middle.headers().firstValue("Content-Range")).hasValue("bytes 500-509/1000");
        assertThat(middle.body()).isEqualTo(Arrays.copyOfRange(content, 500, 510));

        HttpResponse<byte[]> suffix = getBytes(server.server(), path, "Range", "bytes=-10");
        assertThat(suffix.statusCode()).isEqualTo(206);
        assertThat(suffix.headers().firstValue("Content-Range")).hasValue("bytes 990-999/1000");
        assertThat(suffix.body()).isEqualTo(Arrays.copyOfRange(content, 990, 1000));

        HttpResponse<byte[]> open = getBytes(server.server(), path, "Range", "bytes=995-");
        assertThat(open.statusCode()).isEqualTo(206);
        assertThat(open.body()).isEqualTo(Arrays.copyOfRange(content, 995, 1000));

        HttpResponse<byte[]> beyondEnd = getBytes(server.server(), path, "Range", "bytes=900-5000");
        assertThat(beyondEnd.statusCode()).isEqualTo(206);
        assertThat(beyondEnd.headers().firstValue("Content-Range")).hasValue("bytes 900-999/1000");
        assertThat(beyondEnd.body()).isEqualTo(Arrays.copyOfRange(content, 900, 1000));

        HttpResponse<byte[]> several = getBytes(server.server(), path, "Range", "bytes=0-1,10-11");
        assertThat(several.statusCode()).as("several ranges: whole file").isEqualTo(200);
        assertThat(several.body()).isEqualTo(content);

        HttpResponse<byte[]> oneByte = getBytes(server.server(), path, "Range", "bytes=0-0");
        assertThat(oneByte.statusCode()).isEqualTo(206);
        assertThat(oneByte.body()).containsExactly(content[0]);

        // RFC 9110 14.2: a range unit the server does not understand MUST be ignored.
        HttpResponse<byte[]> otherUnit = getBytes(server.server(), path, "Range", "items=0-5");
        assertThat(otherUnit.statusCode()).isEqualTo(200);
        assertThat(otherUnit.body()).isEqualTo(content);

        // An invalid range set may be ignored (RFC 9110 14.2), and is: the whole file, not 416.
        for (String invalid : new String[]{"bytes=abc", "bytes=5-2", "bytes=", "bytes=,", "bytes=-", "bytes=1-2-3",
                "bytes=0-1,x", "bytes=0-1,5-2", "bytes=--5", "bytes=+1-2", "bytes= 1 - 2", "bytes 0-1", "bytes=0x10-"}) {
            HttpResponse<byte[]> ignored = getBytes(server.server(), path, "Range", invalid);
            assertThat(ignored.statusCode()).as(invalid).isEqualTo(200);
            assertThat(ignored.headers().firstValue("Content-Range")).as(invalid).isEmpty();
            assertThat(ignored.body()).as(invalid).isEqualTo(content);
        }
        // Valid but unsatisfiable, also with a first-pos too large for a long: 416.
        for (String outside : new String[]{"bytes=1000-1000", "bytes=-0", "bytes=99999999999999999999999-",
                "bytes=2000-,3000-3001"}) {
            HttpResponse<byte[]> refused = getBytes(server.server(), path, "Range", outside);
            assertThat(refused.statusCode()).as(outside).isEqualTo(416);
            assertThat(Json.errorCode(new String(refused.body()))).as(outside).isEqualTo("range_not_satisfiable");
        }

        HttpResponse<byte[]> pastTheEnd = getBytes(server.server(), path, "Range", "bytes=1000-");
        assertThat(pastTheEnd.statusCode()).isEqualTo(416);
        assertThat(Json.errorCode(new String(pastTheEnd.body()))).isEqualTo("range_not_satisfiable");

        HttpResponse<byte[]> unsatisfiable = getBytes(server.server(), path, "Range", "bytes=5000-6000");
        assertThat(unsatisfiable.statusCode()).isEqualTo(416);
        assertThat(unsatisfiable.headers().firstValue("Content-Range")).hasValue("bytes */1000");
        assertThat(Json.errorCode(new String(unsatisfiable.body()))).isEqualTo("range_not_satisfiable");
        assertThat(unsatisfiable.headers().firstValue("X-Request-Id")).isPresent();

        String etag = first.headers().firstValue("ETag").orElseThrow();
        HttpResponse<byte[]> ifRangeMatch = getBytes(server.server(), path, "Range", "bytes=0-9", "If-Range", etag);
        assertThat(ifRangeMatch.statusCode()).isEqualTo(206);
        HttpResponse<byte[]> ifRangeStale = getBytes(server.server(), path, "Range", "bytes=0-9", "If-Range",
                "\"stale\"");
        assertThat(ifRangeStale.statusCode()).isEqualTo(200);
        assertThat(ifRangeStale.body()).isEqualTo(content);
    }

    @Test
    void etagAndConditionalRequests() throws Exception {
        byte[] content = text("cache me\n");
        JsonNode u = created(server.put(UPLOADS + "/cached.txt", content)).get(0);
        String path = UPLOADS + "/" + u.path("id").asText() + "/content";
        String etag = "\"" + sha256(content) + "\"";

        HttpResponse<byte[]> full = getBytes(server.server(), path);
        assertThat(full.headers().firstValue("ETag")).hasValue(etag);
        assertThat(full.headers().firstValue("Accept-Ranges")).hasValue("bytes");

        for (String inm : List.of(etag, "W/" + etag, "\"other\", " + etag, "*")) {
            HttpResponse<byte[]> notModified = getBytes(server.server(), path, "If-None-Match", inm);
            assertThat(notModified.statusCode()).as("If-None-Match: %s", inm).isEqualTo(304);
            assertThat(notModified.body()).isEmpty();
            assertThat(notModified.headers().firstValue("ETag")).hasValue(etag);
            assertThat(notModified.headers().firstValue("X-Request-Id")).isPresent();
        }
        HttpResponse<byte[]> changed = getBytes(server.server(), path, "If-None-Match", "\"something-else\"");
        assertThat(changed.statusCode()).isEqualTo(200);
        assertThat(changed.body()).isEqualTo(content);
    }

    @Test
    void headGivesTheHeadersWithoutTheBody() throws Exception {
        byte[] content = textOfSize(4321, 6);
        JsonNode u = created(server.put(UPLOADS + "/head.txt", content)).get(0);
        HttpResponse<byte[]> head = server.client().send(HttpRequest.newBuilder(
                        server.uri(UPLOADS + "/" + u.path("id").asText() + "/content"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());

        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(4321);
        assertThat(head.headers().firstValue("ETag")).hasValue("\"" + sha256(content) + "\"");
        assertThat(head.headers().firstValue("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/plain"));
        assertThat(head.body()).isEmpty();
    }

    @Test
    void aCancelledDownloadIsNotLoggedAsAServerError() throws Exception {
        long size = 24L * 1024 * 1024; // far more than the socket buffers hold, so the server is mid-write
        GeneratedBody source = new GeneratedBody(size, 43);
        String id = created(server.send(HttpRequest.newBuilder(server.uri(UPLOADS + "/movie.bin"))
                .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> source), size))
                .build())).get(0).path("id").asText();

        ch.qos.logback.classic.Logger router = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger(io.sluice.http.Router.class);
        ch.qos.logback.classic.Logger access = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger("sluice.access");
        var routerLog = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        var accessLog = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        routerLog.start();
        accessLog.start();
        router.addAppender(routerLog);
        access.addAppender(accessLog);
        try {
            try (io.sluice.testing.RawHttp http = new io.sluice.testing.RawHttp(server.port(), 5000)) {
                http.send("GET " + UPLOADS + "/" + id + "/content HTTP/1.1\r\nHost: localhost\r\n"
                        + "X-Request-Id: cancelled-download\r\n\r\n");
                assertThat(http.socket().getInputStream().read(new byte[1024])).isPositive();
            }
            // The access line is written when the request is over, after anything the router logs for it.
            UploadTestSupport.await("the access log line", () -> {
                synchronized (accessLog) {
                    return accessLog.list.stream().anyMatch(e -> e.getFormattedMessage().startsWith("cancelled-download"));
                }
            });
            synchronized (routerLog) {
                assertThat(routerLog.list)
                        .filteredOn(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN))
                        .as("router warnings/errors for a client that went away")
                        .isEmpty();
            }
        } finally {
            router.detachAppender(routerLog);
            access.detachAppender(accessLog);
        }
        assertThat(server.get(UPLOADS + "/" + id).statusCode()).as("the server carries on").isEqualTo(200);
    }

    // ---------------------------------------------------------------- delete, 404, 405

    @Test
    void deleteRemovesRecordAndBytes() throws Exception {
        byte[] content = text("short-lived\n");
        String id = created(server.put(UPLOADS + "/gone.txt", content)).get(0).path("id").asText();
        long blobsBefore = server.blobFiles();

        HttpResponse<String> del = server.send(HttpRequest.newBuilder(server.uri(UPLOADS + "/" + id)).DELETE().build());
        assertThat(del.statusCode()).isEqualTo(204);
        assertThat(del.body()).isEmpty();
        assertThat(server.blobFiles()).isEqualTo(blobsBefore - 1);

        assertNotFound(server.get(UPLOADS + "/" + id));
        assertNotFound(server.get(UPLOADS + "/" + id + "/content"));
        assertNotFound(server.send(HttpRequest.newBuilder(server.uri(UPLOADS + "/" + id)).DELETE().build()));
        assertThat(UploadTestSupport.listAllIds(server.server())).doesNotContain(id);
    }

    @Test
    void unknownAndMalformedIdsAre404() throws Exception {
        String unknown = new IdGenerator(java.time.Clock.systemUTC()).next();
        for (String id : List.of(unknown, "nope", unknown.toLowerCase(), unknown.substring(1), unknown + "0",
                "ILOU" + unknown.substring(4))) {
            assertNotFound(server.get(UPLOADS + "/" + id));
            assertNotFound(server.get(UPLOADS + "/" + id + "/content"));
            assertNotFound(server.send(HttpRequest.newBuilder(server.uri(UPLOADS + "/" + id)).DELETE().build()));
        }
        assertNotFound(server.get("/api/v1/nothing-here"));
    }

    @Test
    void wrongMethodIs405WithAllow() throws Exception {
        HttpResponse<String> patch = server.send(HttpRequest.newBuilder(server.uri(UPLOADS))
                .method("PATCH", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(patch.statusCode()).isEqualTo(405);
        assertThat(patch.headers().firstValue("Allow")).hasValue("POST, GET");
        assertThat(Json.errorCode(patch.body())).isEqualTo("method_not_allowed");
        assertThat(patch.headers().firstValue("X-Request-Id")).isPresent();

        String id = new IdGenerator(java.time.Clock.systemUTC()).next();
        HttpResponse<String> deleteContent = server.send(HttpRequest.newBuilder(
                server.uri(UPLOADS + "/" + id + "/content")).DELETE().build());
        assertThat(deleteContent.statusCode()).isEqualTo(405);
        assertThat(deleteContent.headers().firstValue("Allow")).hasValue("GET, HEAD");

        HttpResponse<String> postOne = server.send(HttpRequest.newBuilder(server.uri(UPLOADS + "/" + id))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(postOne.statusCode()).isEqualTo(405);
        assertThat(postOne.headers().allValues("Allow")).singleElement().satisfies(allow ->
                assertThat(allow.split(", ")).containsExactlyInAnyOrder("PUT", "GET", "DELETE"));
    }

    @Test
    void aSaneClientRequestIdIsEchoed() throws Exception {
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri(UPLOADS + "/nope"))
                .header("X-Request-Id", "trace-123.abc").GET().build());
        assertThat(r.headers().firstValue("X-Request-Id")).hasValue("trace-123.abc");
        assertThat(Json.parse(r.body()).path("error").path("requestId").asText()).isEqualTo("trace-123.abc");
    }

    // ---------------------------------------------------------------- list

    @Test
    void listPagesNewestFirst(@TempDir Path ownDir) throws Exception {
        try (TestServer s = TestServer.start(ownDir)) {
            HttpResponse<String> empty = s.get(UPLOADS);
            assertThat(empty.statusCode()).isEqualTo(200);
            assertThat(Json.parse(empty.body()).path("uploads")).isEmpty();
            assertThat(Json.parse(empty.body()).has("nextCursor")).isTrue();
            assertThat(Json.parse(empty.body()).path("nextCursor").isNull()).isTrue();

            List<String> uploaded = new ArrayList<>();
            Instant last = Instant.EPOCH;
            for (int i = 0; i < 7; i++) {
                // Ids order by the millisecond an upload starts; start each in a later millisecond than the
                // previous one finished so "newest first" is well defined.
                Instant prev = last;
                UploadTestSupport.await("the clock to pass " + prev, () -> System.currentTimeMillis() > prev.toEpochMilli());
                JsonNode u = created(s.put(UPLOADS + "/file-" + i + ".txt", text("file " + i + "\n"))).get(0);
                uploaded.add(u.path("id").asText());
                last = Instant.parse(u.path("createdAt").asText());
            }
            List<String> newestFirst = new ArrayList<>(uploaded.reversed());

            List<String> seen = new ArrayList<>();
            List<Integer> sizes = new ArrayList<>();
            String cursor = null;
            for (int page = 0; page < 3; page++) {
                HttpResponse<String> r = s.get(UPLOADS + "?limit=3" + (cursor == null ? "" : "&cursor=" + cursor));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                JsonNode body = Json.parse(r.body());
                body.path("uploads").forEach(u -> seen.add(u.path("id").asText()));
                sizes.add(body.path("uploads").size());
                assertThat(body.has("nextCursor")).as("nextCursor is always present: %s", r.body()).isTrue();
                cursor = body.path("nextCursor").isNull() ? null : body.path("nextCursor").asText();
                if (page < 2) {
                    assertThat(cursor).as("page %d has a next page", page).isNotNull();
                }
            }
            assertThat(cursor).as("nextCursor on the last page").isNull();
            assertThat(sizes).containsExactly(3, 3, 1);
            assertThat(seen).containsExactlyElementsOf(newestFirst);

            JsonNode all = Json.parse(s.get(UPLOADS).body());
            assertThat(all.path("uploads")).hasSize(7);
            assertThat(all.path("nextCursor").isNull()).isTrue();
            assertThat(all.path("uploads").get(0).path("filename").asText()).isEqualTo("file-6.txt");

            JsonNode exact = Json.parse(s.get(UPLOADS + "?limit=7").body());
            assertThat(exact.path("uploads")).hasSize(7);
            assertThat(exact.path("nextCursor").isNull()).as("a full last page has no next page").isTrue();
        }
    }

    @Test
    void listRefusesBadLimitsAndCursors() throws Exception {
        for (String limit : List.of("0", "-1", "501", "abc", "", "1.5", "99999999999")) {
            HttpResponse<String> r = server.get(UPLOADS + "?limit=" + limit);
            assertThat(r.statusCode()).as("limit=%s", limit).isEqualTo(400);
            assertThat(Json.errorCode(r.body())).as("limit=%s", limit).isEqualTo("invalid_limit");
        }
        for (String cursor : List.of("xyz", "", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01arz3ndektsv4rrffq69g5fav")) {
            HttpResponse<String> r = server.get(UPLOADS + "?cursor=" + cursor);
            assertThat(r.statusCode()).as("cursor=%s", cursor).isEqualTo(400);
            assertThat(Json.errorCode(r.body())).as("cursor=%s", cursor).isEqualTo("invalid_cursor");
        }
        assertThat(server.get(UPLOADS + "?limit=1").statusCode()).isEqualTo(200);
        assertThat(server.get(UPLOADS + "?limit=500").statusCode()).isEqualTo(200);
    }

    // ---------------------------------------------------------------- helpers

    private static void assertUpload(JsonNode u, String filename, byte[] content, String contentType) {
        assertThat(IdGenerator.looksLikeId(u.path("id").asText())).as("id %s", u.path("id")).isTrue();
        assertThat(u.path("filename").asText()).isEqualTo(filename);
        assertThat(u.path("size").asLong()).isEqualTo(content.length);
        assertThat(u.path("sha256").asText()).isEqualTo(sha256(content));
        assertThat(u.path("contentType").asText()).isEqualTo(contentType);
        Instant created = Instant.parse(u.path("createdAt").asText());
        assertThat(created).isBetween(Instant.now().minusSeconds(300), Instant.now().plusSeconds(5));
    }

    private static void assertDownload(String id, byte[] content, String contentType) throws Exception {
        HttpResponse<byte[]> d = getBytes(server.server(), UPLOADS + "/" + id + "/content");
        assertThat(d.statusCode()).isEqualTo(200);
        assertThat(d.body()).isEqualTo(content);
        assertThat(d.headers().firstValue("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith(contentType));
        assertThat(d.headers().firstValue("ETag")).hasValue("\"" + sha256(content) + "\"");
        assertThat(d.headers().firstValue("Content-Disposition")).hasValueSatisfying(cd -> assertThat(cd).startsWith("attachment"));
        assertThat(d.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(d.headers().firstValue("X-Request-Id")).isPresent();
    }

    private static void assertNotFound(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("%s %s", r.request().method(), r.uri()).isEqualTo(404);
        assertThat(Json.errorCode(r.body())).isEqualTo("not_found");
        assertThat(r.headers().firstValue("X-Request-Id")).isPresent();
        assertThat(Json.parse(r.body()).path("error").path("requestId").asText())
                .isEqualTo(r.headers().firstValue("X-Request-Id").orElseThrow());
    }
}
