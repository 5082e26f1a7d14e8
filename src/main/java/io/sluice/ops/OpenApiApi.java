package io.sluice.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sluice.api.Exchange;
import io.sluice.api.Routes;
import org.eclipse.jetty.http.HttpHeader;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * {@code GET /api/openapi.json}: {@code docs/openapi.yaml} (packaged as the resource {@value #RESOURCE} at build
 * time) converted to JSON once, at start-up, and served with an ETag and {@code Cache-Control}; a matching
 * {@code If-None-Match} gets 304. A missing or broken document fails start-up, not a request.
 */
public final class OpenApiApi {

    public static final String PATH = "/api/openapi.json";
    public static final String RESOURCE = "/io/sluice/ops/openapi.yaml";
    static final String CACHE_CONTROL = "public, max-age=300";

    private final byte[] json;
    private final String etag;

    private OpenApiApi(byte[] json) {
        this.json = json;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(json);
            this.etag = "\"" + HexFormat.of().formatHex(digest, 0, 16) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads and converts the packaged document. */
    public static OpenApiApi load() {
        try (InputStream in = OpenApiApi.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the OpenAPI document " + RESOURCE + " is not on the classpath");
            }
            JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(in);
            return new OpenApiApi(new ObjectMapper().writeValueAsBytes(doc));
        } catch (IOException e) {
            throw new UncheckedIOException("the OpenAPI document " + RESOURCE + " cannot be read", e);
        }
    }

    public void register(Routes routes) {
        routes.add("GET", PATH, this::get);
    }

    void get(Exchange ex) throws IOException {
        var headers = ex.response().getHeaders();
        headers.put(HttpHeader.ETAG, etag);
        headers.put(HttpHeader.CACHE_CONTROL, CACHE_CONTROL);
        String ifNoneMatch = ex.header(HttpHeader.IF_NONE_MATCH);
        if (ifNoneMatch != null && (ifNoneMatch.contains(etag) || ifNoneMatch.strip().equals("*"))) {
            ex.empty(304);
            return;
        }
        headers.put(HttpHeader.CONTENT_TYPE, "application/json");
        headers.put(HttpHeader.CONTENT_LENGTH, json.length);
        ex.write(true, ByteBuffer.wrap(json));
    }
}
