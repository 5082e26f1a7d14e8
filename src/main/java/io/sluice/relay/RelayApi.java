package io.sluice.relay;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Routes;
import io.sluice.config.RelayConfig;
import io.sluice.http.RequestIds;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.http.MultiPart;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * {@code POST /relay/{name}}: a JSON or multipart/form-data request passed on to the relay's targets (see
 * {@link Relay}), and the answering target's status, content type and body passed back.
 *
 * <p>JSON bodies (at most {@value #MAX_JSON_BYTES} bytes) are forwarded byte for byte. Multipart bodies are parsed
 * as they arrive: files are spooled to {@code <dataDir>/relay-tmp} (at most {@code maxFiles} of at most
 * {@code maxFileSize} bytes, else 413 {@code too_many_files} / {@code file_too_large}), then a new multipart body
 * is streamed from those files to each target tried; the files are deleted when the request ends, whatever
 * happened. Relays are not uploads: nothing is stored, and upload admission does not apply (each route has its
 * own {@code maxConnections}).
 */
public final class RelayApi {

    static final int MAX_JSON_BYTES = 1 << 20;
    /** Multipart overhead allowed on top of the files: part headers and form fields. */
    static final long MULTIPART_OVERHEAD = (long) RelayParts.MAX_FIELDS * (RelayParts.MAX_FIELD_BYTES + 1024);
    static final String TMP_DIR = "relay-tmp";

    private final Map<String, Relay> relays = new LinkedHashMap<>();
    private final Path tmpDir;

    /**
     * Creates {@code <dataDir>/relay-tmp} and removes what a crashed process left in it.
     */
    public RelayApi(List<RelayConfig> configs, Path dataDir) throws IOException {
        this.tmpDir = dataDir.resolve(TMP_DIR);
        Files.createDirectories(tmpDir);
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(tmpDir)) {
            for (Path p : leftovers) {
                Files.deleteIfExists(p);
            }
        }
        // One client for every relay: it pools connections per target. HTTP/1.1: targets are often simple
        // services that an h2c upgrade attempt would only confuse.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
        for (RelayConfig c : configs) {
            relays.put(c.name(), new Relay(c, client));
        }
    }

    public void register(Routes routes) {
        routes.add("POST", "/relay/{name}", this::post);
    }

    void post(Exchange ex) throws Exception {
        Relay relay = relays.get(ex.param("name"));
        if (relay == null) {
            throw ApiException.notFound("relay '" + ex.param("name") + "'");
        }
        String contentType = ex.header(HttpHeader.CONTENT_TYPE);
        String base = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        boolean json = base.equals("application/json") || (base.startsWith("application/") && base.endsWith("+json"));
        boolean multipart = MimeTypes.getBaseType(contentType == null ? "" : contentType)
                == MimeTypes.Type.MULTIPART_FORM_DATA;
        if (!json && !multipart) {
            throw ErrorCode.UNSUPPORTED_CONTENT_TYPE.error(
                    "a relay takes Content-Type application/json or multipart/form-data");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        String accept = ex.header(HttpHeader.ACCEPT);
        if (accept != null) {
            headers.put("Accept", accept);
        }
        headers.put("X-Request-Id", RequestIds.get(ex.request()));
        relay.acquire();
        Relay.Answer answer;
        try {
            if (json) {
                answer = relayJson(ex, relay, contentType, headers);
            } else {
                answer = relayMultipart(ex, relay, contentType, headers);
            }
        } finally {
            relay.release();
        }
        ex.response().setStatus(answer.status());
        if (answer.contentType() != null) {
            ex.response().getHeaders().put(HttpHeader.CONTENT_TYPE, answer.contentType());
        }
        if (answer.status() == 204 || answer.status() == 304) {
            ex.write(true, null); // no body, and no Content-Length either (RFC 9110 8.6)
            return;
        }
        ex.response().getHeaders().put(HttpHeader.CONTENT_LENGTH, answer.body().length);
        ex.write(true, ByteBuffer.wrap(answer.body()));
    }

    private Relay.Answer relayJson(Exchange ex, Relay relay, String contentType, Map<String, String> headers)
            throws IOException, InterruptedException {
        long declared = ex.request().getLength();
        if (declared > MAX_JSON_BYTES) {
            throw jsonTooLarge();
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ex.readBody(MAX_JSON_BYTES, RelayApi::jsonTooLarge, chunk -> {
            ByteBuffer b = chunk.getByteBuffer().slice();
            byte[] tmp = new byte[b.remaining()];
            b.get(tmp);
            body.writeBytes(tmp);
        });
        byte[] bytes = body.toByteArray();
        headers.put("Content-Type", contentType);
        return relay.send(() -> HttpRequest.BodyPublishers.ofByteArray(bytes), headers);
    }

    private Relay.Answer relayMultipart(Exchange ex, Relay relay, String contentType, Map<String, String> headers)
            throws IOException, InterruptedException {
        String boundary = boundary(contentType);
        if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
            throw ErrorCode.MALFORMED_MULTIPART.error("the multipart Content-Type has no valid boundary");
        }
        RelayConfig c = relay.config();
        long max;
        try {
            max = Math.addExact(Math.multiplyExact(Math.max(1, c.maxFiles()), c.maxFileSize()), MULTIPART_OVERHEAD);
        } catch (ArithmeticException e) {
            max = Long.MAX_VALUE;
        }
        long declared = ex.request().getLength();
        if (declared > max) {
            throw requestTooLarge(max);
        }
        try (RelayParts parts = new RelayParts(tmpDir, c.maxFiles(), c.maxFileSize())) {
            MultiPart.Parser parser = parts.parser(boundary);
            long cap = max;
            ex.readBody(cap, () -> requestTooLarge(cap), chunk -> {
                parser.parse(chunk);
                parts.throwIfFailed();
            });
            List<RelayParts.Part> received = parts.parts();
            String outBoundary = "sluice-relay-" + UUID.randomUUID();
            headers.put("Content-Type", "multipart/form-data; boundary=" + outBoundary);
            return relay.send(() -> {
                try {
                    return RelayParts.body(received, outBoundary);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, headers);
        }
    }

    private static ApiException jsonTooLarge() {
        return ErrorCode.REQUEST_TOO_LARGE.error("a relayed JSON body may be at most " + MAX_JSON_BYTES
                + " bytes", Map.of("limit", MAX_JSON_BYTES));
    }

    private static ApiException requestTooLarge(long max) {
        return ErrorCode.REQUEST_TOO_LARGE.error("the request is larger than " + max + " bytes",
                Map.of("limit", max));
    }

    /** The boundary parameter, its name matched case-insensitively (RFC 2045). */
    private static String boundary(String contentType) {
        Map<String, String> params = new HashMap<>();
        HttpField.getValueParameters(contentType, params);
        for (Map.Entry<String, String> e : params.entrySet()) {
            if (e.getKey().trim().equalsIgnoreCase("boundary")) {
                return e.getValue() == null ? null : e.getValue().trim();
            }
        }
        return null;
    }

    /** Temp files of relays in progress (tests check it returns to zero). */
    public long tempFiles() throws IOException {
        try (var s = Files.list(tmpDir)) {
            return s.count();
        }
    }
}
