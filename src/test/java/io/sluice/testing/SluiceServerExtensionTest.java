package io.sluice.testing;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The extension itself: its settings and {@code sluice.yaml} reach the server, the data directory is its own, and a
 * restart keeps what was stored.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SluiceServerExtensionTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with("limits.maxFileSize", "1000").config("""
                    pipelines:
                      noop:
                        processor: noop
                    """);

    @Test
    void settingsAndConfigReachTheServerInItsOwnDataDirectory() throws Exception {
        assertThat(server.dataDir()).isEqualTo(server.dir().resolve("data"));
        assertThat(Files.isDirectory(server.dataDir())).isTrue();
        HttpResponse<String> big = server.put("/api/v1/uploads/big.bin", new byte[1001]);
        assertThat(big.statusCode()).as(big.body()).isEqualTo(413);
        HttpResponse<String> piped = server.put("/api/v1/uploads/a.txt?pipeline=noop", bytes("a"));
        assertThat(piped.statusCode()).as(piped.body()).isEqualTo(201);
        server.assertNothingLeftBehind();
    }

    @Test
    void aRestartKeepsTheDataDirectoryAndItsUploads() throws Exception {
        HttpResponse<String> put = server.put("/api/v1/uploads/kept.txt", bytes("kept"));
        assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
        JsonNode upload = Json.parse(put.body()).path("uploads").get(0);
        TestServer before = server.server();
        TestServer after = server.restart();
        assertThat(after).isNotSameAs(before).isSameAs(server.server());
        HttpResponse<String> got = server.get("/api/v1/uploads/" + upload.path("id").asText() + "/content");
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(got.body()).isEqualTo("kept");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
