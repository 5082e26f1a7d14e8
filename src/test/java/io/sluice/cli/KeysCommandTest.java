package io.sluice.cli;

import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sluice keys create|list|revoke} in this JVM, on the data directory of a running server (the command
 * works on the database directly), and {@code sluice upload --key}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class KeysCommandTest {

    @TempDir
    Path dir;

    @Test
    void createListRevokeAgainstARunningServer() throws Exception {
        Path data = dir.resolve("data");
        try (TestServer server = TestServer.start(data)) {
            Cli.Run created = Cli.run("keys", "create", "--data", data.toString(), "--name", "ci", "--admin",
                    "--max-file-size", "5MiB", "--quota", "1GiB", "--rate", "100");
            assertThat(created.exit()).as(created.toString()).isZero();
            Matcher m = Pattern.compile("id:\\s+(\\S+)\\s+key:\\s+(sk_\\S+)").matcher(created.out());
            assertThat(m.find()).as(created.toString()).isTrue();
            String id = m.group(1);
            String key = m.group(2);

            // The running server picks the new key up: open mode ends, the key works.
            Await.until(Duration.ofSeconds(10), "keys are required",
                    () -> server.get("/api/v1/uploads").statusCode() == 401);
            assertThat(status(server, key)).isEqualTo(200);

            Cli.Run list = Cli.run("keys", "list", "--data", data.toString());
            assertThat(list.exit()).as(list.toString()).isZero();
            assertThat(list.out()).contains(id).contains("ci").contains("admin").contains("5MiB")
                    .doesNotContain(key);
            // For scripts: a JSON array of the keys, never a secret.
            Cli.Run json = Cli.run("keys", "list", "--json", "--data", data.toString());
            assertThat(json.exit()).as(json.toString()).isZero();
            var keys = Json.parse(json.out());
            assertThat(keys.isArray()).as(json.out()).isTrue();
            assertThat(keys.findValuesAsText("id")).contains(id);
            assertThat(json.out()).doesNotContain(key);

            // The upload client with the key.
            Path file = Cli.randomFile(dir, "up.bin", 200_000, 3);
            Cli.Run up = Cli.run("upload", "--server", "http://127.0.0.1:" + server.port(), "--key", key,
                    "--state-file", dir.resolve("state.json").toString(), file.toString());
            assertThat(up.exit()).as(up.toString()).isZero();
            assertThat(up.out()).contains("sha256=" + Cli.sha256(file));
            Cli.Run anonymous = Cli.run("upload", "--server", "http://127.0.0.1:" + server.port(),
                    "--state-file", dir.resolve("state2.json").toString(), file.toString());
            assertThat(anonymous.exit()).as(anonymous.toString()).isNotZero();

            Cli.Run revoked = Cli.run("keys", "revoke", "--data", data.toString(), id);
            assertThat(revoked.exit()).as(revoked.toString()).isZero();
            Await.until(Duration.ofSeconds(10), "the revoked key is refused", () -> status(server, key) == 401);
            assertThat(Cli.run("keys", "list", "--data", data.toString()).out()).contains("revoked");

            Cli.Run unknown = Cli.run("keys", "revoke", "--data", data.toString(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
            assertThat(unknown.exit()).isEqualTo(ClientExit.FAILED);
            Cli.Run badSize = Cli.run("keys", "create", "--data", data.toString(), "--name", "x", "--quota", "lots");
            assertThat(badSize.exit()).isEqualTo(Main.EXIT_CONFIG);
            server.assertNothingLeftBehind();
        }
        assertThat(Files.exists(data.resolve("sluice.db"))).isTrue();
    }

    @Test
    void listEscapesControlCharactersInNames() throws Exception {
        Path data = dir.resolve("escapes");
        String[] names = {"red\u001b[31malert", "two\nlines", "tab\there\rx", "back\\slash", "fake\u202Etxt.exe",
                "bell\u0007\u0000\u007f\u009b", "Zoë 東京"};
        for (String name : names) {
            Cli.Run created = Cli.run("keys", "create", "--data", data.toString(), "--name", name);
            assertThat(created.exit()).as(created.toString()).isZero();
        }
        Cli.Run list = Cli.run("keys", "list", "--data", data.toString());
        assertThat(list.exit()).as(list.toString()).isZero();
        String out = list.out();
        // One line per key plus the header; no control or bidi character but the line ends reaches the terminal.
        assertThat(out.lines()).hasSize(names.length + 1);
        assertThat(out.chars().filter(c -> c != '\n' && (Character.isISOControl(c) || c == 0x202E))).isEmpty();
        assertThat(out).contains("red\\u001b[31malert", "two\\nlines", "tab\\there\\rx", "back\\\\slash",
                "fake\\u202etxt.exe", "bell\\u0007\\u0000\\u007f\\u009b", "Zoë 東京");
    }

    @Test
    void worksWithoutARunningServer() throws Exception {
        Path data = dir.resolve("offline");
        Cli.Run created = Cli.run("keys", "create", "--data", data.toString(), "--name", "offline");
        assertThat(created.exit()).as(created.toString()).isZero();
        Cli.Run list = Cli.run("keys", "list", "--data", data.toString());
        assertThat(list.out()).contains("offline").contains("user").contains("active");
    }

    private static int status(TestServer server, String key) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads"))
                .header("Authorization", "Bearer " + key).GET().build()).statusCode();
    }
}
