package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Background jobs end to end on a real server: an upload names a pipeline (form field, query parameter, tus / IETF
 * metadata) or gets its type's default, the job is enqueued with the upload and run by the worker pool, and the
 * jobs API shows, lists, cancels, retries it and streams its output. Every refusal leaves nothing behind.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class JobsApiTest {

    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    static Path dir;
    static Path failMarkers;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        failMarkers = dir.resolve("markers");
        Path config = dir.resolve("sluice.yaml");
        // A short lease makes heartbeats (which carry cancel requests to the worker) come every second.
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 3s
                pipelines:
                  noop:
                    processor: noop
                  listed:
                    processor: noop
                  texts:
                    processor: noop
                    types: [text/*]
                    default: true
                  sleepy:
                    processor: test-sleep
                    options: {lines: 5}
                  flaky:
                    processor: test-sleep
                    options: {lines: 3, failFirstIn: "%s"}
                    maxAttempts: 2
                  checked:
                    processor: test-refuse
                    types: [text/plain]
                """.formatted(failMarkers.toString().replace("\\", "/")));
        server = TestServer.start(dir.resolve("data"), config, "admission.bufferSize", "16KiB");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void nothingHeld() throws Exception {
        server.assertNothingLeftBehind();
    }

    // ------------------------------------------------------------------------------------------ enqueue

    @Test
    void multipartWithAPipelineFieldGetsAJobThatSucceeds() throws Exception {
        byte[] data = text("hello jobs\n");
        HttpResponse<String> r = post(new Multipart().field("pipeline", "noop").file("f", "a.bin", data));
        JsonNode upload = createdUploads(r).get(0);
        JsonNode job = upload.path("job");
        assertThat(job.path("state").asText()).isEqualTo("queued");
        String id = job.path("id").asText();
        assertThat(job.path("statusUrl").asText()).isEqualTo("/api/v1/jobs/" + id);
        // The form field is a metadata field like any other.
        assertThat(upload.at("/metadata/pipeline").asText()).isEqualTo("noop");

        JsonNode done = awaitState(id, "succeeded");
        assertThat(done.path("uploadId").asText()).isEqualTo(upload.path("id").asText());
        assertThat(done.path("pipeline").asText()).isEqualTo("noop");
        assertThat(done.path("progress").asInt()).isEqualTo(100);
        assertThat(done.path("attempt").asInt()).isEqualTo(1);
        assertThat(done.path("maxAttempts").asInt()).isEqualTo(JobsConfig.DEFAULT_MAX_ATTEMPTS);
        assertThat(done.at("/result/bytes").asLong()).isEqualTo(data.length);
        assertThat(done.at("/result/outputLines").asLong()).isZero();
        assertThat(done.path("outputUrl").asText()).isEqualTo("/api/v1/jobs/" + id + "/output");
        assertThat(done.has("error")).isFalse();
        for (String time : List.of("createdAt", "startedAt", "finishedAt")) {
            assertThat(done.path(time).asText()).as(time).isNotBlank();
        }
    }

    @Test
    void putWithAPipelineParameterGetsAJob() throws Exception {
        HttpResponse<String> r = server.put("/api/v1/uploads/a.bin?pipeline=sleepy", text("five lines\n"));
        String id = createdUploads(r).get(0).at("/job/id").asText();
        JsonNode done = awaitState(id, "succeeded");
        assertThat(done.at("/result/lines").asInt()).isEqualTo(5);
        assertThat(done.at("/result/outputLines").asInt()).isEqualTo(5);
    }

    @Test
    void everyFileOfAMultipartRequestGetsItsOwnJob() throws Exception {
        JsonNode uploads = createdUploads(post(new Multipart().file("a", "a.bin", text("one"))
                .file("b", "b.bin", text("two")).field("pipeline", "noop")));
        assertThat(uploads).hasSize(2);
        String first = uploads.get(0).at("/job/id").asText();
        String second = uploads.get(1).at("/job/id").asText();
        assertThat(first).isNotEqualTo(second);
        assertThat(awaitState(first, "succeeded").path("uploadId").asText()).isEqualTo(uploads.get(0).path("id").asText());
        assertThat(awaitState(second, "succeeded").path("uploadId").asText()).isEqualTo(uploads.get(1).path("id").asText());
    }

    @Test
    void anUploadThatNamesNoPipelineGetsTheDefaultForItsType() throws Exception {
        JsonNode text = createdUploads(server.put("/api/v1/uploads/notes.txt", text("plain text\n"))).get(0);
        assertThat(awaitState(text.at("/job/id").asText(), "succeeded").path("pipeline").asText())
                .isEqualTo("texts");
        // No default pipeline takes images: no job, and no "job" in the answer.
        JsonNode image = createdUploads(server.put("/api/v1/uploads/dot.png", png())).get(0);
        assertThat(image.path("contentType").asText()).isEqualTo("image/png");
        assertThat(image.has("job")).isFalse();
        // A blank pipeline field names none.
        JsonNode blank = createdUploads(post(new Multipart().field("pipeline", "").file("f", "n.txt", text("x"))))
                .get(0);
        assertThat(awaitState(blank.at("/job/id").asText(), "succeeded").path("pipeline").asText())
                .isEqualTo("texts");
    }

    @Test
    void aTusUploadNamesItsPipelineInItsMetadata() throws Exception {
        byte[] data = text("resumable bytes\n");
        HttpResponse<String> created = tus("POST", "/files", null, "Upload-Length", String.valueOf(data.length),
                "Upload-Metadata", "filename " + b64("r.bin") + ",pipeline " + b64("noop"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue("Sluice-Job-Id")).isEmpty();
        String path = java.net.URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();

        HttpResponse<String> first = tus("PATCH", path, slice(data, 0, 5), "Upload-Offset", "0",
                "Content-Type", "application/offset+octet-stream");
        assertThat(first.statusCode()).isEqualTo(204);
        assertThat(first.headers().firstValue("Sluice-Job-Id")).as("not finished yet").isEmpty();
        HttpResponse<String> last = tus("PATCH", path, slice(data, 5, data.length), "Upload-Offset", "5",
                "Content-Type", "application/offset+octet-stream");
        assertThat(last.statusCode()).as(last.body()).isEqualTo(204);
        String jobId = last.headers().firstValue("Sluice-Job-Id").orElseThrow();
        assertThat(last.headers().firstValue("Sluice-Job-Url")).hasValue("/api/v1/jobs/" + jobId);
        JsonNode done = awaitState(jobId, "succeeded");
        assertThat(done.path("uploadId").asText()).isEqualTo(last.headers().firstValue("Sluice-Upload-Id").orElseThrow());
        assertThat(done.at("/result/bytes").asInt()).isEqualTo(data.length);
    }

    @Test
    void aTusCreationCarryingTheWholeFileAnswersWithItsJob() throws Exception {
        byte[] data = text("small enough for one request\n");
        HttpResponse<String> r = tus("POST", "/files", data, "Upload-Length", String.valueOf(data.length),
                "Upload-Metadata", "filename " + b64("w.bin") + ",pipeline " + b64("sleepy"),
                "Content-Type", "application/offset+octet-stream");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String jobId = r.headers().firstValue("Sluice-Job-Id").orElseThrow();
        assertThat(awaitState(jobId, "succeeded").path("pipeline").asText()).isEqualTo("sleepy");
        // Its record keeps the tus metadata, as an upload sent in several requests does.
        JsonNode record = Json.parse(server.get("/api/v1/uploads/"
                + r.headers().firstValue("Sluice-Upload-Id").orElseThrow()).body());
        assertThat(record.at("/metadata/pipeline").asText()).isEqualTo("sleepy");
        assertThat(record.at("/metadata/filename").asText()).isEqualTo("w.bin");
    }

    @Test
    void aTusConcatenationTakesThePipelineOfTheFinalUpload() throws Exception {
        List<String> partials = new ArrayList<>();
        for (String part : List.of("first half, ", "second half\n")) {
            byte[] bytes = text(part);
            HttpResponse<String> p = tus("POST", "/files", bytes, "Upload-Length", String.valueOf(bytes.length),
                    "Upload-Concat", "partial", "Content-Type", "application/offset+octet-stream");
            assertThat(p.statusCode()).as(p.body()).isEqualTo(201);
            partials.add(java.net.URI.create(p.headers().firstValue("Location").orElseThrow()).getPath());
        }
        HttpResponse<String> f = tus("POST", "/files", null, "Upload-Concat", "final;" + String.join(" ", partials),
                "Upload-Metadata", "filename " + b64("joined.bin") + ",pipeline " + b64("noop"));
        assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
        JsonNode done = awaitState(f.headers().firstValue("Sluice-Job-Id").orElseThrow(), "succeeded");
        assertThat(done.at("/result/bytes").asInt()).isEqualTo("first half, second half\n".length());
        assertThat(Json.parse(server.get("/api/v1/uploads/" + done.path("uploadId").asText()).body())
                .at("/metadata/filename").asText()).isEqualTo("joined.bin");
    }

    @Test
    void anIetfDraftUploadAnswersWithItsJob() throws Exception {
        byte[] data = text("ietf draft body\n");
        String head = "POST /files/ HTTP/1.1\r\nHost: 127.0.0.1:" + server.port() + "\r\n"
                + "Upload-Draft-Interop-Version: 6\r\nUpload-Complete: ?1\r\n"
                + "Upload-Metadata: filename " + b64("i.bin") + ",pipeline " + b64("noop") + "\r\n"
                + "Content-Length: " + data.length + "\r\nConnection: close\r\n\r\n";
        RawResponse last;
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(head).send(data);
            do {
                last = raw.readResponse();
            } while (last.status() < 200);
        }
        assertThat(last.status()).as(last.body()).isEqualTo(201);
        String jobId = last.header("Sluice-Job-Id");
        assertThat(jobId).isNotNull();
        assertThat(last.header("Sluice-Job-Url")).isEqualTo("/api/v1/jobs/" + jobId);
        assertThat(awaitState(jobId, "succeeded").path("uploadId").asText()).isEqualTo(last.header("Sluice-Upload-Id"));
    }

    // ------------------------------------------------------------------------------------------ refusals

    @Test
    void anUnknownPipelineIsRefusedAndNothingIsStored() throws Exception {
        long blobs = server.blobFiles();
        long resumable = resumableFiles();
        int uploads = uploadCount();

        // PUT: refused from the query string, before a byte of the body is read.
        HttpResponse<String> put = server.put("/api/v1/uploads/a.txt?pipeline=nope", text("x"));
        assertError(put, 400, "unknown_pipeline");
        JsonNode error = Json.parse(put.body()).path("error");
        assertThat(error.path("pipeline").asText()).isEqualTo("nope");
        assertThat(error.path("known")).extracting(JsonNode::asText).contains("noop", "sleepy");

        // Multipart: the field before the file, and after it.
        assertError(post(new Multipart().field("pipeline", "nope").file("f", "a.txt", text("x"))), 400,
                "unknown_pipeline");
        assertError(post(new Multipart().file("f", "a.txt", text("x")).field("pipeline", "nope")), 400,
                "unknown_pipeline");

        // tus: at creation, before the upload exists.
        HttpResponse<String> created = tus("POST", "/files", null, "Upload-Length", "5",
                "Upload-Metadata", "pipeline " + b64("nope"));
        assertError(created, 400, "unknown_pipeline");
        assertThat(created.headers().firstValue("Location")).isEmpty();
        assertThat(resumableFiles()).isEqualTo(resumable);

        assertThat(server.blobFiles()).isEqualTo(blobs);
        assertThat(uploadCount()).isEqualTo(uploads);
    }

    @Test
    void aPipelineThatDoesNotTakeTheDetectedTypeIsRefused() throws Exception {
        long blobs = server.blobFiles();
        int uploads = uploadCount();
        HttpResponse<String> r = server.put("/api/v1/uploads/dot.png?pipeline=checked", png());
        assertError(r, 415, "pipeline_type_mismatch");
        JsonNode error = Json.parse(r.body()).path("error");
        assertThat(error.path("detectedType").asText()).isEqualTo("image/png");
        assertThat(error.path("acceptedTypes")).extracting(JsonNode::asText).containsExactly("text/plain");
        assertThat(server.blobFiles()).isEqualTo(blobs);
        assertThat(uploadCount()).isEqualTo(uploads);
    }

    @Test
    void aPrecheckRefusalAnswersItsErrorAndKeepsNothing() throws Exception {
        long blobs = server.blobFiles();
        int uploads = uploadCount();
        HttpResponse<String> r = server.put("/api/v1/uploads/rows.txt?pipeline=checked", text("name,price\n1,2\n"));
        assertError(r, 422, "missing_columns");
        assertThat(Json.parse(r.body()).at("/error/missing/0").asText()).isEqualTo("id");

        // A ProcessorException from a precheck is a 422 with its code.
        assertError(server.put("/api/v1/uploads/bad.txt?pipeline=checked", text("bad file\n")), 422, "bad_file");

        // All-or-nothing: one refused file of a multipart request refuses the request.
        assertError(post(new Multipart().field("pipeline", "checked").file("a", "ok.txt", text("id,x\n1,2\n"))
                .file("b", "no.txt", text("x\n"))), 422, "missing_columns");

        // tus: the final PATCH is refused and the upload is gone.
        byte[] data = text("name\n");
        HttpResponse<String> created = tus("POST", "/files", null, "Upload-Length", String.valueOf(data.length),
                "Upload-Metadata", "filename " + b64("t.txt") + ",pipeline " + b64("checked"));
        String path = java.net.URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        HttpResponse<String> patch = tus("PATCH", path, data, "Upload-Offset", "0",
                "Content-Type", "application/offset+octet-stream");
        assertError(patch, 422, "missing_columns");
        assertThat(tus("HEAD", path, null).statusCode()).isEqualTo(404);

        assertThat(server.blobFiles()).isEqualTo(blobs);
        assertThat(uploadCount()).isEqualTo(uploads);

        // The same pipeline takes a file that passes.
        JsonNode ok = createdUploads(server.put("/api/v1/uploads/ok.txt?pipeline=checked", text("id,name\n1,a\n")))
                .get(0);
        assertThat(awaitState(ok.at("/job/id").asText(), "succeeded").at("/result/outputLines").asInt())
                .isEqualTo(1);
    }

    // ------------------------------------------------------------------------------------------ jobs API

    @Test
    void outputIsStreamedByLines() throws Exception {
        String id = createdUploads(server.put("/api/v1/uploads/o.bin?pipeline=sleepy", text("o"))).get(0)
                .at("/job/id").asText();
        awaitState(id, "succeeded");
        HttpResponse<String> all = server.get("/api/v1/jobs/" + id + "/output");
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(all.headers().firstValue("Content-Type")).hasValue("application/x-ndjson");
        assertThat(all.body()).isEqualTo(lines(0, 5));

        assertThat(server.get("/api/v1/jobs/" + id + "/output?offset=1&limit=2").body()).isEqualTo(lines(1, 3));
        assertThat(server.get("/api/v1/jobs/" + id + "/output?offset=3").body()).isEqualTo(lines(3, 5));
        assertThat(server.get("/api/v1/jobs/" + id + "/output?limit=1").body()).isEqualTo(lines(0, 1));
        HttpResponse<String> beyond = server.get("/api/v1/jobs/" + id + "/output?offset=9");
        assertThat(beyond.statusCode()).isEqualTo(200);
        assertThat(beyond.body()).isEmpty();

        assertError(server.get("/api/v1/jobs/" + id + "/output?limit=0"), 400, "invalid_limit");
        assertError(server.get("/api/v1/jobs/" + id + "/output?offset=-1"), 400, "invalid_offset");
        assertError(server.get("/api/v1/jobs/" + id + "/output?offset=x"), 400, "invalid_offset");
        assertError(server.get("/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/output"), 404, "not_found");
    }

    @Test
    void aRunningJobIsCancelledAtItsNextCheckpoint() throws Exception {
        // 2000 lines, 10 ms apart: about 20 s unless cancelled.
        String id = createdUploads(post(new Multipart().field("pipeline", "sleepy").field("lines", "2000")
                .field("delayMillis", "10").file("f", "long.bin", text("long")))).get(0).at("/job/id").asText();
        Await.until(WAIT, "job running with progress",
                () -> job(id).path("state").asText().equals("running") && job(id).path("progress").asInt() > 0);
        JsonNode running = job(id);
        assertThat(running.path("stage").asText()).isEqualTo("writing");
        assertThat(running.path("etaSeconds").asLong()).isPositive();
        assertThat(running.has("finishedAt")).isFalse();
        assertError(server.get("/api/v1/jobs/" + id + "/output"), 404, "no_output");

        HttpResponse<String> cancel = postEmpty("/api/v1/jobs/" + id + "/cancel");
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(202);
        JsonNode requested = Json.parse(cancel.body());
        assertThat(requested.path("state").asText()).isEqualTo("running");
        assertThat(requested.path("cancelRequested").asBoolean()).isTrue();

        JsonNode cancelled = awaitState(id, "cancelled");
        assertThat(cancelled.path("progress").asInt()).isLessThan(100);
        assertThat(cancelled.has("cancelRequested")).isFalse();
        assertError(server.get("/api/v1/jobs/" + id + "/output"), 404, "no_output");
        assertError(postEmpty("/api/v1/jobs/" + id + "/cancel"), 409, "job_finished");
        assertThat(outputFileOf(id)).doesNotExist();
        Await.until(WAIT, "the attempt's temporary files removed", () -> isEmpty("outputs/tmp") && isEmpty("work"));
    }

    @Test
    void aQueuedJobIsCancelledAtOnceAndAFinishedOneCannotBe() throws Exception {
        String id = createdUploads(server.put("/api/v1/uploads/q.bin?pipeline=noop", text("q"))).get(0)
                .at("/job/id").asText();
        awaitState(id, "succeeded");
        HttpResponse<String> r = postEmpty("/api/v1/jobs/" + id + "/cancel");
        assertError(r, 409, "job_finished");
        assertThat(Json.parse(r.body()).at("/error/state").asText()).isEqualTo("succeeded");
        assertError(postEmpty("/api/v1/jobs/" + id + "/retry"), 409, "job_not_retryable");
    }

    @Test
    void aFailedJobSucceedsWhenRetried() throws Exception {
        String id = createdUploads(server.put("/api/v1/uploads/f.bin?pipeline=flaky", text("f"))).get(0)
                .at("/job/id").asText();
        JsonNode failed = awaitState(id, "failed");
        assertThat(failed.at("/error/code").asText()).isEqualTo("test_failure");
        assertThat(failed.at("/error/message").asText()).isNotBlank();
        assertThat(failed.path("attempt").asInt()).isEqualTo(1);
        assertThat(failed.has("result")).isFalse();
        assertError(server.get("/api/v1/jobs/" + id + "/output"), 404, "no_output");

        HttpResponse<String> retry = postEmpty("/api/v1/jobs/" + id + "/retry");
        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(202);
        JsonNode queued = Json.parse(retry.body());
        assertThat(queued.path("state").asText()).isIn("queued", "running");
        // The attempt counter only grows; the retry grants the pipeline's attempts again.
        assertThat(queued.path("maxAttempts").asInt()).isEqualTo(1 + 2);
        assertThat(queued.has("error")).isFalse();

        JsonNode done = awaitState(id, "succeeded");
        assertThat(done.path("attempt").asInt()).isEqualTo(2);
        assertThat(server.get("/api/v1/jobs/" + id + "/output").body()).isEqualTo(lines(0, 3));
        assertError(postEmpty("/api/v1/jobs/" + id + "/retry"), 409, "job_not_retryable");
    }

    @Test
    void theListFiltersAndPages() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(createdUploads(server.put("/api/v1/uploads/l" + i + ".bin?pipeline=listed", text("l" + i)))
                    .get(0).at("/job/id").asText());
        }
        for (String id : ids) {
            awaitState(id, "succeeded");
        }
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            HttpResponse<String> r = server.get("/api/v1/jobs?pipeline=listed&state=succeeded&limit=1"
                    + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode page = Json.parse(r.body());
            assertThat(page.has("nextCursor")).as("nextCursor is always present").isTrue();
            assertThat(page.path("jobs")).hasSizeLessThanOrEqualTo(1);
            page.path("jobs").forEach(j -> {
                assertThat(j.path("pipeline").asText()).isEqualTo("listed");
                seen.add(j.path("id").asText());
            });
            cursor = page.path("nextCursor").isNull() ? null : page.path("nextCursor").asText();
            pages++;
        } while (cursor != null && pages < 10);
        // Newest first.
        assertThat(seen).containsExactly(ids.get(2), ids.get(1), ids.get(0));

        JsonNode none = Json.parse(server.get("/api/v1/jobs?pipeline=listed&state=failed").body());
        assertThat(none.path("jobs")).isEmpty();
        assertThat(none.path("nextCursor").isNull()).isTrue();
        assertThat(Json.parse(server.get("/api/v1/jobs?limit=500").body()).path("jobs").size())
                .isGreaterThanOrEqualTo(3);

        assertError(server.get("/api/v1/jobs?state=done"), 400, "invalid_state");
        assertError(server.get("/api/v1/jobs?limit=0"), 400, "invalid_limit");
        assertError(server.get("/api/v1/jobs?limit=501"), 400, "invalid_limit");
        assertError(server.get("/api/v1/jobs?limit=ten"), 400, "invalid_limit");
        assertError(server.get("/api/v1/jobs?cursor=nope"), 400, "invalid_cursor");
    }

    @Test
    void unknownJobsAre404() throws Exception {
        assertError(server.get("/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404, "not_found");
        assertError(server.get("/api/v1/jobs/not-an-id"), 404, "not_found");
        assertError(postEmpty("/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel"), 404, "not_found");
        assertError(postEmpty("/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry"), 404, "not_found");
    }

    // ------------------------------------------------------------------------------------------ helpers

    static JsonNode job(String id) throws Exception {
        HttpResponse<String> r = server.get("/api/v1/jobs/" + id);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    /** Polls the job until it reaches {@code state}; fails at once if it finishes in another state. */
    static JsonNode awaitState(String id, String state) throws Exception {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        Await.until(WAIT, "job " + id + " " + state, () -> {
            JsonNode j = job(id);
            last.set(j);
            String now = j.path("state").asText();
            if (!now.equals(state) && List.of("succeeded", "failed", "cancelled").contains(now)) {
                throw new AssertionError("job " + id + " ended " + now + " instead of " + state + ": " + j);
            }
            return now.equals(state);
        });
        return last.get();
    }

    static HttpResponse<String> post(Multipart body) throws IOException, InterruptedException {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads"))
                .header("Content-Type", body.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.build())).build());
    }

    static HttpResponse<String> postEmpty(String path) throws IOException, InterruptedException {
        return server.send(HttpRequest.newBuilder(server.uri(path)).POST(HttpRequest.BodyPublishers.noBody())
                .build());
    }

    /** A tus request with {@code Tus-Resumable} and the given header pairs. */
    static HttpResponse<String> tus(String method, String path, byte[] body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Tus-Resumable", "1.0.0");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return server.send(b.build());
    }

    static JsonNode createdUploads(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(201);
        return Json.parse(r.body()).path("uploads");
    }

    static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).isEqualTo(code);
    }

    static int uploadCount() throws Exception {
        return Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size();
    }

    static long resumableFiles() throws IOException {
        try (Stream<Path> s = Files.walk(server.dataDir().resolve("resumable"))) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    static Path outputFileOf(String jobId) {
        return server.dataDir().resolve("outputs").resolve(jobId.substring(24)).resolve(jobId + ".ndjson");
    }

    static boolean isEmpty(String relative) throws IOException {
        try (Stream<Path> s = Files.list(server.dataDir().resolve(relative))) {
            return s.findAny().isEmpty();
        }
    }

    static String lines(int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            sb.append("{\"line\":").append(i).append("}\n");
        }
        return sb.toString();
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] slice(byte[] b, int from, int to) {
        return java.util.Arrays.copyOfRange(b, from, to);
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(text(s));
    }

    /** Enough of a PNG for type detection: the signature and an IHDR chunk header. */
    static byte[] png() {
        byte[] b = new byte[64];
        byte[] head = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
        System.arraycopy(head, 0, b, 0, head.length);
        return b;
    }
}
