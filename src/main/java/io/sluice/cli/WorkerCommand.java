package io.sluice.cli;

import io.sluice.Role;
import picocli.CommandLine.Command;

/**
 * {@code sluice worker}: background jobs only, from the database an API process ({@code serve --no-workers})
 * enqueues into. Its HTTP port ({@code server.port}, and {@code server.adminPort} when set) answers health and
 * metrics only. SIGTERM stops claiming, lets running jobs finish within {@code server.shutdownGrace}, and returns
 * the rest to the queue for another worker.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run background jobs only (health and metrics on --port); pair with `serve --no-workers`.")
public final class WorkerCommand extends NodeCommand {

    @Override
    Role role() {
        return Role.WORKER;
    }
}
