package io.sluice.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** The command line. Only parses and dispatches; each command wires what it needs. */
@Command(name = "sluice", mixinStandardHelpOptions = true,
        description = "Crash-proof file upload and processing server.",
        subcommands = {ServeCommand.class, WorkerCommand.class, SuperviseCommand.class, VersionCommand.class,
                UploadCommand.class, UploadsCommand.class, JobsCommand.class, StatusCommand.class,
                RunJobCommand.class, KeysCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Exit code for a configuration that must not start. */
    public static final int EXIT_CONFIG = 2;
    /** Exit code for a valid configuration that could not start here and now (a port taken, a data dir unusable). */
    public static final int EXIT_START_FAILED = 1;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The command line with Sluice's error handling, for {@link #run} and for tests that capture its output. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        // Usage mistakes are configuration mistakes too: exit 2. The message comes first and whole (picocli may
        // report several, one per line), then the command's usage, so the fix is on the screen.
        cli.setParameterExceptionHandler((e, ignored) -> usageError(e.getCommandLine(), e.getMessage()));
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            if (e instanceof UsageException) {
                return usageError(command, e.getMessage());
            }
            throw e;
        });
        cli.setExitCodeExceptionMapper(e -> EXIT_CONFIG);
        return cli;
    }

    private static int usageError(CommandLine command, String message) {
        PrintWriter err = command.getErr();
        for (String line : message.split("\\R")) {
            err.println("sluice: " + line);
        }
        err.println();
        command.usage(err);
        return EXIT_CONFIG;
    }
}
