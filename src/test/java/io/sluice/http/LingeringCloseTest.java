package io.sluice.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A refusal sent while the client is still sending its body reaches the client: the server reads on and discards
 * for a moment (a lingering close) instead of closing on unread bytes, which makes the kernel send a reset that can
 * overtake the answer, and makes the client's send of its body fail: java.net.http and curl then report the
 * exchange as failed although the answer arrived. Without it, the rounds below fail on the first one.
 */
class LingeringCloseTest {

    static final int ROUNDS = 20;
    static final int BODY = 3 * 1024 * 1024; // within LingeringClose.MAX_BYTES: the whole excess is read

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "64KiB");

    @Test
    void aPutRefusedForItsDeclaredSizeIsAnsweredWhileTheClientSendsItsBody() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String head = "PUT /api/v1/uploads/big" + round + ".bin HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: " + BODY + "\r\n\r\n";
            String answer = sendWhileReading(head, new byte[BODY]);
            assertThat(answer).as("round %d", round).startsWith("HTTP/1.1 413");
            JsonNode error = Json.parse(answer.substring(answer.indexOf("\r\n\r\n") + 4)).path("error");
            assertThat(error.path("code").asText()).isEqualTo("file_too_large");
        }
        server.assertNothingLeftBehind();
    }

    @Test
    void aTusPatchPastItsLengthIsAnsweredWhileTheClientSendsTheExcess() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String create = "POST /files HTTP/1.1\r\nHost: localhost\r\nTus-Resumable: 1.0.0\r\nUpload-Length: 1000\r\n"
                    + "Content-Length: 0\r\nConnection: close\r\n\r\n";
            String created = sendWhileReading(create, new byte[0]);
            assertThat(created).startsWith("HTTP/1.1 201");
            String location = created.lines().filter(l -> l.regionMatches(true, 0, "Location:", 0, 9))
                    .findFirst().orElseThrow().substring(9).trim();
            String path = location.replaceFirst("^https?://[^/]+", "");
            String patch = "PATCH " + path + " HTTP/1.1\r\nHost: localhost\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                    + "Content-Type: application/offset+octet-stream\r\nContent-Length: " + BODY + "\r\n\r\n";
            String answer = sendWhileReading(patch, new byte[BODY]);
            assertThat(answer).as("round %d", round).startsWith("HTTP/1.1 413");
            assertThat(answer).contains("exceeds_length");
        }
    }

    /** Writes head and body on one thread while reading the answer on another, as real HTTP clients do. */
    private static String sendWhileReading(String head, byte[] body) throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try {
                    out.write(head.getBytes(StandardCharsets.US_ASCII));
                    for (int at = 0; at < body.length; at += 64 * 1024) {
                        out.write(body, at, Math.min(64 * 1024, body.length - at));
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            // A refusal closes the connection; read the answer until then.
            while ((n = in.read(buf)) >= 0) {
                answer.write(buf, 0, n);
                String text = answer.toString(StandardCharsets.ISO_8859_1);
                int end = text.indexOf("\r\n\r\n");
                if (end >= 0 && complete(text, end)) {
                    break;
                }
            }
            // Clients such as java.net.http and curl fail the whole exchange when sending the body fails, even with an
            // answer in hand: the body must be taken (and discarded) up to the lingering bound, not reset.
            try {
                sent.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("sending the body failed after " + answer.size() + " answer bytes: "
                        + e.getCause(), e);
            }
            return answer.toString(StandardCharsets.UTF_8);
        }
    }

    private static boolean complete(String text, int headEnd) {
        for (String line : text.substring(0, headEnd).split("\r\n")) {
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                return text.length() - headEnd - 4 >= Integer.parseInt(line.substring(15).trim());
            }
        }
        return false;
    }
}
