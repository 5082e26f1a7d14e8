package io.sluice.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.sun.net.httpserver.HttpServer;
import io.sluice.processors.pdf.PdfFixtures;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.S3Server;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Example 4 of issue 7, {@code examples/policy-pdf-ingest}: insurance-policy PDFs for an embeddings pipeline. The
 * server runs the example's own {@code sluice.yaml}; a test overrides only the data directory, the port, the
 * webhook URL (an in-test receiver playing the application) and, for the S3 run, the stand-in bucket (s3proxy).
 * With a generated 300-page PDF, on local storage and on S3:
 * <ul>
 *   <li>presign, then PUT with exactly the returned method, URL and headers (to Sluice itself on local storage,
 *       straight into the bucket on S3), then {@code POST /api/v1/uploads/{id}/complete} (what the example's
 *       {@code ingest.py} does): the record's sha256 is the file's and the {@code policies} job is queued;</li>
 *   <li>the job's SSE stream: progress never goes back, a stage and an ETA are seen while it runs, then
 *       {@code job.succeeded};</li>
 *   <li>the output: chunks numbered 0..n-1 whose page ranges start at page 1, end at page 300, never go back and
 *       leave no page out, and whose text carries only the line tokens of those pages;</li>
 *   <li>the application receives {@code upload.completed} and {@code job.succeeded} webhooks and every one of them
 *       verifies with the configured {@code webhooks.secret} (an HMAC computed here, as the application does).</li>
 * </ul>
 * And a tampered or expired presigned URL is refused (403 {@code presign_invalid} / {@code presign_expired})
 * leaving nothing behind.
 */
@Timeout(value = 110, unit = TimeUnit.SECONDS)
class PolicyPdfIngestExampleTest {

    static final Path EXAMPLE = Path.of("examples", "policy-pdf-ingest").toAbsolutePath();
    static final int PAGES = 300;
    static final Duration JOB_WAIT = Duration.ofSeconds(60);
    /** The line tokens PdfFixtures writes at the start of every line: {@code [p<page>.l<line>]}. */
    static final Pattern TOKEN = Pattern.compile("\\[p(\\d+)\\.l(\\d+)]");

    @TempDir
    static Path dir;
    static JsonNode exampleConfig;
    static String webhookSecret;
    static Path pdf;
    static byte[] pdfBytes;
    static Receiver application;

    @BeforeAll
    static void generate() throws Exception {
        exampleConfig = new YAMLMapper().readTree(EXAMPLE.resolve("sluice.yaml").toFile());
        webhookSecret = exampleConfig.at("/webhooks/secret").asText();
        assertThat(webhookSecret).as("the example configures webhooks.secret").hasSizeGreaterThanOrEqualTo(16);
        pdf = PdfFixtures.write(dir.resolve("policy-HX-2026-0042.pdf"), PAGES, doc ->
                doc.getDocumentInformation().setTitle("Homeowners policy HX-2026-0042"));
        pdfBytes = Files.readAllBytes(pdf);
        application = new Receiver(webhookSecret);
    }

    @AfterAll
    static void stopReceiver() {
        if (application != null) {
            application.close();
        }
    }

