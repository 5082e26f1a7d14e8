package io.sluice.tus;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A deliberately plain tus 1.0 client over {@code java.net.http} for protocol tests: it sends exactly the headers
 * a test names, plus {@code Tus-Resumable: 1.0.0} unless the test says otherwise, and hides nothing the server
 * answers. Paths are server-relative ({@code /files/<id>}).
 */
record Tus(TestServer server) {

    static final String VERSION = "1.0.0";
    static final String BASE = "/files/";
    static final String OCTETS = "application/offset+octet-stream";
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    /**
     * Sends one request. {@code headers} are name/value pairs; a later pair replaces an earlier one of the same
     * name and a null value drops the header, so {@code "Tus-Resumable", null} sends none.
     */
    HttpResponse<String> send(String method, String path, byte[] body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(path.startsWith("http") ? URI.create(path) : server.uri(path))
                .timeout(REQUEST_TIMEOUT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        Map<String, String> all = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        all.put("Tus-Resumable", VERSION);
        for (int i = 0; i < headers.length; i += 2) {
            all.put(headers[i], headers[i + 1]);
        }
        all.forEach((name, value) -> {
            if (value != null) {
                b.header(name, value);
            }
        });
        return server.send(b.build());
    }

    /** {@code POST /files} with {@code Upload-Length} and the extra headers; no body. */
    HttpResponse<String> create(long length, String... headers) throws IOException, InterruptedException {
        return send("POST", collection(), null, prepend(headers, "Upload-Length", Long.toString(length)));
    }

    /** Creates an upload and returns its path, after checking the 201 and its Location. */
    String created(long length, String... headers) throws IOException, InterruptedException {
        return locationOf(create(length, headers));
    }

    /** The path of a 201's Location, after checking the status and the tus headers. */
    static String locationOf(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("creation status, body %s", r.body()).isEqualTo(201);
        assertTusResumable(r);
        String location = r.headers().firstValue("Location").orElseThrow(() -> new AssertionError("no Location"));
        String path = URI.create(location).getPath();
        assertThat(path).startsWith(BASE);
        return path;
    }

    HttpResponse<String> head(String path, String... headers) throws IOException, InterruptedException {
        return send("HEAD", path, null, headers);
    }

    /** {@code PATCH} at {@code offset} with the right Content-Type and the extra headers. */
    HttpResponse<String> patch(String path, long offset, byte[] body, String... headers)
            throws IOException, InterruptedException {
        return send("PATCH", path, body, prepend(headers, "Upload-Offset", Long.toString(offset),
                "Content-Type", OCTETS));
    }

    /** A PATCH that must succeed: checks 204 and the new offset. */
    HttpResponse<String> patchOk(String path, long offset, byte[] body, String... headers)
            throws IOException, InterruptedException {
        HttpResponse<String> r = patch(path, offset, body, headers);
        assertThat(r.statusCode()).as("PATCH status, body %s", r.body()).isEqualTo(204);
        assertTusResumable(r);
        assertThat(r.headers().firstValue("Upload-Offset")).hasValue(Long.toString(offset + body.length));
        return r;
    }

    HttpResponse<String> delete(String path) throws IOException, InterruptedException {
        return send("DELETE", path, null);
    }

    /** The offset HEAD reports, after checking the 200. */
    long offset(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = head(path);
        assertThat(r.statusCode()).as("HEAD status of %s", path).isEqualTo(200);
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    /** The finished upload's record at {@code /api/v1/uploads/{id}}. */
    JsonNode record(String id) throws IOException, InterruptedException {
        HttpResponse<String> r = server.get("/api/v1/uploads/" + id);
        assertThat(r.statusCode()).as("record of %s: %s", id, r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    /** Files of this upload left under {@code <dataDir>/resumable} (its bytes while unfinished). */
    long resumableFiles(String id) throws IOException {
        return filesNamed(server.dataDir().resolve("resumable"), id);
    }

    static long filesNamed(Path root, String name) throws IOException {
        if (!Files.exists(root)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().equals(name)).count();
        }
    }

    static long regularFiles(Path root) throws IOException {
        if (!Files.exists(root)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    String collection() {
        return BASE.substring(0, BASE.length() - 1);
    }

    static String id(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    // ------------------------------------------------------------------------------------------- assertions

    /** Every tus answer, error or not, says which version it speaks. */
    static void assertTusResumable(HttpResponse<?> r) {
        assertThat(r.headers().firstValue("Tus-Resumable")).as("Tus-Resumable of a %d", r.statusCode())
                .hasValue(VERSION);
    }

    /** Status, Tus-Resumable and the JSON {@code error.code}; returns the {@code error} object. */
    static JsonNode assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as("status, body %s", r.body()).isEqualTo(status);
        assertTusResumable(r);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                ct -> assertThat(ct).startsWith("application/json"));
        JsonNode error = Json.parse(r.body()).path("error");
        assertThat(error.path("code").asText()).as("error.code of %s", r.body()).isEqualTo(code);
        assertThat(error.path("requestId").asText()).as("error.requestId").isNotEmpty();
        return error;
    }

    /** A HEAD answer has no body: status and tus headers only. */
    static void assertHeadStatus(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).isEqualTo(status);
        assertTusResumable(r);
        assertThat(r.body()).isEmpty();
    }

    // ------------------------------------------------------------------------------------------- data

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Reproducible non-text bytes. */
    static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] slice(byte[] all, int from, int to) {
        byte[] part = new byte[to - from];
        System.arraycopy(all, from, part, 0, part.length);
        return part;
    }

    static String sha256(byte[] data) {
        return HexFormat.of().formatHex(digest("SHA-256", data));
    }

    /** An {@code Upload-Checksum} value. */
    static String checksum(String tusName, String jcaName, byte[] data) {
        return tusName + " " + Base64.getEncoder().encodeToString(digest(jcaName, data));
    }

    static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String[] prepend(String[] headers, String... first) {
        String[] all = new String[first.length + headers.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(headers, 0, all, first.length, headers.length);
        return all;
    }
}
