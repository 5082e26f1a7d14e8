package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import io.sluice.upload.FinishStep;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 13, section 8: a crash while the last append of a resumable upload is landing leaves a true offset, and the
 * finish (offset reaches length, upload record, job) happens exactly once. The server is its own process: halted by
 * the test seam ({@link FinishStep#HALT_PROPERTY}) right after each durable step of the finish, and killed by
 * SIGKILL at random instants of the last PATCH; each time it is started again on the same data directory and must
 * answer HEAD with the true durable offset, accept a PATCH there (the rest, or an empty one when complete), list the
 * upload exactly once with exactly one job, and serve bytes with the right sha256. Both protocols share the finish;
 * tus runs every step, the IETF draft the steps on either side of the recorded offset.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class FinishCrashTest {

    private static final int FIRST = 2 * 1024 * 1024;
    private static final int LENGTH = FIRST + 1024 * 1024 + 12_345;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** C1 only: the server starts in about half the time, and what is tested does not depend on the compiler. */
    private static final List<String> JVM = List.of("-Xmx192m", "-XX:TieredStopAtLevel=1");
    /** The random kills: bounded in count, and in time so a slow machine cannot stretch the test. */
    private static final int KILL_ROUNDS = 10;
    private static final Duration KILL_BUDGET = Duration.ofSeconds(60);

    enum Protocol { TUS, IETF }

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final List<ServerProcess> started = new ArrayList<>();
    private final StringBuilder output = new StringBuilder();

    @AfterEach
    void stopServers() {
        started.forEach(ServerProcess::close);
        http.shutdownNow();
    }

    /** One upload whose last PATCH halts the server at {@code step}. */
    private record Case(Protocol protocol, FinishStep step, String filename, byte[] content, String[] id) {
        Case(Protocol protocol, FinishStep step) {
            this(protocol, step, protocol.name().toLowerCase(java.util.Locale.ROOT) + "-"
                    + step.name().toLowerCase(java.util.Locale.ROOT) + ".bin",
                    bytes(LENGTH, step.ordinal() * 31L + protocol.ordinal()), new String[1]);
        }

        String halt() {
            return "-D" + FinishStep.HALT_PROPERTY + "=" + step.name().toLowerCase(java.util.Locale.ROOT)
                    + "@" + filename;
        }

        /** Start-up recovery passes this step again (the offset was recorded, the commit not made). */
        boolean recoveryPassesAgain() {
            return step == FinishStep.PROMOTED || step == FinishStep.PLANNED;
        }

        @Override
        public String toString() {
            return protocol + " halted at " + step + " (upload " + id[0] + ")";
        }
    }

    /**
     * The cases run as a chain on one data directory, so that each server start does two things: the restart after
     * the previous case's halt (recovery, HEAD, resuming, checks) and the halting run of the next case (the seam
     * halts only the upload it names).
     */
    @Test
    void aHaltAfterEveryStepOfTheFinishLeavesATrueOffsetAndOneUploadWithOneJob() throws Exception {
        Path config = pipelineConfig();
        Path data = dir.resolve("data");
        List<Case> cases = new ArrayList<>();
        for (FinishStep step : FinishStep.values()) {
            cases.add(new Case(Protocol.TUS, step));
        }
        // The IETF draft's final append goes through the same finish: either side of the recorded offset.
        for (FinishStep step : List.of(FinishStep.SYNCED, FinishStep.RECORDED, FinishStep.PROMOTED)) {
            cases.add(new Case(Protocol.IETF, step));
        }
        Map<String, Long> heads = new java.util.LinkedHashMap<>();
        try {
            Case pending = null;
            for (Case c : cases) {
                ServerProcess server = restartAfter(pending, data, config, c.halt());
                if (pending != null) {
                    heads.put(pending.toString(), checkAfterHalt(server, pending));
                }
                halt(server, c);
                pending = c;
            }
            ServerProcess server = restartAfter(pending, data, config, null);
            heads.put(pending.toString(), checkAfterHalt(server, pending));
            // Every upload of the chain is still listed once with its one job.
            for (Case c : cases) {
                checkFinished(server, c.id()[0], c.content(), c + ", at the end");
            }
            server.sigterm();
            assertThat(server.waitFor(TIMEOUT)).as("clean exit").isZero();
        } catch (AssertionError | Exception e) {
            System.err.println("FinishCrashTest failed; server output:\n" + output);
            throw e;
        }
        System.out.println("FinishCrashTest: HEAD after each halt: " + heads);
    }

    /**
     * Starts the server after {@code pending}'s halt (a first start that halts again in start-up recovery when the
     * recovery passes that step), with {@code halt} as its own seam.
     */
    private ServerProcess restartAfter(Case pending, Path data, Path config, String halt) throws Exception {
        if (pending != null && pending.recoveryPassesAgain()) {
            List<String> again = new ArrayList<>(JVM);
            again.add(pending.halt());
            ServerProcess p = track(ServerProcess.start(again, Map.of(), serveArgs(data, config)));
            assertHalted(p, pending, pending + ", then again in start-up recovery");
        }
        List<String> jvm = new ArrayList<>(JVM);
        if (halt != null) {
            jvm.add(halt);
        }
        return serve(data, jvm, config);
    }

    /** Uploads {@code c}'s file; its last PATCH halts the server. */
    private void halt(ServerProcess server, Case c) throws Exception {
        c.id()[0] = create(server, c.filename());
        HttpResponse<String> part = patchTus(server, c.id()[0], 0, Arrays.copyOfRange(c.content(), 0, FIRST));
        assertThat(part.statusCode()).as("%s: first PATCH: %s", c, part.body()).isEqualTo(204);
        CompletableFuture<HttpResponse<String>> last = finalPatch(server, c.protocol(), c.id()[0], FIRST,
                Arrays.copyOfRange(c.content(), FIRST, LENGTH));
        assertHalted(server, c, c.toString());
        assertThat(answerOf(last)).as("%s: no answer from a server that halted in the finish", c).isNull();
    }

    /** After the restart: HEAD is the durable offset for the step, and the upload resumes or is complete. */
    private long checkAfterHalt(ServerProcess server, Case c) throws Exception {
        long expected = c.step().compareTo(FinishStep.RECORDED) >= 0 ? LENGTH : FIRST;
        // Before any request on the upload: start-up recovery, not a HEAD, must have finished it.
        assertThat(countListed(server, c.id()[0])).as("%s: listed when the server starts listening", c)
                .isEqualTo(expected == LENGTH ? 1 : 0);
        long offset = head(server, c.protocol(), c.id()[0], c.toString());
        assertThat(offset).as("%s: HEAD answers the durable offset", c).isEqualTo(expected);
        resumeAndCheck(server, c.protocol(), c.id()[0], c.content(), offset, c.toString());
        return offset;
    }

    @Test
    void killedAtRandomInstantsOfTheLastPatchTheUploadFinishesOnceWithItsJob() throws Exception {
        long seed = Long.getLong("sluice.crashSeed", new SecureRandom().nextLong());
        String replay = "seed " + seed + " (replay: -Dsluice.crashSeed=" + seed + ")";
        System.out.println("FinishCrashTest: " + replay);
        Random random = new Random(seed);
        Path config = pipelineConfig();
        Path data = dir.resolve("data");
        try {
            ServerProcess server = serve(data, JVM, config);
            // How long a last PATCH takes here, answer included: the kills are spread over about that window.
            byte[] warm = bytes(LENGTH, seed);
            String warmId = create(server);
            assertThat(patchTus(server, warmId, 0, Arrays.copyOfRange(warm, 0, FIRST)).statusCode()).isEqualTo(204);
            long t0 = System.nanoTime();
            HttpResponse<String> warmLast = finalPatch(server, Protocol.TUS, warmId, FIRST,
                    Arrays.copyOfRange(warm, FIRST, LENGTH)).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            long windowMicros = Math.max(2_000, (System.nanoTime() - t0) / 1_000);
            assertThat(warmLast.statusCode()).as(warmLast.body()).isEqualTo(204);
            checkFinished(server, warmId, warm, replay + ", warm-up");

            long deadline = System.nanoTime() + KILL_BUDGET.toNanos();
            int rounds = 0;
            int landedComplete = 0;
            while (rounds < KILL_ROUNDS && System.nanoTime() < deadline) {
                Protocol protocol = Protocol.values()[rounds % 2];
                byte[] content = bytes(LENGTH, random.nextLong());
                long delayMicros = (long) (random.nextDouble() * windowMicros * 1.5);
                String where = replay + ", round " + rounds + " (" + protocol + ", kill " + delayMicros
                        + " µs into the last PATCH of a " + windowMicros + " µs window)";
                String id = create(server);
                HttpResponse<String> part = patchTus(server, id, 0, Arrays.copyOfRange(content, 0, FIRST));
                assertThat(part.statusCode()).as("%s: first PATCH: %s", where, part.body()).isEqualTo(204);

                CompletableFuture<HttpResponse<String>> last = finalPatch(server, protocol, id, FIRST,
                        Arrays.copyOfRange(content, FIRST, LENGTH));
                TimeUnit.MICROSECONDS.sleep(delayMicros);
                kill(server);
                HttpResponse<String> answered = answerOf(last);

                server = serve(data, JVM, config);
                long offset = head(server, protocol, id, where);
                assertThat(offset).as("%s: HEAD after the restart", where).isIn((long) FIRST, (long) LENGTH);
                if (answered != null) {
                    assertThat(answered.statusCode()).as("%s: %s", where, answered.body()).isEqualTo(204);
                    assertThat(offset).as("%s: an acknowledged finish holds", where).isEqualTo(LENGTH);
                }
                if (offset == LENGTH) {
                    landedComplete++;
                }
                resumeAndCheck(server, protocol, id, content, offset, where);
                rounds++;
            }
            System.out.println("FinishCrashTest: " + rounds + " kills, " + landedComplete
                    + " found the upload finished after the restart, " + (rounds - landedComplete) + " resumed it");
            assertThat(rounds).as("kill rounds within %s", KILL_BUDGET).isGreaterThanOrEqualTo(3);
            server.sigterm();
            assertThat(server.waitFor(TIMEOUT)).isZero();
        } catch (AssertionError | Exception e) {
            System.err.println("FinishCrashTest failed with " + replay + "; server output:\n" + output);
            throw e;
        }
    }

    /**
     * The lazy path: a finish pending in the database (offset = length, still active: a crash after
     * {@link FinishStep#RECORDED} on a node whose start-up recovery has not run) is completed by an empty final
     * PATCH, which answers 204 with the record and the job, as the lost answer would have. The state is made on
     * disk beside a running in-process server: the rest of the bytes fsync'd into the resumable file and the offset
     * set, exactly what the final append leaves at that step.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Protocol.class)
    void anEmptyFinalPatchCompletesAPendingFinishOnce(Protocol protocol) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("sluice.test.postgres"),
                "makes the pending state with SQL on the SQLite file; on PostgreSQL the chained halts cover it");
        Path data = dir.resolve("data");
        byte[] content = bytes(LENGTH, 99L + protocol.ordinal());
        try (io.sluice.testing.TestServer server = io.sluice.testing.TestServer.start(data, pipelineConfig())) {
            URI base = server.uri("/");
            String id = create(base, "pending.bin");
            HttpResponse<String> part = send(tusPatch(base, Protocol.TUS, id, 0, Arrays.copyOfRange(content, 0, FIRST)));
            assertThat(part.statusCode()).as(part.body()).isEqualTo(204);

            Path partial = data.resolve("resumable").resolve(id.substring(id.length() - 2)).resolve(id);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(partial,
                    java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.APPEND)) {
                ch.write(java.nio.ByteBuffer.wrap(content, FIRST, LENGTH - FIRST));
                ch.force(true);
            }
            try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("sluice.db"));
                 java.sql.PreparedStatement ps = c.prepareStatement(
                         "UPDATE resumable_uploads SET upload_offset = upload_length, state = 'finishing', expires_at = NULL "
                                 + "WHERE id = ?")) {
                c.createStatement().execute("PRAGMA busy_timeout = 5000");
                ps.setString(1, id);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            assertThat(listed(base, id)).as("pending: not listed yet").isZero();

            HttpResponse<String> empty = send(tusPatch(base, protocol, id, LENGTH, new byte[0]));
            assertThat(empty.statusCode()).as(empty.body()).isEqualTo(204);
            assertThat(empty.headers().firstValue("Upload-Offset")).hasValue(String.valueOf(LENGTH));
            assertThat(empty.headers().firstValue("Sluice-Upload-Id")).hasValue(id);
            assertThat(empty.headers().firstValue("Sluice-Job-Id")).as("the job it queued now").isPresent();
            assertThat(listed(base, id)).isEqualTo(1);
            assertThat(jobs(base, id)).isEqualTo(1);
            assertThat(Json.parse(send(HttpRequest.newBuilder(base.resolve("/api/v1/uploads/" + id)).GET()).body())
                    .path("sha256").asText()).isEqualTo(sha256(content));
            assertThat(partial).doesNotExist();

            if (protocol == Protocol.TUS) {
                // Repeated: still accepted, and nothing is added.
                HttpResponse<String> again = send(tusPatch(base, protocol, id, LENGTH, new byte[0]));
                assertThat(again.statusCode()).as(again.body()).isEqualTo(204);
            }
            assertThat(listed(base, id)).isEqualTo(1);
            assertThat(jobs(base, id)).isEqualTo(1);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * After a restart with HEAD at {@code offset}: an unfinished upload is not listed and has no job yet, and a PATCH
     * with the rest finishes it; a finished one is listed, and an empty final PATCH (tus) is accepted. Either way
     * it ends listed once, with one job, its sha256 and its bytes.
     */
    private void resumeAndCheck(ServerProcess server, Protocol protocol, String id, byte[] content, long offset,
                                String where) throws Exception {
        if (offset < LENGTH) {
            assertThat(get(server, "/api/v1/uploads/" + id).statusCode()).as("%s: not listed before its end", where)
                    .isEqualTo(404);
            assertThat(jobsOf(server, id)).as("%s: no job before its end", where).isZero();
            Path partial = data(server).resolve("resumable").resolve(id.substring(id.length() - 2)).resolve(id);
            assertThat(Files.size(partial)).as("%s: the resumable file holds the offset", where)
                    .isGreaterThanOrEqualTo(offset);
            HttpResponse<String> rest = finalPatch(server, protocol, id, offset,
                    Arrays.copyOfRange(content, (int) offset, LENGTH)).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(rest.statusCode()).as("%s: PATCH at HEAD's offset: %s", where, rest.body()).isEqualTo(204);
            assertThat(rest.headers().firstValue("Upload-Offset")).as(where).hasValue(String.valueOf(LENGTH));
            assertThat(rest.headers().firstValue("Sluice-Upload-Id")).as(where).hasValue(id);
            assertThat(rest.headers().firstValue("Sluice-Job-Id")).as("%s: the job it queued", where).isPresent();
        } else {
            assertThat(countListed(server, id)).as("%s: listed once as soon as the server listens", where)
                    .isEqualTo(1);
            if (protocol == Protocol.TUS) {
                HttpResponse<String> empty = patchTus(server, id, LENGTH, new byte[0]);
                assertThat(empty.statusCode()).as("%s: empty PATCH at the end: %s", where, empty.body())
                        .isEqualTo(204);
                assertThat(empty.headers().firstValue("Upload-Offset")).as(where).hasValue(String.valueOf(LENGTH));
            }
        }
        checkFinished(server, id, content, where);
    }

    private void checkFinished(ServerProcess server, String id, byte[] content, String where) throws Exception {
        assertThat(countListed(server, id)).as("%s: listed exactly once", where).isEqualTo(1);
        assertThat(jobsOf(server, id)).as("%s: exactly one job", where).isEqualTo(1);
        JsonNode rec = Json.parse(get(server, "/api/v1/uploads/" + id).body());
        assertThat(rec.path("size").asLong()).as(where).isEqualTo(LENGTH);
        assertThat(rec.path("sha256").asText()).as("%s: sha256", where).isEqualTo(sha256(content));
        HttpResponse<byte[]> bytes = http.send(HttpRequest.newBuilder(uri(server, "/files/" + id)).timeout(TIMEOUT)
                .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(bytes.statusCode()).as(where).isEqualTo(200);
        assertThat(Arrays.equals(bytes.body(), content)).as("%s: byte-identical content", where).isTrue();
        Path partial = data(server).resolve("resumable").resolve(id.substring(id.length() - 2)).resolve(id);
        assertThat(partial).as("%s: no resumable file left", where).doesNotExist();
        try (Stream<Path> staged = Files.walk(data(server).resolve("tmp"))) {
            assertThat(staged.filter(Files::isRegularFile).toList()).as("%s: staged files", where).isEmpty();
        }
        assertThat(slotsHeld(server)).as("%s: upload slots held", where).isZero();
    }

    private long countListed(ServerProcess server, String id) throws Exception {
        return listed(uri(server, "/"), id);
    }

    private long jobsOf(ServerProcess server, String id) throws Exception {
        return jobs(uri(server, "/"), id);
    }

    private int slotsHeld(ServerProcess server) throws Exception {
        JsonNode detailed = Json.parse(get(server, "/health/detailed").body());
        return detailed.path("uploads").path("active").asInt();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Processes.

    /** Every upload gets a job: the noop pipeline is the default for every type. */
    private Path pipelineConfig() throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                pipelines:
                  count:
                    processor: noop
                    default: true
                """);
        return config;
    }

    private final Map<ServerProcess, Path> dataDirs = new java.util.HashMap<>();

    private ServerProcess serve(Path data, List<String> jvm, Path config) throws Exception {
        ServerProcess p = track(ServerProcess.start(jvm, Map.of(), serveArgs(data, config)));
        dataDirs.put(p, data);
        p.awaitListening(Duration.ofSeconds(60));
        return p;
    }

    private static String[] serveArgs(Path data, Path config) {
        return new String[]{"serve", "--port", "0", "--data", data.toString(), "--set", "limits.diskReserve=0",
                "--config", config.toString()};
    }

    private ServerProcess track(ServerProcess p) {
        started.add(p);
        return p;
    }

    private Path data(ServerProcess server) {
        return dataDirs.get(server);
    }

    /** The process halted itself (exit 137 from {@code Runtime.halt}) at exactly {@code c}'s step of its upload. */
    private void assertHalted(ServerProcess p, Case c, String where) throws Exception {
        assertThat(p.process().waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("%s: the server halted", where)
                .isTrue();
        Thread.sleep(100); // the output reader drains the last lines
        output.append(p.output()).append("---- halted ----\n");
        assertThat(p.process().exitValue()).as("%s: exit status of Runtime.halt", where).isEqualTo(137);
        assertThat(p.output()).as("%s: halted at the step", where).contains("halting at " + c.step() + " of upload " + c.id()[0]);
    }

    private void kill(ServerProcess p) throws Exception {
        p.process().destroyForcibly();
        assertThat(p.process().waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("killed").isTrue();
        output.append(p.output()).append("---- killed ----\n");
    }

    // ---------------------------------------------------------------------------------------------------------
    // HTTP.

    private String create(ServerProcess server) throws Exception {
        return create(server, "last.bin");
    }

    private String create(ServerProcess server, String filename) throws Exception {
        return create(uri(server, "/"), filename);
    }

    private String create(URI base, String filename) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/files/")).timeout(TIMEOUT)
                .header("Tus-Resumable", TusApi.VERSION)
                .header("Upload-Length", String.valueOf(LENGTH))
                .header("Upload-Metadata", "filename " + Base64.getEncoder()
                        .encodeToString(filename.getBytes(StandardCharsets.UTF_8)))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String location = r.headers().firstValue("Location").orElseThrow();
        return location.substring(location.lastIndexOf('/') + 1);
    }

    private HttpResponse<String> patchTus(ServerProcess server, String id, long offset, byte[] body)
            throws Exception {
        return finalPatch(server, Protocol.TUS, id, offset, body).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    /** A PATCH of {@code body} at {@code offset}; for the IETF draft (interop 8) one that completes the upload. */
    private CompletableFuture<HttpResponse<String>> finalPatch(ServerProcess server, Protocol protocol, String id,
                                                               long offset, byte[] body) {
        return http.sendAsync(tusPatch(uri(server, "/"), protocol, id, offset, body).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder tusPatch(URI base, Protocol protocol, String id, long offset, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("/files/" + id)).timeout(TIMEOUT)
                .header("Upload-Offset", String.valueOf(offset))
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body));
        if (protocol == Protocol.TUS) {
            b.header("Tus-Resumable", TusApi.VERSION).header("Content-Type", TusApi.OFFSET_OCTET_STREAM);
        } else {
            b.header("Upload-Draft-Interop-Version", "8").header("Upload-Complete", "?1")
                    .header("Content-Type", "application/partial-upload");
        }
        return b;
    }

    /** HEAD in the protocol's own terms; the IETF draft also says whether the upload is complete. */
    private long head(ServerProcess server, Protocol protocol, String id, String where) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(server, "/files/" + id)).timeout(TIMEOUT)
                .method("HEAD", HttpRequest.BodyPublishers.noBody());
        if (protocol == Protocol.TUS) {
            b.header("Tus-Resumable", TusApi.VERSION);
        } else {
            b.header("Upload-Draft-Interop-Version", "8");
        }
        HttpResponse<Void> r = http.send(b.build(), HttpResponse.BodyHandlers.discarding());
        assertThat(r.statusCode()).as("%s: HEAD", where).isEqualTo(protocol == Protocol.TUS ? 200 : 204);
        long offset = Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
        if (protocol == Protocol.IETF) {
            assertThat(r.headers().firstValue("Upload-Complete")).as("%s: Upload-Complete at %d", where, offset)
                    .hasValue(offset == LENGTH ? "?1" : "?0");
        }
        return offset;
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
    }

    private long listed(URI base, String id) throws Exception {
        return count(Json.parse(send(HttpRequest.newBuilder(base.resolve("/api/v1/uploads?limit=500")).GET()).body())
                .path("uploads"), "id", id);
    }

    private long jobs(URI base, String id) throws Exception {
        return count(Json.parse(send(HttpRequest.newBuilder(base.resolve("/api/v1/jobs?limit=500")).GET()).body())
                .path("jobs"), "uploadId", id);
    }

    private static long count(JsonNode list, String field, String id) {
        assertThat(list.isArray()).as("listing: %s", list).isTrue();
        long n = 0;
        for (JsonNode node : list) {
            n += id.equals(node.path(field).asText()) ? 1 : 0;
        }
        return n;
    }

    private HttpResponse<String> get(ServerProcess server, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(server, path)).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The answer a killed or halted server got out before it died, or null when the connection just broke. */
    private static HttpResponse<String> answerOf(CompletableFuture<HttpResponse<String>> response)
            throws Exception {
        try {
            return response.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return null;
        }
    }

    private static URI uri(ServerProcess server, String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