    /** The example's file, with only what a test must override. */
    static TestServer startExample(Path data, String... more) throws Exception {
        List<String> settings = new ArrayList<>(List.of("webhooks.urls", application.url()));
        settings.addAll(List.of(more));
        return TestServer.start(data, EXAMPLE.resolve("sluice.yaml"), settings.toArray(String[]::new));
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void localStorage_presignPutCompleteThenChunksProgressAndASignedWebhook() throws Exception {
        try (TestServer server = startExample(dir.resolve("local"))) {
            JsonNode p = presign(server, pdf.getFileName().toString(), pdfBytes.length);
            String uploadId = p.path("uploadId").asText();
            URI url = URI.create(p.path("url").asText());
            assertThat(url.getPort()).as("local storage: a Sluice-signed URL to Sluice itself")
                    .isEqualTo(server.port());
            assertThat(url.getPath()).isEqualTo("/api/v1/presigned/" + uploadId);

            HttpResponse<String> put = server.send(exactly(p, pdfBytes).build());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
            assertThat(Json.parse(put.body()).path("sha256").asText()).isEqualTo(sha256(pdfBytes));

            JsonNode upload = complete(server, uploadId);
            String jobId = upload.at("/job/id").asText();
            assertThat(Json.parse(put.body()).at("/job/id").asText()).as("the PUT and complete name one job")
                    .isEqualTo(jobId);

            Observed run = observe(server, jobId);
            assertProgress(run);
            int chunks = assertChunks(server, jobId);
            assertSignedWebhooks(uploadId, jobId);
            report("local", run, chunks);
            server.assertNothingLeftBehind();
            assertThat(jobsOf(server, uploadId)).isEqualTo(1);
        }
    }

    @Test
    void s3Storage_presignPutStraightToTheBucketCompleteThenChunksProgressAndASignedWebhook() throws Exception {
        S3Server s3 = S3Server.get();
        String bucket = s3.newBucket();
        try (TestServer server = startExample(dir.resolve("s3"), s3.serverSettings(bucket))) {
            JsonNode p = presign(server, pdf.getFileName().toString(), pdfBytes.length);
            String uploadId = p.path("uploadId").asText();
            URI url = URI.create(p.path("url").asText());
            assertThat(url.getPort()).as("S3: the bucket's presigned URL; the bytes never pass through Sluice")
                    .isEqualTo(s3.endpoint().getPort());
            assertThat(p.at("/headers/Content-Type").asText()).isEqualTo("application/pdf");

            // Before the PUT there is nothing to complete.
            assertError(post(server, "/api/v1/uploads/" + uploadId + "/complete", "", Map.of()), 409,
                    "not_uploaded");
            // The signature covers the headers: another Content-Type is refused by S3 itself, nothing is stored.
            HttpRequest.Builder wrongType = exactly(p, pdfBytes).setHeader("Content-Type", "text/plain");
            assertThat(S3Server.refusal(() -> server.send(wrongType.build())).statusCode()).isEqualTo(403);
            assertThat(s3.objects(bucket)).isEmpty();

            HttpResponse<String> put = server.send(exactly(p, pdfBytes).build());
            assertThat(put.statusCode()).as("S3 answers the PUT: " + put.body()).isEqualTo(200);
            assertThat(s3.objects(bucket)).containsExactly("blobs/" + uploadId);

            JsonNode upload = complete(server, uploadId);
            String jobId = upload.at("/job/id").asText();
            assertThat(upload.path("sha256").asText()).isEqualTo(sha256(pdfBytes));

            // The bucket's notification (MinIO format) arriving as well changes nothing: same record, one job.
            String token = exampleConfig.at("/presign/eventToken").asText();
            HttpResponse<String> event = post(server, "/api/v1/storage/events", minioEvent(bucket,
                    "blobs/" + uploadId), Map.of("Authorization", "Bearer " + token,
                    "Content-Type", "application/json"));
            assertThat(event.statusCode()).as(event.body()).isEqualTo(200);
            assertThat(Json.parse(event.body()).path("alreadyCompleted").asInt()).isEqualTo(1);

            Observed run = observe(server, jobId);
            assertProgress(run);
            int chunks = assertChunks(server, jobId);
            assertSignedWebhooks(uploadId, jobId);
            report("s3", run, chunks);
            server.assertNothingLeftBehind();
            assertThat(jobsOf(server, uploadId)).isEqualTo(1);
            assertThat(s3.multipartUploads(bucket)).isEmpty();
            assertThat(s3.objects(bucket)).as("the upload and the job's output, nothing else")
                    .containsExactlyInAnyOrder("blobs/" + uploadId, "blobs/out-" + jobId);
            assertThat(server.blobFiles()).as("no upload bytes on the node").isZero();
        }
    }

    @Test
    void aTamperedOrExpiredPresignedUrlIsRefusedAndLeavesNothingBehind() throws Exception {
        byte[] small = Files.readAllBytes(PdfFixtures.write(dir.resolve("short.pdf"), 2, doc -> { }));
        // The example's file with a one-second expiry: the only way to hold an expired URL in a test.
        try (TestServer server = startExample(dir.resolve("refusals"), "presign.expiry", "1s")) {
            JsonNode p = presign(server, "policy.pdf", small.length);
            String id = p.path("uploadId").asText();
            String url = p.path("url").asText();
            String signature = url.substring(url.indexOf("signature=") + "signature=".length());
            String flipped = (signature.charAt(0) == 'a' ? "b" : "a") + signature.substring(1);
            long expires = Long.parseLong(url.replaceAll(".*expires=(\\d+).*", "$1"));
            for (String bad : List.of(url.replace(signature, flipped),
                    url.replace("expires=" + expires, "expires=" + (expires + 3600)))) {
                HttpResponse<String> r = server.send(HttpRequest.newBuilder(URI.create(bad))
                        .header("Content-Type", "application/pdf")
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(small)).build());
                assertError(r, 403, "presign_invalid");
                server.assertNothingLeftBehind();
            }

            JsonNode q = presign(server, "late.pdf", small.length);
            Await.until(Duration.ofSeconds(10), "the URL's expiry passed",
                    () -> System.currentTimeMillis() / 1000 > Long.parseLong(
                            q.path("url").asText().replaceAll(".*expires=(\\d+).*", "$1")));
            assertError(server.send(exactly(q, small).build()), 403, "presign_expired");
            server.assertNothingLeftBehind();

            for (String uploadId : List.of(id, q.path("uploadId").asText())) {
                assertThat(server.get("/api/v1/uploads/" + uploadId).statusCode()).isEqualTo(404);
                assertThat(server.app().store().size(uploadId)).as("no blob").isEqualTo(-1);
                assertThat(jobsOf(server, uploadId)).as("no job").isZero();
            }
            assertThat(server.blobFiles()).isZero();
        }
    }

