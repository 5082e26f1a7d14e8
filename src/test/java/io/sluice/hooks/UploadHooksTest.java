package io.sluice.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The application's upload hooks end to end: a real server asks a {@link HookApp} on loopback before uploads are
 * created (PUT, multipart, tus, presign) and before they are listed (tus, IETF draft, multipart, presigned PUT), and
 * the tests check what the client is answered, what the application was told, and that a refusal leaves nothing.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UploadHooksTest {

    static final String SECRET = "hook-secret-0123456789";
    static final String OCTETS = "application/offset+octet-stream";

    @TempDir
    static Path dir;
    static HookApp app;
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        app = new HookApp();
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  first:
                    processor: noop
                    default: true
                  forced:
                    processor: noop
                """);
        server = TestServer.start(dir.resolve("data"), config,
                "hooks.preCreate", app.url("/create"),
                "hooks.preFinish", app.url("/finish"),
                "hooks.timeout", "500ms",
                "webhooks.secret", SECRET);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (app != null) {
            app.close();
        }
    }

    @BeforeEach
    void allowEverything() {
        app.calls.clear();
        app.preCreate = j -> HookApp.Reply.allow();
        app.preFinish = j -> HookApp.Reply.allow();
    }

    @AfterEach
    void nothingHeld() throws Exception {
        server.assertNothingLeftBehind();
    }

    // ---------------------------------------------------------------------------------------------------------
    // preCreate

    @Test
    void preCreateAllowMergesMetadataForcesThePipelineAndRenames() throws Exception {
        app.preCreate = j -> HookApp.Reply.json("""
                {"allow": true, "metadata": {"tenant": "acme", "project": "from-app"}, "pipeline": "forced",
                 "filename": "../renamed.txt"}""");
        byte[] bytes = "hello hooks\n".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/report.txt"))
                .header("Content-Type", "text/plain").PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode u = Json.parse(r.body()).path("uploads").get(0);
        assertThat(u.path("filename").asText()).as("the application's name, sanitized").isEqualTo("renamed.txt");
        assertThat(u.path("metadata").path("tenant").asText()).isEqualTo("acme");
        assertThat(pipelineOf(u.path("job").path("id").asText())).isEqualTo("forced");

        HookApp.Call call = app.calls("preCreate").getFirst();
        assertThat(call.hookHeader()).isEqualTo("preCreate");
        assertThat(HookApp.verifies(SECRET, call)).as("Sluice-Signature %s", call.signature()).isTrue();
        assertThat(HookApp.verifies("another-secret-0123456", call)).isFalse();
        JsonNode sent = call.json();
        assertThat(sent.path("hook").asText()).isEqualTo("preCreate");
        assertThat(sent.path("upload").path("filename").asText()).isEqualTo("report.txt");
        assertThat(sent.path("upload").path("size").asLong()).isEqualTo(bytes.length);
        assertThat(sent.path("upload").path("type").asText()).isEqualTo("text/plain");
        assertThat(sent.path("caller").has("keyId")).isTrue();
        assertThat(sent.path("caller").has("subject")).as("room for a token's subject").isTrue();
        assertThat(sent.path("address").asText()).isEqualTo("127.0.0.1");
        // preFinish saw what is about to be listed: the hook's name and pipeline, the bytes' hash.
        JsonNode finish = app.calls("preFinish").getFirst().json().path("upload");
        assertThat(finish.path("filename").asText()).isEqualTo("renamed.txt");
        assertThat(finish.path("pipeline").asText()).isEqualTo("forced");
        assertThat(finish.path("sha256").asText()).isEqualTo(sha256(bytes));
        assertThat(finish.path("metadata").path("project").asText()).isEqualTo("from-app");

        // Multipart: the fields before the file are its metadata; the application's keys win.
        Multipart form = new Multipart().field("project", "from-client").field("note", "kept")
                .file("file", "stock.csv", "a,b\n1,2\n".getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> m = postMultipart(form);
        assertThat(m.statusCode()).as(m.body()).isEqualTo(201);
        JsonNode mu = Json.parse(m.body()).path("uploads").get(0);
        assertThat(mu.path("filename").asText()).isEqualTo("renamed.txt");
        assertThat(mu.path("metadata").path("project").asText()).isEqualTo("from-app");
        assertThat(mu.path("metadata").path("note").asText()).isEqualTo("kept");
        assertThat(pipelineOf(mu.path("job").path("id").asText())).isEqualTo("forced");
        JsonNode partCall = app.calls("preCreate").getLast().json().path("upload");
        assertThat(partCall.path("metadata").path("project").asText()).isEqualTo("from-client");
        assertThat(partCall.path("size").isNull()).as("a part's size is not known at its headers").isTrue();
        assertThat(partCall.path("type").asText()).isEqualTo("application/octet-stream");

        // tus: the upload row keeps the merged metadata, the pipeline and the name.
        byte[] data = "tus bytes\n".getBytes(StandardCharsets.UTF_8);
        String path = tusCreate(data.length, "filename " + b64("t.txt") + ",filetype " + b64("text/plain"));
        HttpResponse<String> done = tusPatch(path, 0, data);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(204);
        JsonNode t = Json.parse(server.get("/api/v1/uploads/" + idOf(path)).body());
        assertThat(t.path("filename").asText()).isEqualTo("renamed.txt");
        assertThat(t.path("metadata").path("tenant").asText()).isEqualTo("acme");
        assertThat(pipelineOf(done.headers().firstValue("Sluice-Job-Id").orElseThrow())).isEqualTo("forced");
        JsonNode tusCall = app.calls("preCreate").getLast().json();
        assertThat(tusCall.path("upload").path("type").asText()).isEqualTo("text/plain");
        assertThat(tusCall.path("address").asText()).as("tus carries the client's address too").isEqualTo("127.0.0.1");

        // Presign: the address of the client that asked for the URL.
        HttpResponse<String> presigned = server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/presign"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"filename\":\"p.txt\",\"size\":5,\"contentType\":\"text/plain\"}")).build());
        assertThat(presigned.statusCode()).as(presigned.body()).isEqualTo(201);
        JsonNode presignCall = app.calls("preCreate").getLast().json();
        assertThat(presignCall.path("upload").path("filename").asText()).isEqualTo("p.txt");
        assertThat(presignCall.path("address").asText()).isEqualTo("127.0.0.1");
    }

    @Test
    void preCreateMetadataIsRecordedOnAPresignedUpload() throws Exception {
        app.preCreate = j -> HookApp.Reply.json("""
                {"allow": true, "metadata": {"tenant": "acme", "project": "from-app"}}""");
        HttpResponse<String> presigned = presign("p.txt", 4);
        assertThat(presigned.statusCode()).as(presigned.body()).isEqualTo(201);
        JsonNode p = Json.parse(presigned.body());
        assertThat(app.calls("preCreate").getLast().json().path("upload").path("metadata").isEmpty())
                .as("a presign request carries no metadata of its own").isTrue();
        HttpRequest.Builder put = HttpRequest.newBuilder(URI.create(p.path("url").asText()))
                .PUT(HttpRequest.BodyPublishers.ofByteArray("ppp\n".getBytes(StandardCharsets.US_ASCII)));
        p.path("headers").properties().forEach(e -> put.header(e.getKey(), e.getValue().asText()));
        HttpResponse<String> stored = server.send(put.build());
        assertThat(stored.statusCode()).as(stored.body()).isEqualTo(201);

        JsonNode finish = app.calls("preFinish").getLast().json().path("upload");
        assertThat(finish.path("metadata").path("tenant").asText()).as(finish.toString()).isEqualTo("acme");
        JsonNode u = Json.parse(server.get("/api/v1/uploads/" + p.path("uploadId").asText()).body());
        assertThat(u.path("metadata").path("tenant").asText()).as(u.toString()).isEqualTo("acme");
        assertThat(u.path("metadata").path("project").asText()).isEqualTo("from-app");
    }

    @Test
    void preCreateRefusalReachesTheClientAndNothingIsStored() throws Exception {
        app.preCreate = j -> HookApp.Reply.refuse(403, "no .exe files, please");
        long before = uploadCount();
        long blobs = server.blobFiles();

        HttpResponse<String> put = server.put("/api/v1/uploads/setup.exe", new byte[1000]);
        assertError(put, 403, "hook_refused");
        assertThat(Json.parse(put.body()).path("error").path("message").asText()).isEqualTo("no .exe files, please");

        HttpResponse<String> m = postMultipart(new Multipart().file("file", "setup.exe", new byte[1000]));
        assertError(m, 403, "hook_refused");

        HttpResponse<String> tus = tus("POST", "/files/", null, "Upload-Length", "1000",
                "Upload-Metadata", "filename " + b64("setup.exe"));
        assertError(tus, 403, "hook_refused");

        app.preCreate = j -> HookApp.Reply.refuse(451, "unavailable for legal reasons");
        HttpResponse<String> presign = presign("a.txt", 10);
        assertError(presign, 451, "hook_refused");

        assertThat(uploadCount()).isEqualTo(before);
        assertThat(server.blobFiles()).isEqualTo(blobs);
        assertThat(resumableFiles()).isZero();
        assertThat(app.calls("preFinish")).isEmpty();
    }

    @Test
    void aRefusalWithAStatusOutside4xxOrAMalformedAnswerIsAHookFailure() throws Exception {
        for (String answer : new String[] {"{\"allow\": false, \"status\": 500}", "{\"allowed\": true}", "not json",
                "{\"allow\": true, \"pipeline\": \"nope\"}", "{\"allow\": true, \"metadata\": [1]}"}) {
            app.preCreate = j -> HookApp.Reply.json(answer);
            HttpResponse<String> r = server.put("/api/v1/uploads/a.txt", "x".getBytes(StandardCharsets.UTF_8));
            assertError(r, 503, "hook_unavailable");
            assertThat(r.headers().firstValue("Retry-After")).as(answer).isPresent();
        }
        app.preCreate = j -> new HookApp.Reply(500, "{\"allow\": true}", 0);
        assertError(server.put("/api/v1/uploads/a.txt", "x".getBytes(StandardCharsets.UTF_8)), 503,
                "hook_unavailable");
        assertThat(app.calls("preFinish")).isEmpty();
    }

    /**
     * An upload token's caller: the hook sees its subject (no key id) and the token's metadata, never the token's
     * carried {@code allowedTypes}; a hook answer naming that internal key cannot widen the token's types.
     */
    @Test
    void aTokensSubjectIsTheCallerAndTheHookCannotWidenItsTypes(@TempDir Path other) throws Exception {
        String jwtSecret = "hooks-test-jwt-secret-of-32-bytes-or-more";
        try (TestServer tokens = TestServer.start(other, "hooks.preCreate", app.url("/create"),
                "hooks.preFinish", app.url("/finish"), "webhooks.secret", SECRET, "auth.jwt.hmacSecret", jwtSecret)) {
            Instant now = Instant.now();
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject("uma")
                    .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)))
                    .claim("sluice", Map.of("allowedTypes", List.of("text/plain"), "metadata", Map.of("tenant", "acme")))
                    .build());
            jwt.sign(new MACSigner(jwtSecret.getBytes(StandardCharsets.UTF_8)));
            String token = jwt.serialize();
            app.preCreate = j -> HookApp.Reply.json("""
                    {"allow": true, "metadata": {"sluice:allowedTypes": "application/pdf", "checked": "yes"}}""");
            byte[] pdf = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".getBytes(StandardCharsets.US_ASCII);
            HttpResponse<String> created = tokens.send(HttpRequest.newBuilder(tokens.uri("/files/"))
                    .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token)
                    .header("Upload-Length", String.valueOf(pdf.length))
                    .header("Upload-Metadata", "filename " + b64("a.pdf"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            JsonNode call = app.calls("preCreate").getLast().json();
            assertThat(call.path("caller").path("keyId").isNull()).as(call.toString()).isTrue();
            assertThat(call.path("caller").path("subject").asText()).isEqualTo("uma");
            assertThat(call.path("upload").path("metadata").path("tenant").asText()).isEqualTo("acme");
            assertThat(call.path("upload").path("metadata").has("sluice:allowedTypes")).isFalse();

            String path = URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
            HttpResponse<String> patch = tokens.send(HttpRequest.newBuilder(tokens.uri(path))
                    .header("Tus-Resumable", "1.0.0").header("Authorization", "Bearer " + token)
                    .header("Upload-Offset", "0").header("Content-Type", OCTETS)
                    .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(pdf)).build());
            assertError(patch, 415, "type_not_allowed");
            assertThat(app.calls("preFinish")).as("refused before the application is asked again").isEmpty();
            tokens.assertNothingLeftBehind();
        }
    }

    @Test
    void aHookThatDoesNotAnswerInTimeRefuses503() throws Exception {
        app.preCreate = j -> new HookApp.Reply(200, "{\"allow\": true}", 3_000);
        long before = uploadCount();
        HttpResponse<String> r = server.put("/api/v1/uploads/slow.txt", "x".getBytes(StandardCharsets.UTF_8));
        assertError(r, 503, "hook_unavailable");
        assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(Json.parse(r.body()).path("error").path("message").asText()).contains("timed out");
        assertThat(uploadCount()).isEqualTo(before);
        String metrics = server.get("/metrics").body();
        assertThat(metrics).contains("sluice_hook_duration_seconds_count{hook=\"preCreate\",outcome=\"timeout\"}");
    }

    @Test
    void failOpenLetsUploadsThroughWhenTheApplicationIsDown(@TempDir Path other) throws Exception {
        // A port nobody listens on: every call fails at once.
        String down;
        try (var s = new ServerSocket(0)) {
            down = "http://127.0.0.1:" + s.getLocalPort() + "/hook";
        }
        try (TestServer open = TestServer.start(other, "hooks.preCreate", down, "hooks.preFinish", down,
                "hooks.failOpen", "true", "webhooks.secret", SECRET)) {
            HttpResponse<String> r = open.put("/api/v1/uploads/a.txt", "x".getBytes(StandardCharsets.UTF_8));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            JsonNode hooks = Json.parse(open.get("/health/detailed").body()).path("hooks");
            assertThat(hooks.path("failOpen").asBoolean()).isTrue();
            assertThat(hooks.path("preCreate").path("calls").path("error").asLong()).isEqualTo(1);
            assertThat(hooks.path("preFinish").path("calls").path("error").asLong()).isEqualTo(1);
            open.assertNothingLeftBehind();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // preFinish

    @Test
    void preFinishRefusalOnTusAnswersTheFinalPatchAndRemovesTheUpload() throws Exception {
        app.preFinish = j -> HookApp.Reply.refuse(422, "virus found: EICAR");
        byte[] data = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n"
                .getBytes(StandardCharsets.US_ASCII);
        long before = uploadCount();
        String path = tusCreate(data.length, "filename " + b64("eicar.txt"));
        HttpResponse<String> first = tusPatch(path, 0, Arrays.copyOf(data, 20));
        assertThat(first.statusCode()).as("not finished yet: no preFinish").isEqualTo(204);
        assertThat(app.calls("preFinish")).isEmpty();

        HttpResponse<String> last = tusPatch(path, 20, Arrays.copyOfRange(data, 20, data.length));
        assertError(last, 422, "hook_refused");
        assertThat(Json.parse(last.body()).path("error").path("message").asText()).isEqualTo("virus found: EICAR");
        JsonNode told = app.calls("preFinish").getFirst().json().path("upload");
        assertThat(told.path("id").asText()).isEqualTo(idOf(path));
        assertThat(told.path("size").asLong()).isEqualTo(data.length);
        assertThat(told.path("sha256").asText()).isEqualTo(sha256(data));
        assertThat(told.path("pipeline").asText()).as("the default pipeline it would get").isEqualTo("first");

        assertThat(tus("HEAD", path, null).statusCode()).isEqualTo(404);
        assertThat(server.get("/api/v1/uploads/" + idOf(path)).statusCode()).isEqualTo(404);
        assertThat(uploadCount()).isEqualTo(before);
        assertThat(resumableFiles()).isZero();
        assertThat(server.blobFiles()).as("the bytes are deleted").isEqualTo(blobsOtherThan(idOf(path)));
    }

    /** A creation whose body is the whole file (the fast path: one staged commit) asks preFinish the same way. */
    @Test
    void preFinishRefusalOfAWholeTusCreationStoresNothing() throws Exception {
        app.preFinish = j -> HookApp.Reply.refuse(422, "virus found: EICAR");
        byte[] data = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n"
                .getBytes(StandardCharsets.US_ASCII);
        long before = uploadCount();
        long blobs = server.blobFiles();
        HttpResponse<String> r = tus("POST", "/files/", data, "Upload-Length", String.valueOf(data.length),
                "Upload-Metadata", "filename " + b64("eicar.txt"), "Content-Type", OCTETS);
        assertError(r, 422, "hook_refused");
        assertThat(r.headers().firstValue("Location")).as("no upload to resume").isEmpty();
        JsonNode told = app.calls("preFinish").getFirst().json().path("upload");
        assertThat(told.path("size").asLong()).isEqualTo(data.length);
        assertThat(told.path("sha256").asText()).isEqualTo(sha256(data));
        assertThat(uploadCount()).isEqualTo(before);
        assertThat(resumableFiles()).isZero();
        assertThat(server.blobFiles()).as("the bytes are deleted").isEqualTo(blobs);
    }

    @Test
    void preFinishRefusalOnTheIetfDraftAnswersTheCompletingAppend() throws Exception {
        app.preFinish = j -> HookApp.Reply.refuse(403, "not today");
        byte[] data = "ietf bytes\n".getBytes(StandardCharsets.US_ASCII);
        RawResponse created = raw(ietfHead("POST", "/files/", -1, "Upload-Complete: ?0",
                "Upload-Length: " + data.length), null);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(app.calls("preCreate").getLast().json().path("address").asText()).isEqualTo("127.0.0.1");
        String path = URI.create(created.header("Location")).getPath();
        RawResponse last = raw(ietfHead("PATCH", path, data.length, "Upload-Offset: 0", "Upload-Complete: ?1",
                "Content-Type: application/partial-upload"), data);
        assertThat(last.status()).as(last.body()).isEqualTo(403);
        assertThat(Json.errorCode(last.body())).isEqualTo("hook_refused");
        assertThat(raw(ietfHead("HEAD", path, -1), null).status()).isEqualTo(404);
        assertThat(server.get("/api/v1/uploads/" + idOf(path)).statusCode()).isEqualTo(404);
        assertThat(resumableFiles()).isZero();
    }

    @Test
    void preFinishRefusalOnMultipartAndPresignedPutStoresNothing() throws Exception {
        app.preFinish = j -> HookApp.Reply.refuse(403, "quarantined");
        long before = uploadCount();
        long blobs = server.blobFiles();
        HttpResponse<String> m = postMultipart(new Multipart().file("file", "a.txt", "aaa\n".getBytes())
                .file("file", "b.txt", "bbb\n".getBytes()));
        assertError(m, 403, "hook_refused");

        JsonNode p = Json.parse(presign("p.txt", 4).body());
        HttpRequest.Builder put = HttpRequest.newBuilder(URI.create(p.path("url").asText()))
                .PUT(HttpRequest.BodyPublishers.ofByteArray("ppp\n".getBytes()));
        p.path("headers").properties().forEach(e -> put.header(e.getKey(), e.getValue().asText()));
        assertError(server.send(put.build()), 403, "hook_refused");

        assertThat(uploadCount()).isEqualTo(before);
        assertThat(server.blobFiles()).isEqualTo(blobs);
    }

    @Test
    void preFinishAllowListsTheUploadAndQueuesItsJob() throws Exception {
        byte[] data = "listed\n".getBytes(StandardCharsets.US_ASCII);
        String path = tusCreate(data.length, "filename " + b64("ok.txt"));
        HttpResponse<String> done = tusPatch(path, 0, data);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(204);
        String job = done.headers().firstValue("Sluice-Job-Id").orElseThrow();
        assertThat(pipelineOf(job)).isEqualTo("first");
        assertThat(server.get("/api/v1/uploads/" + idOf(path)).statusCode()).isEqualTo(200);
        assertThat(app.calls("preFinish")).hasSize(1);
        Await.until(Duration.ofSeconds(20), "the job succeeds", () ->
                Json.parse(server.get("/api/v1/jobs/" + job).body()).path("state").asText().equals("succeeded"));
    }

    @Test
    void aFailedPreFinishKeepsTheResumableUploadUnlistedUntilTheApplicationAnswers() throws Exception {
        app.preFinish = j -> new HookApp.Reply(502, "bad gateway", 0);
        byte[] data = "later\n".getBytes(StandardCharsets.US_ASCII);
        String path = tusCreate(data.length, "filename " + b64("later.txt"));
        HttpResponse<String> last = tusPatch(path, 0, data);
        assertError(last, 503, "hook_unavailable");
        assertThat(last.headers().firstValue("Retry-After")).isPresent();
        // What a crash while the hook was asked leaves too: finishing, not listed, no job.
        assertThat(server.get("/api/v1/uploads/" + idOf(path)).statusCode()).isEqualTo(404);
        // Not "offset = length" yet: a client must not count it done before the application decided.
        HttpResponse<String> waiting = tus("HEAD", path, null);
        assertThat(waiting.statusCode()).isEqualTo(503);
        assertThat(waiting.headers().firstValue("Retry-After")).isPresent();

        app.preFinish = j -> HookApp.Reply.allow();
        // The client's HEAD (what it sends to resume) asks the application again, and the upload is finished.
        HttpResponse<String> head = tus("HEAD", path, null);
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(data.length));
        assertThat(server.get("/api/v1/uploads/" + idOf(path)).statusCode()).isEqualTo(200);
        assertThat(app.calls("preFinish")).hasSize(3);
    }

    @Test
    void hookSettingsAreChecked() {
        for (String[] bad : new String[][] {{"hooks.preCreate", "ftp://app.example/hook"},
                {"hooks.preFinish", "not a url"}, {"hooks.timeout", "50ms"}, {"hooks.timeout", "2m"},
                {"hooks.failOpen", "maybe"}}) {
            assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of(bad[0], bad[1])))
                    .isInstanceOf(ConfigException.class)
                    .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(bad[0]));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Status

    @Test
    void metricsAndTheSystemPanelShowTheHooksWithoutTheirPaths() throws Exception {
        assertThat(server.put("/api/v1/uploads/m.txt", "m".getBytes()).statusCode()).isEqualTo(201);
        String metrics = server.get("/metrics").body();
        assertThat(metrics).contains("sluice_hook_duration_seconds_count{hook=\"preCreate\",outcome=\"allow\"}")
                .contains("sluice_hook_duration_seconds_count{hook=\"preFinish\",outcome=\"allow\"}")
                .contains("sluice_hook_duration_seconds_sum{hook=\"preFinish\",outcome=\"refuse\"}");
        HttpResponse<String> detailed = server.get("/health/detailed");
        JsonNode hooks = Json.parse(detailed.body()).path("hooks");
        assertThat(hooks.path("preCreate").path("host").asText()).isEqualTo("127.0.0.1:" + app.port());
        assertThat(hooks.path("preCreate").path("calls").path("allow").asLong()).isPositive();
        assertThat(hooks.path("failOpen").asBoolean()).isFalse();
        assertThat(hooks.path("timeoutMs").asLong()).isEqualTo(500);
        assertThat(hooks.toString()).doesNotContain("token").doesNotContain("/create");
    }

    // ---------------------------------------------------------------------------------------------------------

    static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).as(r.body()).isEqualTo(code);
    }

    static String pipelineOf(String jobId) throws Exception {
        return Json.parse(server.get("/api/v1/jobs/" + jobId).body()).path("pipeline").asText();
    }

    static long uploadCount() throws Exception {
        return Json.parse(server.get("/api/v1/uploads?limit=500").body()).path("uploads").size();
    }

    static long resumableFiles() throws IOException {
        Path r = server.dataDir().resolve("resumable");
        if (!Files.exists(r)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(r)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    /** Committed blobs other than {@code id}'s: what stays when the refused upload's bytes are gone. */
    static long blobsOtherThan(String id) throws IOException {
        try (Stream<Path> s = Files.walk(server.dataDir().resolve("blobs"))) {
            return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(id)).count();
        }
    }

    static HttpResponse<String> postMultipart(Multipart form) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads"))
                .header("Content-Type", form.contentType())
                .POST(HttpRequest.BodyPublishers.ofByteArray(form.build())).build());
    }

    static HttpResponse<String> presign(String filename, long size) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/presign"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"filename\": \"" + filename + "\", \"size\": " + size
                        + ", \"contentType\": \"text/plain\"}")).build());
    }

    static HttpResponse<String> tus(String method, String path, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30))
                .header("Tus-Resumable", "1.0.0")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return server.send(b.build());
    }

    static String tusCreate(long length, String metadata) throws Exception {
        HttpResponse<String> r = tus("POST", "/files/", null, "Upload-Length", String.valueOf(length),
                "Upload-Metadata", metadata);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return URI.create(r.headers().firstValue("Location").orElseThrow()).getPath();
    }

    static HttpResponse<String> tusPatch(String path, long offset, byte[] bytes) throws Exception {
        return tus("PATCH", path, bytes, "Upload-Offset", String.valueOf(offset), "Content-Type", OCTETS);
    }

    static String ietfHead(String method, String path, long contentLength, String... headers) {
        StringBuilder sb = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.port()
                + "\r\nUpload-Draft-Interop-Version: 6\r\n");
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        if (contentLength >= 0) {
            sb.append("Content-Length: ").append(contentLength).append("\r\n");
        }
        return sb.append("Connection: close\r\n\r\n").toString();
    }

    /** One request on its own connection; its final answer (interim 1xx skipped). */
    static RawResponse raw(String head, byte[] body) throws IOException {
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(head);
            if (body != null) {
                raw.send(body);
            }
            while (true) {
                RawResponse r = raw.readResponse();
                if (r.status() >= 200) {
                    return r;
                }
            }
        }
    }

    static String idOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
