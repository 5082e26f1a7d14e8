package io.sluice.http;

import io.sluice.testing.Json;
import io.sluice.testing.RawHttp;
import io.sluice.testing.RawResponse;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Transfer codings on a raw socket: {@code chunked} is the only one Sluice decodes; a request body with any other
 * coding in its list is {@code 501 unsupported_transfer_encoding}, before a byte of it is stored.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransferCodingsTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with();

    private static byte[] chunked(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(bytes);
        out.writeBytes("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static RawResponse send(String requestLineAndHeaders, byte[] body) throws Exception {
        try (RawHttp raw = new RawHttp(server.port(), 10_000)) {
            raw.send(requestLineAndHeaders + "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
            try {
                raw.send(body);
            } catch (java.io.IOException refusedEarly) {
                // the server answered before reading the body and closed: the answer is still there
            }
            return raw.readResponse();
        }
    }

    private static RawResponse put(String name, String transferEncoding) throws Exception {
        return send("PUT /api/v1/uploads/" + name + " HTTP/1.1\r\nContent-Type: application/octet-stream\r\n"
                + "Transfer-Encoding: " + transferEncoding + "\r\n", chunked("some bytes\n".getBytes()));
    }

    private static long uploads() throws Exception {
        return Json.parse(server.get("/api/v1/uploads").body()).path("uploads").size();
    }

    @Test
    void aCodingOtherThanChunkedIs501AndNothingIsStored() throws Exception {
        long before = uploads();
        for (String coding : List.of("gzip, chunked", "deflate,chunked", "identity, chunked", "GZIP , chunked",
                "x-custom;q=1, chunked")) {
            RawResponse r = put("coded.txt", coding);
            assertThat(r.status()).as(coding + ": " + r.body()).isEqualTo(501);
            assertThat(Json.errorCode(r.body())).as(coding).isEqualTo("unsupported_transfer_encoding");
            assertThat(Json.parse(r.body()).at("/error/supported/0").asText()).isEqualTo("chunked");
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
        }
        // Two header fields make one list (RFC 9110 5.3).
        RawResponse twoFields = send("PUT /api/v1/uploads/two.txt HTTP/1.1\r\nContent-Type: text/plain\r\n"
                + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", chunked("x\n".getBytes()));
        assertThat(twoFields.status()).as(twoFields.body()).isEqualTo(501);
        assertThat(Json.errorCode(twoFields.body())).isEqualTo("unsupported_transfer_encoding");

        // Other routes with a body too: tus creation with its first chunk, multipart.
        RawResponse tus = send("POST /files HTTP/1.1\r\nTus-Resumable: 1.0.0\r\nUpload-Length: 2\r\n"
                + "Content-Type: application/offset+octet-stream\r\nTransfer-Encoding: gzip, chunked\r\n",
                chunked("ab".getBytes()));
        assertThat(tus.status()).as(tus.body()).isEqualTo(501);
        assertThat(Json.errorCode(tus.body())).isEqualTo("unsupported_transfer_encoding");

        assertThat(uploads()).isEqualTo(before);
        assertThat(server.blobFiles()).isZero();
        server.assertNothingLeftBehind();
    }

    @Test
    void chunkedAloneStillWorks() throws Exception {
        RawResponse r = put("plain-chunked.txt", "chunked");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        server.assertNothingLeftBehind();
    }

    @Test
    void aListNotEndingInChunkedIs400FromJetty() throws Exception {
        // No way to find the body's end: RFC 9112 6.3 says 400 and close, which Jetty does before any handler.
        RawResponse r = put("gzip-only.txt", "gzip");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        server.assertNothingLeftBehind();
    }
}
