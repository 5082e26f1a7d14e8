package io.sluice.upload;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.Multipart;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Helpers shared by the direct-upload tests; kept here so the common harness stays small. */
final class UploadTestSupport {

    static final String UPLOADS = "/api/v1/uploads";

    private UploadTestSupport() {
    }

    static HttpResponse<String> post(TestServer server, Multipart body) throws IOException, InterruptedException {
        return post(server, body.contentType(), body.build());
    }

    static HttpResponse<String> post(TestServer server, String contentType, byte[] body)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(UPLOADS))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return server.send(b.build());
    }

    /** The {@code uploads} array of a 201 answer, after checking the status. */
    static JsonNode created(HttpResponse<String> r) {
        assertThat(r.statusCode()).as("status of %s", r.body()).isEqualTo(201);
        assertThat(r.headers().firstValue("X-Request-Id")).as("X-Request-Id").isPresent();
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        JsonNode uploads = Json.parse(r.body()).path("uploads");
        assertThat(uploads.isArray()).as("uploads array in %s", r.body()).isTrue();
        return uploads;
    }

    static HttpResponse<byte[]> getBytes(TestServer server, String path, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return server.client().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Every id the list endpoint shows, following cursors. */
    static List<String> listAllIds(TestServer server) throws IOException, InterruptedException {
        List<String> ids = new ArrayList<>();
        String cursor = null;
        for (int page = 0; page < 1000; page++) {
            HttpResponse<String> r = server.get(UPLOADS + "?limit=500" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode body = Json.parse(r.body());
            body.path("uploads").forEach(u -> ids.add(u.path("id").asText()));
            JsonNode next = body.path("nextCursor");
            if (next.isNull() || next.isMissingNode()) {
                return ids;
            }
            cursor = next.asText();
        }
        throw new AssertionError("list did not end");
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Printable ASCII lines of a given size (sniffs as text/plain). */
    static byte[] textOfSize(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (i % 64 == 63) ? (byte) '\n' : (byte) ('a' + rnd.nextInt(26));
        }
        return b;
    }

    /** Waits, up to a deadline, for a condition about the server's internals. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /** A response read off a raw socket. Header names are lower-cased. */
    record RawResponse(int status, Map<String, String> headers, String body) {

        static RawResponse parse(String raw) {
            int end = raw.indexOf("\r\n\r\n");
            if (!raw.startsWith("HTTP/1.1 ") || end < 0) {
                return null;
            }
            String[] lines = raw.substring(0, end).split("\r\n");
            int status = Integer.parseInt(lines[0].substring(9, 12));
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
            String body = raw.substring(end + 4);
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                body = dechunk(body);
            } else if (headers.containsKey("content-length")) {
                int len = Integer.parseInt(headers.get("content-length"));
                body = body.substring(0, Math.min(len, body.length()));
            }
            return new RawResponse(status, headers, body);
        }

        private static String dechunk(String s) {
            StringBuilder out = new StringBuilder();
            int i = 0;
            while (i < s.length()) {
                int eol = s.indexOf("\r\n", i);
                if (eol < 0) {
                    break;
                }
                int size = Integer.parseInt(s.substring(i, eol).split(";")[0].trim(), 16);
                if (size == 0) {
                    break;
                }
                out.append(s, eol + 2, Math.min(s.length(), eol + 2 + size));
                i = eol + 2 + size + 2;
            }
            return out.toString();
        }

        String bodyUtf8() {
            return new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        }
    }

    /** Sends {@code head} and {@code body} on a fresh socket and reads until the server closes. */
    static RawResponse raw(TestServer server, String head, byte[] body) throws IOException {
        try (RawHttp http = new RawHttp(server.port(), 10_000)) {
            http.send(head);
            if (body != null) {
                http.send(body);
            }
            String text = http.readAll();
            RawResponse r = RawResponse.parse(text);
            assertThat(r).as("an HTTP response, got: %s", text).isNotNull();
            return r;
        }
    }

    /** The request head of a raw PUT; always asks the server to close so {@link RawHttp#readAll()} ends. */
    static String putHead(String filename, String lengthHeader) {
        return "PUT " + UPLOADS + "/" + filename + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + lengthHeader + "\r\n\r\n";
    }

    static String postHead(String contentType, String lengthHeader) {
        return "POST " + UPLOADS + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: " + contentType
                + "\r\n" + lengthHeader + "\r\n\r\n";
    }

    /** {@code bytes} as HTTP/1.1 chunks of {@code chunkSize}, with the terminating chunk. */
    static byte[] chunked(byte[] bytes, int chunkSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int off = 0; off < bytes.length; off += chunkSize) {
            int n = Math.min(chunkSize, bytes.length - off);
            out.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes, off, n);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** A multipart body whose part headers the test writes itself (e.g. {@code filename*=}). */
    static final class RawMultipart {
        private final String boundary;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        RawMultipart(String boundary) {
            this.boundary = boundary;
        }

        /** @param headers part header lines without the final CRLF, e.g. {@code Content-Disposition: ...} */
        RawMultipart part(String headers, byte[] content) {
            out.writeBytes(("--" + boundary + "\r\n" + headers + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.writeBytes(content);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        RawMultipart file(String disposition, byte[] content) {
            return part("Content-Disposition: form-data; " + disposition, content);
        }

        byte[] build() {
            ByteArrayOutputStream copy = new ByteArrayOutputStream();
            copy.writeBytes(out.toByteArray());
            copy.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            return copy.toByteArray();
        }

        String contentType() {
            return "multipart/form-data; boundary=" + boundary;
        }
    }
}
