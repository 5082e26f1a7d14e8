package io.sluice.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The command line. Only parses and dispatches; each command wires what it needs. */
@Command(name = "sluice", mixinStandardHelpOptions = true,
        description = "Crash-proof file upload and processing server.",
        subcommands = {ServeCommand.class, VersionCommand.class})
public final class Main implements Runnable {

    /** Exit code for a configuration that must not start. */
    public static final int EXIT_CONFIG = 2;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        // Usage mistakes are configuration mistakes too: exit 2 with picocli's one-line message.
        cli.setExitCodeExceptionMapper(e -> EXIT_CONFIG);
        return cli.execute(args);
    }
}
