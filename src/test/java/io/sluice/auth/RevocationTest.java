package io.sluice.auth;

import io.sluice.Application;
import io.sluice.db.Database;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.RawResponse;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Revocation ends what a key holds open: its event streams (global and per job, Bearer and {@code access_token})
 * end within the key cache period plus a few seconds, whether the key is revoked through the API of this server or
 * in the database by another process ({@code sluice keys revoke}, another node); a reconnect is refused with 401.
 * An upload already in flight finishes its request; the next request of the key is refused.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RevocationTest {

    /** The key cache period, one re-check interval and a margin for a loaded machine. */
    private static final Duration ENDS_WITHIN = Duration.ofSeconds(6);

    @TempDir
    Path dir;

    /** A stream read on a thread of its own; {@link #ended} completes (with everything read) at end of stream. */
    private record Stream(HttpResponse<InputStream> response, StringBuffer seen, CompletableFuture<String> ended)
            implements AutoCloseable {

        static Stream open(AuthTestSupport http, TestServer server, String path, String key) throws Exception {
            HttpResponse<InputStream> r = server.client().send(http.request(path, key).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).as(path).isEqualTo(200);
            CompletableFuture<String> ended = new CompletableFuture<>();
            StringBuffer seen = new StringBuffer();
            Thread.ofVirtual().start(() -> {
                try (InputStream in = r.body()) {
                    byte[] b = new byte[4096];
                    for (int n; (n = in.read(b)) >= 0; ) {
                        seen.append(new String(b, 0, n, StandardCharsets.UTF_8));
                    }
                } catch (Exception e) {
                    seen.append("(").append(e).append(")");
                }
                ended.complete(seen.toString());
            });
            return new Stream(r, seen, ended);
        }

        /** What the stream sent in all, once it ended; fails when it is still open after {@code timeout}. */
        String awaitEnd(Duration timeout) throws Exception {
            return ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() throws Exception {
            response.body().close();
        }
    }

    private TestServer server() throws Exception {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, """
                jobs:
                  pollInterval: 50ms
                pipelines:
                  noop:
                    processor: noop
                """);
        return TestServer.start(dir.resolve("data"), config);
    }

    private static String uploadWithJob(AuthTestSupport http, String key, String name) throws Exception {
        HttpResponse<String> r = http.send("PUT", "/api/v1/uploads/" + name + "?pipeline=noop", key,
                "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).at("/uploads/0/job/id").asText();
    }

    @Test
    void revokingThroughTheApiEndsEveryStreamOfTheKeyAndItsNextRequests() throws Exception {
        List<Stream> open = new ArrayList<>();
        try (TestServer server = server()) {
            AuthTestSupport http = new AuthTestSupport(server);
            AuthTestSupport.Key admin = http.create(null, "{\"name\":\"ops\",\"admin\":true}");
            AuthTestSupport.Key user = http.create(admin.secret(), "{\"name\":\"app\"}");
            AuthTestSupport.Key other = http.create(admin.secret(), "{\"name\":\"other\"}");
            String job = uploadWithJob(http, user.secret(), "a.txt");

            String token = "?access_token=" + user.secret();
            List<Stream> revoked = new ArrayList<>();
            for (String[] s : new String[][]{{"/api/v1/events", user.secret()}, {"/api/v1/events" + token, null},
                    {"/api/v1/jobs/" + job + "/events", user.secret()}, {"/api/v1/jobs/" + job + "/events" + token, null}}) {
                Stream stream = Stream.open(http, server, s[0], s[1]);
                open.add(stream);
                revoked.add(stream);
            }
            Stream kept = Stream.open(http, server, "/api/v1/events", other.secret());
            open.add(kept);

            // An upload of the key in flight when it is revoked: headers and half its body are in.
            byte[] body = HeldUpload.bytes(64 * 1024, 7);
            try (HeldUpload held = HeldUpload.start(server.port(), null, "held.bin", body, body.length / 2,
                    "Authorization: Bearer " + user.secret() + "\r\n")) {
                // The server has accepted the upload (it holds a slot) before the key goes.
                Await.until(Duration.ofSeconds(10), "the upload is in flight",
                        () -> server.app().admission().activeUploads() > 0);

                assertThat(http.send("DELETE", "/api/v1/keys/" + user.id(), admin.secret(), null).statusCode())
                        .isEqualTo(204);
                for (Stream s : revoked) {
                    assertThat(s.awaitEnd(ENDS_WITHIN)).contains("revoked");
                }

                // Its current request finishes; the next one is refused.
                RawResponse done = held.finish();
                assertThat(done.status()).as(done.body()).isEqualTo(201);
                assertThat(Json.parse(done.body()).at("/uploads/0/sha256").asText())
                        .isEqualTo(HeldUpload.sha256(body));
            }
            http.refused(http.send("PUT", "/api/v1/uploads/next.bin", user.secret(), "x".getBytes()),
                    401, "unauthorized");

            // Reconnects are refused, by header and by access_token.
            http.refused(http.get("/api/v1/events", user.secret()), 401, "unauthorized");
            http.refused(http.get("/api/v1/events" + token, null), 401, "unauthorized");
            http.refused(http.get("/api/v1/jobs/" + job + "/events", user.secret()), 401, "unauthorized");
            http.refused(http.get("/api/v1/jobs/" + job + "/events" + token, null), 401, "unauthorized");

            // Another key's stream is untouched: still open, and still delivering.
            uploadWithJob(http, other.secret(), "b.txt");
            Await.until(Duration.ofSeconds(10), "the other key's stream delivers",
                    () -> kept.seen().toString().contains("upload.completed"));
            assertThat(kept.ended()).isNotDone();
            server.assertNothingLeftBehind();
        } finally {
            for (Stream s : open) {
                s.close();
            }
        }
    }

    @Test
    void aKeyRevokedInTheDatabaseByAnotherProcessEndsItsStreamsToo() throws Exception {
        List<Stream> open = new ArrayList<>();
        try (TestServer server = server()) {
            AuthTestSupport http = new AuthTestSupport(server);
            AuthTestSupport.Key admin = http.create(null, "{\"name\":\"ops\",\"admin\":true}");
            AuthTestSupport.Key user = http.create(admin.secret(), "{\"name\":\"app\"}");
            Stream stream = Stream.open(http, server, "/api/v1/events?access_token=" + user.secret(), null);
            open.add(stream);
            // Keep the key's cache entry fresh, so only the re-read after the cache period can see the revocation.
            assertThat(http.get("/api/v1/uploads", user.secret()).statusCode()).isEqualTo(200);

            // What 'sluice keys revoke' (or another node) does: the database changes, this server's cache does not.
            try (Database db = Application.openDatabase(server.app().config())) {
                assertThat(new ApiKeys(db, Clock.systemUTC()).revoke(user.id())).isPresent();
            }
            assertThat(stream.awaitEnd(ENDS_WITHIN)).contains("revoked");
            http.refused(http.get("/api/v1/events?access_token=" + user.secret(), null), 401, "unauthorized");
            server.assertNothingLeftBehind();
        } finally {
            for (Stream s : open) {
                s.close();
            }
        }
    }
}
