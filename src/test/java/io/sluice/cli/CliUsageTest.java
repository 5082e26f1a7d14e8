package io.sluice.cli;

import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** How the command line answers a user who typed something wrong, asked for help, or left out the URL scheme. */
class CliUsageTest {

    @Test
    void serverWithoutSchemeIsTakenAsHttp(@TempDir Path dir) throws Exception {
        try (TestServer server = TestServer.start(dir.resolve("data"))) {
            Cli.Run r = Cli.run("status", "--server", "127.0.0.1:" + server.port());

            assertThat(r.exit()).as(r.toString()).isZero();
            assertThat(r.out()).contains("ACCEPTING");
            assertThat(r.err()).doesNotContain("Exception");
        }
    }

    @Test
    void serverThatIsNotAnHttpUrlIsAUsageErrorNotAStackTrace() {
        for (String bad : new String[]{"ftp://example.com", "http://", "exa mple:80", "http://[::1"}) {
            Cli.Run r = Cli.run("status", "--server", bad);

            assertThat(r.exit()).as(bad + "\n" + r).isEqualTo(Main.EXIT_CONFIG);
            assertThat(r.err()).as(bad).startsWith("sluice: --server: '" + bad + "'")
                    .contains("Usage: sluice status").doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    @Test
    void unknownOptionPrintsTheWholeMessageThenTheUsage() {
        Cli.Run r = Cli.run("upload", "--bogus", "file.bin");

        assertThat(r.exit()).as(r.toString()).isEqualTo(Main.EXIT_CONFIG);
        assertThat(r.err()).startsWith("sluice: Unknown option: '--bogus'");
        assertThat(r.err().indexOf("Usage: sluice upload")).isGreaterThan(r.err().indexOf("--bogus"));
        assertThat(r.err()).contains("--state-file=FILE");
    }

    @Test
    void helpCommandPrintsTheNamedCommandsUsage() {
        Cli.Run top = Cli.run("help");
        assertThat(top.exit()).isZero();
        assertThat(top.out()).contains("Usage: sluice").contains("upload").contains("help");

        Cli.Run upload = Cli.run("help", "upload");
        assertThat(upload.exit()).as(upload.toString()).isZero();
        assertThat(upload.out()).startsWith("Usage: sluice upload").contains("--parallel=N");

        Cli.Run unknown = Cli.run("help", "nosuch");
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.err()).contains("nosuch");
    }

    /**
     * Picocli wraps descriptions at any '/' or '.', so a URL or path could land half on one line and half on the
     * next, where no one can copy it. Every URL and path a description names must appear whole in the usage text.
     */
    @Test
    void helpTextNeverBreaksInsideAUrlOrPath() {
        // URLs, paths, and configuration settings (limits.maxFileSize=1GiB) are copied whole or not at all.
        Pattern token = Pattern.compile("(https?://|~/|\\$[A-Z_]+/|\\./|[a-z]+\\.[a-zA-Z]+=)[^\\s)]*[^\\s).,;]");
        List<String> checked = new ArrayList<>();
        for (CommandLine command : all(Main.commandLine())) {
            StringWriter usage = new StringWriter();
            command.usage(new PrintWriter(usage));
            CommandSpec spec = command.getCommandSpec();
            List<String> texts = new ArrayList<>(List.of(spec.usageMessage().description()));
            texts.addAll(List.of(spec.usageMessage().footer()));
            for (OptionSpec option : spec.options()) {
                texts.addAll(List.of(option.description()));
            }
            for (String text : texts) {
                String shown = text.replace("${DEFAULT-VALUE}", "").contains("${") ? "" : text;
                Matcher m = token.matcher(shown);
                while (m.find()) {
                    assertThat(usage.toString()).as(spec.qualifiedName() + " usage shows " + m.group() + " whole")
                            .contains(m.group());
                    checked.add(m.group());
                }
            }
            assertThat(usage.toString()).as(spec.qualifiedName()).doesNotContainPattern("https?:\\s*\\n");
        }
        // The check saw the URLs and paths it exists for (so a change of pattern cannot make it vacuous).
        assertThat(checked).contains("$XDG_STATE_HOME/sluice/uploads.json", "~/.sluice/uploads.json", "http://127.0.0.1:8080",
                "limits.maxFileSize=1GiB");
    }

    private static List<CommandLine> all(CommandLine root) {
        List<CommandLine> out = new ArrayList<>(List.of(root));
        for (CommandLine sub : root.getSubcommands().values()) {
            if (!out.contains(sub)) {
                out.addAll(all(sub));
            }
        }
        return out;
    }
}
