package io.sluice.client;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.OptionalLong;
import java.util.StringJoiner;

/**
 * A small tus 1.0.0 client (core + creation) over {@link SluiceClient}: create an upload, ask its offset, append a
 * chunk. It holds no state; the caller keeps the URL and the offset.
 */
public final class TusClient {

    public static final String VERSION = "1.0.0";
    private static final String OCTETS = "application/offset+octet-stream";

    private final SluiceClient client;
    private final String basePath;

    /** @param basePath the server's tus collection, {@code /files/} by default */
    public TusClient(SluiceClient client, String basePath) {
        this.client = client;
        this.basePath = basePath.endsWith("/") ? basePath.substring(0, basePath.length() - 1) : basePath;
    }

    /**
     * Creates an upload of {@code length} bytes.
     *
     * @param metadata pairs sent in {@code Upload-Metadata} (values base64-encoded)
     * @return the upload's absolute URL
     */
    public URI create(long length, Map<String, String> metadata) throws ClientException, InterruptedException {
        HttpRequest.Builder b = client.request(client.uri(basePath)).POST(HttpRequest.BodyPublishers.noBody())
                .header("Tus-Resumable", VERSION).header("Upload-Length", Long.toString(length));
        if (!metadata.isEmpty()) {
            b.header("Upload-Metadata", encode(metadata));
        }
        HttpResponse<byte[]> r = client.send(b.build());
        if (r.statusCode() != 201) {
            throw SluiceClient.error(r);
        }
        String location = r.headers().firstValue("Location").orElseThrow(
                () -> new ClientException(r.statusCode(), null, "the server created an upload without a Location"));
        return client.uri(basePath).resolve(location);
    }

    /** The upload's offset, or empty when it is gone (404 / 410: start over). */
    public OptionalLong offset(URI upload) throws ClientException, InterruptedException {
        HttpResponse<byte[]> r = client.send(client.request(upload).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .header("Tus-Resumable", VERSION).build());
        if (r.statusCode() == 404 || r.statusCode() == 410) {
            return OptionalLong.empty();
        }
        if (r.statusCode() != 200) {
            throw SluiceClient.error(r);
        }
        return OptionalLong.of(Long.parseLong(r.headers().firstValue("Upload-Offset").orElse("0").strip()));
    }

    /**
     * Appends {@code data[0, length)} at {@code offset}.
     *
     * @return the new offset and, once the upload is finished, its id and the job its pipeline started
     * @throws ClientException {@code 409 offset_mismatch} when the server is elsewhere (ask {@link #offset} again)
     */
    public Patched patch(URI upload, long offset, byte[] data, int length)
            throws ClientException, InterruptedException {
        HttpResponse<byte[]> r = client.send(client.request(upload)
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(data, 0, length))
                .header("Tus-Resumable", VERSION).header("Content-Type", OCTETS)
                .header("Upload-Offset", Long.toString(offset)).build());
        if (r.statusCode() != 204 && r.statusCode() != 200) {
            throw SluiceClient.error(r);
        }
        long newOffset = Long.parseLong(r.headers().firstValue("Upload-Offset").orElse("-1").strip());
        return new Patched(newOffset, r.headers().firstValue("Sluice-Upload-Id").orElse(null),
                r.headers().firstValue("Sluice-Job-Id").orElse(null));
    }

    /** @param uploadId set once the upload is finished; @param jobId set when a pipeline job was queued */
    public record Patched(long offset, String uploadId, String jobId) {
    }

    static String encode(Map<String, String> metadata) {
        StringJoiner j = new StringJoiner(",");
        metadata.forEach((k, v) -> j.add(k + " " + Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
        return j.toString();
    }
}
