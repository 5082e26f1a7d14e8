package io.sluice.http;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.sluice.auth.Redaction;
import io.sluice.testing.Json;
import io.sluice.testing.ServerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Upload tokens never reach a log line: a real server process (DEBUG logging) is sent valid and refused JWTs in
 * {@code Authorization} headers, as {@code access_token} on an event stream and on a route that does not take it,
 * and inside a path; none of the tokens' segments may appear in its console or log files.
 */
class TokenRedactionTest {

    private static final String SECRET = "redaction-test-secret-of-32-bytes-or-more";

    @TempDir
    Path dir;

    @Test
    void noUploadTokenReachesALogLine() throws Exception {
        Path data = dir.resolve("data");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        List<String> tokens = new ArrayList<>();
        try (ServerProcess server = ServerProcess.serve(data, List.of(), "--set", "auth.jwt.hmacSecret=" + SECRET,
                "--set", "logging.level=DEBUG")) {
            String base = "http://127.0.0.1:" + server.port();
            // auth.jwt ends open mode: no key is needed to make tokens count.
            HttpResponse<String> keyless = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(keyless.statusCode()).as(keyless.body()).isEqualTo(401);

            String valid = token("alice", SECRET);
            String forged = token("mallory", "another-secret-of-at-least-32-bytes-long");
            String stream = token("bob", SECRET);
            String inPath = token("carol", SECRET);
            tokens.addAll(List.of(valid, forged, stream, inPath));

            HttpResponse<String> up = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads/a.txt"))
                    .header("Authorization", "Bearer " + valid)
                    .PUT(HttpRequest.BodyPublishers.ofString("hello")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
            HttpResponse<String> refused = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads"))
                    .header("Authorization", "Bearer " + forged).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(Json.errorCode(refused.body())).isEqualTo("invalid_token");
            HttpResponse<InputStream> events = client.send(HttpRequest.newBuilder(URI.create(base
                    + "/api/v1/events?access_token=" + stream)).build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = events.body()) {
                assertThat(events.statusCode()).isEqualTo(200);
                in.readNBytes("retry:".length());
            }
            HttpResponse<String> notThere = client.send(HttpRequest.newBuilder(URI.create(base
                    + "/api/v1/uploads?access_token=" + valid)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(notThere.statusCode()).isEqualTo(401);
            HttpResponse<String> path = client.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/uploads/"
                    + inPath)).header("Authorization", "Bearer " + valid).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(path.statusCode()).isEqualTo(404);

            server.sigterm();
            server.waitFor(Duration.ofSeconds(30));
            StringBuilder logs = new StringBuilder(server.output());
            try (Stream<Path> files = Files.list(data.resolve("logs"))) {
                for (Path f : files.toList()) {
                    logs.append(Files.readString(f, StandardCharsets.UTF_8));
                }
            }
            String all = logs.toString();
            assertThat(all).contains("access_token=" + Redaction.MASK);
            for (String t : tokens) {
                for (String segment : t.split("\\.")) {
                    assertThat(all).as("log output").doesNotContain(segment.substring(10));
                }
            }
        }
    }

    private static String token(String subject, String secret) throws Exception {
        Instant now = Instant.now();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject(subject)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600))).build());
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }
}
