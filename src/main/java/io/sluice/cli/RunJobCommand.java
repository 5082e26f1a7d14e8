package io.sluice.cli;

import io.sluice.isolation.ChildProtocol;
import io.sluice.isolation.ChildRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code sluice run-job}: one attempt of one processor task in this JVM, for the worker's isolated pipelines (see
 * {@link ChildProtocol} for the spec, the JSON lines on stdout and the exit codes). Opens no database and reads no
 * configuration; the worker gives the heap ({@code -Xmx}) and kills the process on cancel or time-out.
 */
@Command(name = "run-job", mixinStandardHelpOptions = true, description = {
        "Run one processor task in this JVM (used by the worker for isolated pipelines).",
        "Reads a JSON spec {processor, options, upload, file, output, workDir} from --spec or stdin and prints JSON "
                + "lines: progress, then one result or failure.",
        "Exit codes: 0 result, 1 failure, 2 bad spec, 3 out of memory."})
public final class RunJobCommand implements Callable<Integer> {

    @Option(names = "--spec", paramLabel = "FILE", description = "The spec file; stdin when absent or '-'.")
    Path spec;

    @Override
    public Integer call() throws Exception {
        // Only protocol lines go to the real stdout; whatever a processor or library prints lands on stderr.
        PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        System.setOut(System.err);
        // A second guard besides the parent-death signal (which needs setpriv): an orphan has nobody to report to.
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit()
                .thenRun(() -> Runtime.getRuntime().halt(ChildProtocol.EXIT_ORPHANED)));
        ChildRunner runner = new ChildRunner(protocol);
        if (spec == null || spec.toString().equals("-")) {
            return runner.run(System.in);
        }
        try (InputStream in = Files.newInputStream(spec)) {
            return runner.run(in);
        } catch (IOException e) {
            System.err.println("sluice run-job: cannot read " + spec + ": " + e);
            return ChildProtocol.EXIT_BAD_SPEC;
        }
    }
}
