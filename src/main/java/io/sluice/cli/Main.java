package io.sluice.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The command line. Only parses and dispatches; each command wires what it needs. */
@Command(name = "sluice", mixinStandardHelpOptions = true,
        description = "Crash-proof file upload and processing server.",
        subcommands = {ServeCommand.class, WorkerCommand.class, SuperviseCommand.class, VersionCommand.class,
                UploadCommand.class, JobsCommand.class, StatusCommand.class, RunJobCommand.class, KeysCommand.class})
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
        // Usage mistakes are configuration mistakes too: exit 2 with one line, as for a bad key (picocli's default
        // adds the whole usage text, which buries the message).
        cli.setParameterExceptionHandler((e, ignored) -> {
            e.getCommandLine().getErr().println("sluice: " + e.getMessage() + " (see: "
                    + e.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
            return EXIT_CONFIG;
        });
        cli.setExitCodeExceptionMapper(e -> EXIT_CONFIG);
        return cli;
    }
}