    /**
     * The example's own scripts, so they cannot rot: {@code ingest.py --wait} uploads a PDF the same way
     * (presign, PUT, complete) and follows the job to {@code succeeded}; {@code receiver.py}'s {@code verify}
     * accepts the signature of a webhook Sluice sent and refuses it for a changed body. Skipped loudly without
     * python3.
     */
    @Test
    void theExamplesPythonClientAndReceiverSnippetWork() throws Exception {
        assumePython();
        Path small = PdfFixtures.write(dir.resolve("endorsement.pdf"), 12, doc -> { });
        try (TestServer server = startExample(dir.resolve("python"))) {
            Run ingest = python(Duration.ofSeconds(60), EXAMPLE.resolve("ingest.py").toString(), small.toString(),
                    "--server", "http://127.0.0.1:" + server.port(), "--wait");
            assertThat(ingest.exit()).as(ingest.output()).isZero();
            String sha = sha256(Files.readAllBytes(small));
            assertThat(ingest.output()).contains("PUT answered 201").contains("sha256 " + sha)
                    .contains("succeeded 100%").contains("\"pages\": 12").contains("first chunk: pages 1-");
            JsonNode upload = Json.parse(server.get("/api/v1/uploads?limit=1").body()).at("/uploads/0");
            assertThat(upload.path("sha256").asText()).isEqualTo(sha);
            String jobId = Json.parse(server.get("/api/v1/jobs?limit=1").body()).at("/jobs/0/id").asText();
            Await.until(JOB_WAIT, "the job.succeeded webhook of " + jobId, () -> application.received.stream()
                    .anyMatch(h -> h.type().equals("job.succeeded")
                            && h.json().at("/data/job/id").asText().equals(jobId)));
            Receiver.Hook done = application.received.stream().filter(h -> h.type().equals("job.succeeded")
                    && h.json().at("/data/job/id").asText().equals(jobId)).findFirst().orElseThrow();

            Path body = Files.writeString(dir.resolve("hook-body.json"), done.body());
            Path changed = Files.writeString(dir.resolve("hook-changed.json"), done.body().replace(jobId, "X"));
            String check = """
                    import sys; sys.path.insert(0, sys.argv[1]); from receiver import verify
                    secret, header = sys.argv[2].encode(), sys.argv[3]
                    print(verify(secret, header, open(sys.argv[4], 'rb').read()),
                          verify(secret, header, open(sys.argv[5], 'rb').read()))
                    """;
            Run verify = python(Duration.ofSeconds(20), "-c", check, EXAMPLE.toString(), webhookSecret,
                    done.signature(), body.toString(), changed.toString());
            assertThat(verify.output().strip()).as(verify.output()).isEqualTo("True False");
            server.assertNothingLeftBehind();
        }
    }

