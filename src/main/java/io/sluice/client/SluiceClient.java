package io.sluice.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The HTTP side of the command-line client: JSON calls to the API and the retry policy shared with
 * {@link TusClient}. One instance per command run; thread-safe.
 *
 * <p>Retries: 503 and 429 (the server sheds load) and 423 (an upload still locked by a request that is going away)
 * are retried after {@code Retry-After} (or a growing backoff when absent), at most {@link #MAX_RETRIES} times and
 * never waiting longer than {@link #MAX_WAIT} at once; anything else is answered to the caller.
 */
public final class SluiceClient {

    public static final int MAX_RETRIES = 30;
    static final Duration MAX_WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI server;
    private final String key;
    private final HttpClient http;
    private final Consumer<String> notices;

    /**
     * @param server  base URL, e.g. {@code http://127.0.0.1:8080}
     * @param key     sent as {@code Authorization: Bearer <key>}; null for none
     * @param notices where retry notices go (one line each)
     */
    public SluiceClient(URI server, String key, Consumer<String> notices) {
        String s = server.toString();
        this.server = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
        this.key = key == null || key.isBlank() ? null : key;
        this.notices = notices;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .version(HttpClient.Version.HTTP_1_1).build();
    }

    public URI server() {
        return server;
    }

    /** An absolute URI for a path on the server. */
    public URI uri(String path) {
        return URI.create(server + path);
    }

    /** A request builder with the common headers set. */
    HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    /** GET a JSON document; a non-2xx answer is a {@link ClientException} with the server's error message. */
    public JsonNode getJson(String path) throws ClientException, InterruptedException {
        return json(send(request(uri(path)).GET().header("Accept", "application/json").build()));
    }

    /** GET a JSON document, whatever the status (for {@code /health/*}, which answers 503 with a body). */
    public Response getAny(String path) throws ClientException, InterruptedException {
        HttpResponse<byte[]> r = send(request(uri(path)).GET().header("Accept", "application/json").build());
        return new Response(r.statusCode(), parse(r.body()));
    }

    /** POST without a body and read the JSON answer. */
    public JsonNode postJson(String path) throws ClientException, InterruptedException {
        return json(send(request(uri(path)).POST(HttpRequest.BodyPublishers.noBody())
                .header("Accept", "application/json").build()));
    }

    public record Response(int status, JsonNode body) {
    }

    /** DELETE; a non-2xx answer is a {@link ClientException}. */
    public void delete(String path) throws ClientException, InterruptedException {
        HttpResponse<byte[]> r = send(request(uri(path)).DELETE().header("Accept", "application/json").build());
        if (r.statusCode() / 100 != 2) {
            throw error(r);
        }
    }

    /**
     * GET whose body is streamed, never held whole: the caller reads and closes it. A 2xx answer (200, 206) is
     * returned; anything else is a {@link ClientException} (and its body closed). A redirect ({@code 302} of
     * {@code storage.downloads: redirect}, a presigned URL) is followed once, without our Authorization header,
     * which the URL's own signature replaces.
     *
     * @param headers extra request headers, e.g. {@code Range}
     */
    public HttpResponse<InputStream> stream(String path, Map<String, String> headers)
            throws ClientException, InterruptedException {
        HttpRequest.Builder b = request(uri(path)).GET();
        headers.forEach(b::header);
        HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() / 100 == 3 && r.headers().firstValue("Location").isPresent()) {
            close(r);
            HttpRequest.Builder away = HttpRequest.newBuilder(uri(path).resolve(r.headers().firstValue("Location")
                    .orElseThrow())).timeout(Duration.ofMinutes(10)).GET();
            headers.forEach(away::header);
            r = send(away.build(), HttpResponse.BodyHandlers.ofInputStream());
        }
        if (r.statusCode() / 100 != 2) {
            byte[] body;
            try (InputStream in = r.body()) {
                body = in.readNBytes(64 * 1024); // an error body is small; never read a large one whole
            } catch (IOException e) {
                body = new byte[0];
            }
            throw error(r.statusCode(), body);
        }
        return r;
    }

    private static void close(HttpResponse<?> r) {
        if (r.body() instanceof InputStream in) {
            try {
                in.close();
            } catch (IOException ignored) {
                // the connection is dropped; nothing else to do
            }
        }
    }

    /** Sends with the retry policy; a failure to connect or a broken exchange is a {@link ClientException}. */
    HttpResponse<byte[]> send(HttpRequest request) throws ClientException, InterruptedException {
        return send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
            throws ClientException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            HttpResponse<T> r;
            try {
                r = http.send(request, handler);
            } catch (ConnectException e) {
                throw new ClientException("cannot reach " + server + " (" + describe(e) + ")", e);
            } catch (IOException e) {
                throw new ClientException(request.method() + " " + request.uri().getPath() + " failed: "
                        + describe(e), e);
            }
            Optional<Duration> wait = retryWait(r, attempt);
            if (wait.isEmpty()) {
                return r;
            }
            close(r);
            notices.accept("server answered " + r.statusCode() + " " + errorCode(r) + " to " + request.method() + " "
                    + request.uri().getPath() + "; retrying in " + seconds(wait.get()) + " (attempt " + attempt
                    + " of " + MAX_RETRIES + ")");
            Thread.sleep(wait.get());
        }
    }

    /** How long to wait before retrying, or empty when the answer is final. */
    static Optional<Duration> retryWait(HttpResponse<?> r, int attempt) {
        int s = r.statusCode();
        if ((s != 503 && s != 429 && s != 423) || attempt >= MAX_RETRIES) {
            return Optional.empty();
        }
        Duration backoff = Duration.ofMillis(Math.min(MAX_WAIT.toMillis(), 250L << Math.min(attempt - 1, 10)));
        Duration wait = r.headers().firstValue("Retry-After").flatMap(SluiceClient::parseSeconds).orElse(backoff);
        return Optional.of(wait.compareTo(MAX_WAIT) > 0 ? MAX_WAIT : wait);
    }

    private static Optional<Duration> parseSeconds(String v) {
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v.strip()))));
        } catch (NumberFormatException e) {
            return Optional.empty(); // an HTTP date: fall back to our own backoff
        }
    }

    static JsonNode json(HttpResponse<byte[]> r) throws ClientException {
        if (r.statusCode() / 100 != 2) {
            throw error(r);
        }
        return parse(r.body());
    }

    /** The server's JSON error as an exception whose message reads {@code 404 not_found: job x}. */
    static ClientException error(HttpResponse<byte[]> r) {
        return error(r.statusCode(), r.body());
    }

    private static ClientException error(int status, byte[] raw) {
        JsonNode body = parse(raw);
        String code = body.path("error").path("code").asText(null);
        String message = body.path("error").path("message").asText(null);
        return new ClientException(status, code, status + (code == null ? "" : " " + code)
                + (message == null ? "" : ": " + message));
    }

    private static String errorCode(HttpResponse<?> r) {
        return r.body() instanceof byte[] b ? parse(b).path("error").path("code").asText("") : "";
    }

    static JsonNode parse(byte[] body) {
        if (body == null || body.length == 0) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }
}
