package io.sluice.cli;

import io.sluice.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice serve}: the API and, unless {@code --no-workers}, the background job workers in one process. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve uploads on http://127.0.0.1:8080 with data in ./sluice-data (see README for settings).")
public final class ServeCommand extends NodeCommand {

    @Option(names = "--no-workers", description = "Serve the API only: jobs are enqueued for `sluice worker` "
            + "processes sharing the database, and never run here.")
    boolean noWorkers;

    @Override
    Role role() {
        return noWorkers ? Role.API : Role.ALL;
    }
}