    record Run(int exit, String output) {
    }

    static void assumePython() {
        boolean ok;
        try {
            ok = python(Duration.ofSeconds(10), "-c", "import sys; assert sys.version_info >= (3, 8)").exit() == 0;
        } catch (Exception e) {
            ok = false;
        }
        if (!ok) {
            System.err.println("*** PolicyPdfIngestExampleTest: python3 (>= 3.8) is not available; the example's "
                    + "scripts are NOT tested (SKIPPED)");
        }
        Assumptions.assumeTrue(ok, "python3 is not available");
    }

    static Run python(Duration timeout, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("python3"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        StringBuilder text = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                text.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the process was killed
            }
        });
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            reader.join(Duration.ofSeconds(5));
            throw new AssertionError("python3 " + args[0] + " did not end within " + timeout + ":\n" + text);
        }
        reader.join(Duration.ofSeconds(5));
        return new Run(p.exitValue(), text.toString());
    }

    // ---------------------------------------------------------------------------------------------------------
    // The scenario's steps, as ingest.py does them.

    static JsonNode presign(TestServer server, String filename, long size) throws Exception {
        String body = new ObjectMapper().writeValueAsString(Map.of("filename", filename, "size", size,
                "contentType", "application/pdf"));
        HttpResponse<String> r = post(server, "/api/v1/uploads/presign", body,
                Map.of("Content-Type", "application/json"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode p = Json.parse(r.body());
        assertThat(p.path("method").asText()).isEqualTo("PUT");
        return p;
    }

    /**
     * Exactly the method, URL and headers the presign answer gave. {@code Content-Length} is one java.net.http sets
     * itself (it refuses it as a header); it sends the body's length, which must be the signed one.
     */
    static HttpRequest.Builder exactly(JsonNode p, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(p.path("url").asText()))
                .timeout(Duration.ofSeconds(30))
                .method(p.path("method").asText(), HttpRequest.BodyPublishers.ofByteArray(body));
        for (Iterator<Map.Entry<String, JsonNode>> it = p.path("headers").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> h = it.next();
            if (h.getKey().equalsIgnoreCase("Content-Length")) {
                assertThat(h.getValue().asLong()).isEqualTo(body.length);
            } else {
                b.header(h.getKey(), h.getValue().asText());
            }
        }
        return b;
    }

    static JsonNode complete(TestServer server, String uploadId) throws Exception {
        HttpResponse<String> r = post(server, "/api/v1/uploads/" + uploadId + "/complete", "", Map.of());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode upload = Json.parse(r.body());
        assertThat(upload.path("id").asText()).isEqualTo(uploadId);
        assertThat(upload.path("sha256").asText()).isEqualTo(sha256(pdfBytes));
        assertThat(upload.path("size").asLong()).isEqualTo(pdfBytes.length);
        assertThat(upload.path("contentType").asText()).isEqualTo("application/pdf");
        JsonNode job = Json.parse(server.get(upload.at("/job/statusUrl").asText()).body());
        assertThat(job.path("pipeline").asText()).as("the default pipeline").isEqualTo("policies");
        return upload;
    }

    /**
     * What the job's SSE stream showed, in order, up to its end, and what polling {@code GET /api/v1/jobs/{id}}
     * (as {@code ingest.py --wait} does) saw meanwhile.
     */
    record Observed(List<JsonNode> progress, JsonNode finalJob, List<JsonNode> polled) {
    }

    /**
     * Follows {@code GET /api/v1/jobs/{id}/events} from the first event ({@code lastEventId=0}: whatever already
     * happened is replayed, so a fast job loses nothing) until the job ends.
     */
    static Observed observe(TestServer server, String jobId) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + jobId + "/events?lastEventId=0"))
                .header("Accept", "text/event-stream").build();
        HttpResponse<InputStream> r = server.client().send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        LinkedBlockingQueue<Map.Entry<String, String>> events = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String type = null;
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("event: ")) {
                        type = line.substring(7);
                    } else if (line.startsWith("data: ") && type != null) {
                        events.add(Map.entry(type, line.substring(6)));
                    } else if (line.isEmpty()) {
                        type = null;
                    }
                }
            } catch (IOException e) {
                // closed below once the job ended
            }
        });
        List<JsonNode> polled = new CopyOnWriteArrayList<>();
        Thread poller = Thread.ofVirtual().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    JsonNode job = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
                    polled.add(job);
                    if (job.path("state").asText().matches("succeeded|failed|cancelled")) {
                        return;
                    }
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            List<JsonNode> progress = new ArrayList<>();
            long deadline = System.nanoTime() + JOB_WAIT.toNanos();
            while (true) {
                var e = events.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (e == null) {
                    throw new AssertionError("job " + jobId + " did not end within " + JOB_WAIT + "; progress seen: "
                            + progress.size());
                }
                JsonNode job = Json.parse(e.getValue()).at("/data/job");
                switch (e.getKey()) {
                    case "job.progress" -> progress.add(job);
                    case "job.succeeded", "job.failed", "job.cancelled" -> {
                        poller.join(Duration.ofSeconds(10));
                        return new Observed(progress, job, List.copyOf(polled));
                    }
                    default -> { }
                }
            }
        } finally {
            poller.interrupt();
            r.body().close();
            reader.join(Duration.ofSeconds(5));
        }
    }

    static void assertProgress(Observed run) {
        assertThat(run.finalJob().path("state").asText()).as(run.finalJob().toString()).isEqualTo("succeeded");
        assertThat(run.progress()).as("progress events while it ran").isNotEmpty();
        int last = -1;
        boolean stageSeen = false;
        boolean etaSeen = false;
        for (JsonNode job : run.progress()) {
            assertThat(job.path("state").asText()).isEqualTo("running");
            int percent = job.path("progress").asInt();
            assertThat(percent).as("progress never goes back (" + job + ")").isGreaterThanOrEqualTo(last);
            last = percent;
            stageSeen |= !job.path("stage").asText().isEmpty();
            etaSeen |= job.has("etaSeconds") && job.path("etaSeconds").isNumber();
        }
        assertThat(stageSeen).as("a stage was shown while it ran").isTrue();
        assertThat(etaSeen).as("an ETA was shown while it ran").isTrue();
        assertThat(run.progress().getLast().path("stage").asText()).isEqualTo("page " + PAGES + " of " + PAGES);
        assertThat(run.finalJob().path("progress").asInt()).isEqualTo(100);
        assertThat(run.finalJob().path("progress").asInt()).isGreaterThanOrEqualTo(last);
        assertThat(run.finalJob().at("/result/pages").asInt()).isEqualTo(PAGES);

        // Polling sees the same: progress never goes back, and it ends succeeded at 100.
        assertThat(run.polled()).isNotEmpty();
        int lastPolled = -1;
        for (JsonNode job : run.polled()) {
            int percent = job.path("progress").asInt(0);
            assertThat(percent).as("polled progress never goes back (" + job + ")").isGreaterThanOrEqualTo(lastPolled);
            lastPolled = percent;
        }
        assertThat(run.polled().getLast().path("state").asText()).isEqualTo("succeeded");
        assertThat(lastPolled).isEqualTo(100);
    }

    /** Chunks numbered in order; page ranges from 1 to 300, never back, no page left out; text from those pages. */
    static int assertChunks(TestServer server, String jobId) throws Exception {
        HttpResponse<String> r = server.get("/api/v1/jobs/" + jobId + "/output");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<JsonNode> chunks = r.body().lines().map(Json::parse).toList();
        JsonNode job = Json.parse(server.get("/api/v1/jobs/" + jobId).body());
        assertThat(chunks).hasSize(job.at("/result/chunks").asInt());
        int chunkSize = exampleConfig.at("/pipelines/policies/options/chunkSize").asInt();

        boolean[] covered = new boolean[PAGES + 1];
        int previousStart = 1;
        int previousEnd = 1;
        for (int i = 0; i < chunks.size(); i++) {
            JsonNode c = chunks.get(i);
            int start = c.path("pageStart").asInt();
            int end = c.path("pageEnd").asInt();
            String text = c.path("text").asText();
            assertThat(c.path("chunk").asInt()).isEqualTo(i);
            assertThat(c.path("chars").asInt()).isEqualTo(text.length()).isLessThanOrEqualTo(chunkSize);
            assertThat(start).as("chunk " + i).isBetween(1, end);
            assertThat(end).as("chunk " + i).isLessThanOrEqualTo(PAGES);
            assertThat(start).as("pages never go back, chunk " + i).isGreaterThanOrEqualTo(previousStart);
            assertThat(end).as("pages never go back, chunk " + i).isGreaterThanOrEqualTo(previousEnd);
            assertThat(start).as("no page skipped before chunk " + i).isLessThanOrEqualTo(previousEnd + 1);
            for (int page = start; page <= end; page++) {
                covered[page] = true;
            }
            Matcher m = TOKEN.matcher(text);
            while (m.find()) {
                assertThat(Integer.parseInt(m.group(1))).as("a line of chunk " + i + " comes from its pages")
                        .isBetween(start, end);
            }
            previousStart = start;
            previousEnd = end;
        }
        assertThat(chunks.getFirst().path("pageStart").asInt()).isEqualTo(1);
        assertThat(chunks.getLast().path("pageEnd").asInt()).isEqualTo(PAGES);
        for (int page = 1; page <= PAGES; page++) {
            assertThat(covered[page]).as("page " + page + " is in some chunk").isTrue();
        }
        // Every line of every page is in the chunks, in order: the document's text, nothing lost.
        String all = String.join("\n", chunks.stream().map(c -> c.path("text").asText()).toList());
        for (int page = 1; page <= PAGES; page++) {
            assertThat(all).contains(PdfFixtures.pageLines(page).getLast());
        }
        return chunks.size();
    }

    /** The numbers the example's README quotes. */
    static void report(String storage, Observed run, int chunks) {
        System.out.printf("policy-pdf-ingest (%s): %d-page PDF of %d bytes -> %d chunks, %d progress events, "
                + "%d of them with an ETA, last stage '%s', %d polls (%d while running with a stage), "
                + "%d signed webhooks so far%n", storage, PAGES, pdfBytes.length, chunks, run.progress().size(),
                run.progress().stream().filter(j -> j.has("etaSeconds")).count(),
                run.progress().getLast().path("stage").asText(), run.polled().size(),
                run.polled().stream().filter(j -> j.path("state").asText().equals("running") && j.has("stage"))
                        .count(), application.received.size());
    }

    /** The application got upload.completed and job.succeeded for this upload, each with a valid signature. */
    static void assertSignedWebhooks(String uploadId, String jobId) throws Exception {
        Await.until(JOB_WAIT, "the job.succeeded webhook of " + jobId, () -> application.received.stream()
                .anyMatch(h -> h.type().equals("job.succeeded") && h.json().at("/data/job/id").asText().equals(jobId)));
        Await.until(JOB_WAIT, "the upload.completed webhook of " + uploadId, () -> application.received.stream()
                .anyMatch(h -> h.type().equals("upload.completed")
                        && h.json().at("/data/upload/id").asText().equals(uploadId)));
        for (Receiver.Hook h : application.received) {
            assertThat(h.valid()).as("signature of " + h.type() + " " + h.signature()).isTrue();
        }
        Receiver.Hook done = application.received.stream().filter(h -> h.type().equals("job.succeeded")
                && h.json().at("/data/job/id").asText().equals(jobId)).findFirst().orElseThrow();
        assertThat(done.json().at("/data/job/result/pages").asInt()).isEqualTo(PAGES);
        assertThat(done.json().at("/data/job/uploadId").asText()).isEqualTo(uploadId);
        assertThat(done.json().at("/data/job/outputUrl").asText()).isEqualTo("/api/v1/jobs/" + jobId + "/output");
        // The check has teeth: the same request with one byte changed, or another secret, does not verify.
        String tampered = done.body().replace("\"succeeded\"", "\"succeedeD\"");
        assertThat(Receiver.verify(webhookSecret, done.signature(), tampered.getBytes(StandardCharsets.UTF_8)))
                .isFalse();
        assertThat(Receiver.verify("another-secret-0123456789", done.signature(),
                done.body().getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(Receiver.verify(webhookSecret, done.signature(), done.body().getBytes(StandardCharsets.UTF_8)))
                .isTrue();
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * The application's webhook endpoint (JDK HttpServer on loopback): verifies {@code Sluice-Signature} over the
     * raw body with the shared secret and refuses old timestamps, answers 204 when it verifies and 401 otherwise
     * (Sluice would retry), and keeps every request.
     */
    static final class Receiver implements AutoCloseable {

        record Hook(String type, String delivery, String signature, String body, JsonNode json, boolean valid) {
        }

        static final long TOLERANCE_SECONDS = 300;
        final List<Hook> received = new CopyOnWriteArrayList<>();
        private final HttpServer server;

        Receiver(String secret) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/hooks/sluice", exchange -> {
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                String signature = exchange.getRequestHeaders().getFirst("Sluice-Signature");
                boolean valid = verify(secret, signature, body);
                String text = new String(body, StandardCharsets.UTF_8);
                received.add(new Hook(exchange.getRequestHeaders().getFirst("Sluice-Event"),
                        exchange.getRequestHeaders().getFirst("Sluice-Delivery"), signature, text,
                        valid ? Json.parse(text) : null, valid));
                exchange.sendResponseHeaders(valid ? 204 : 401, -1);
                exchange.close();
            });
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/hooks/sluice";
        }

        /** The check receiver.py does: {@code v1 = hex HMAC-SHA256(secret, t + "." + body)}, t within 5 minutes. */
        static boolean verify(String secret, String header, byte[] body) {
            if (header == null) {
                return false;
            }
            Map<String, String> fields = new LinkedHashMap<>();
            for (String part : header.split(",")) {
                int eq = part.indexOf('=');
                if (eq > 0) {
                    fields.put(part.substring(0, eq), part.substring(eq + 1));
                }
            }
            String t = fields.getOrDefault("t", "");
            if (!t.matches("\\d{1,12}") || Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(t))
                    > TOLERANCE_SECONDS) {
                return false;
            }
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
                mac.update((t + ".").getBytes(StandardCharsets.US_ASCII));
                byte[] expected = mac.doFinal(body);
                byte[] given = HexFormat.of().parseHex(fields.getOrDefault("v1", ""));
                return MessageDigest.isEqual(expected, given);
            } catch (IllegalArgumentException e) {
                return false; // v1 is not hex
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    static HttpResponse<String> post(TestServer server, String path, String body, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return server.send(b.build());
    }

    static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).as(r.body()).isEqualTo(code);
        assertThat(Json.parse(r.body()).at("/error/requestId").asText()).isNotEmpty();
    }

    static long jobsOf(TestServer server, String uploadId) throws Exception {
        long n = 0;
        for (JsonNode j : Json.parse(server.get("/api/v1/jobs?limit=500").body()).path("jobs")) {
            if (j.path("uploadId").asText().equals(uploadId)) {
                n++;
            }
        }
        return n;
    }

    /** A MinIO bucket notification for {@code key} (URL-encoded, as MinIO sends it). */
    static String minioEvent(String bucket, String key) {
        return """
                {"EventName":"s3:ObjectCreated:Put","Key":"%s/%s","Records":[{"eventVersion":"2.0",
                 "eventSource":"minio:s3","eventName":"s3:ObjectCreated:Put",
                 "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"%s"},
                       "object":{"key":"%s","size":%d,"contentType":"application/pdf"}}}]}"""
                .formatted(bucket, key, bucket, URLEncoder.encode(key, StandardCharsets.UTF_8), pdfBytes.length);
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
