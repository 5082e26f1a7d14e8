package io.sluice.processors.command;

import io.sluice.processors.Processor;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code command}: runs a configured external program over the upload, so a team can keep an existing script.
 *
 * <pre>
 * pipelines:
 *   invoices:
 *     processor: command
 *     options:
 *       command: [python3, /opt/scripts/invoice.py, "{file}", "{output}"]
 *       timeout: 2m        # besides the job's own time limit
 *       memory: 512MiB     # address space (prlimit --as, else ulimit -v); refused where neither exists
 *       env: {MODE: strict}
 * </pre>
 *
 * <p>The program is started directly (no shell), with a small environment: {@code PATH}, {@code HOME},
 * {@code LANG}, {@code TMPDIR} (the attempt's scratch directory), {@code SLUICE_FILE}, {@code SLUICE_OUTPUT},
 * {@code SLUICE_UPLOAD_ID}, {@code SLUICE_FILENAME}, {@code SLUICE_CONTENT_TYPE} and the configured {@code env}
 * — never the server's own variables, which may hold secrets. Its working directory is the scratch directory.
 *
 * <p>Results: its stdout (at most 1 MiB) must be one JSON object, which becomes the job's result; NDJSON it wrote
 * to {@code {output}} becomes the job's output. Failures: {@code bad_command_output} (stdout not a JSON object, or
 * a line of {@code {output}} not JSON), {@code command_failed} (non-zero exit, with the last lines of stderr;
 * retryable only for exit code 75, EX_TEMPFAIL), {@code timeout} (the option's limit; the program and its
 * children are killed), {@code command_not_found}. Cancel and the job's own limit kill it too.
 *
 * <p>Not isolated in a child JVM: the program already is a separate process.
 */
public final class CommandProcessor implements Processor {

    @Override
    public String name() {
        return "command";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        CommandOptions o = CommandOptions.parse(options);
        List<String> prefix = List.of();
        if (o.memory() != null) {
            prefix = memoryPrefix(o.memory()).orElseThrow(() -> new IllegalArgumentException("options.memory: "
                    + "cannot be enforced here (needs prlimit, or sh with ulimit -v, on Linux or another Unix)"));
        }
        return new CommandTask(o, prefix);
    }

    /**
     * How to start a program under an address-space limit: {@code prlimit --as=<bytes> --} (util-linux) when on
     * the PATH, else {@code sh -c 'ulimit -v <KiB> && exec "$@"'}; empty on Windows.
     */
    static Optional<List<String>> memoryPrefix(long bytes) {
        if (System.getProperty("os.name", "").startsWith("Windows")) {
            return Optional.empty();
        }
        Optional<Path> prlimit = onPath("prlimit");
        if (prlimit.isPresent() && System.getProperty("os.name", "").startsWith("Linux")) {
            return Optional.of(List.of(prlimit.get().toString(), "--as=" + bytes, "--"));
        }
        return onPath("sh").map(sh -> {
            List<String> p = new ArrayList<>(List.of(sh.toString(), "-c",
                    "ulimit -v " + Math.max(1, bytes / 1024) + " && exec \"$@\"", "sluice-command"));
            return List.copyOf(p);
        });
    }

    static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, program);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
