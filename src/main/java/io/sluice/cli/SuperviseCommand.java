package io.sluice.cli;

import io.sluice.config.Units;
import io.sluice.ops.supervisor.Supervisor;
import io.sluice.ops.supervisor.SupervisorSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code sluice supervise [options] -- serve ...}: runs the command in a child JVM and restarts it on abnormal exit,
 * failed health checks or too much memory (see {@link Supervisor}). SIGTERM/SIGINT stop the child gracefully and
 * exit 0.
 */
@Command(name = "supervise", mixinStandardHelpOptions = true,
        description = "Run a Sluice command (after --) in a child JVM and restart it when it crashes, hangs or "
                + "grows too large, e.g. sluice supervise --memory-limit 1GB -- serve --port 8080")
public final class SuperviseCommand implements Callable<Integer> {

    @Option(names = "--max-restarts", defaultValue = "10",
            description = "restarts allowed within --restart-window before giving up (default ${DEFAULT-VALUE})")
    int maxRestarts;

    @Option(names = "--restart-window", defaultValue = "10m",
            description = "the window --max-restarts counts in (default ${DEFAULT-VALUE})")
    String restartWindow;

    @Option(names = "--min-uptime", defaultValue = "10s",
            description = "healthy running time that resets the backoff (default ${DEFAULT-VALUE})")
    String minUptime;

    @Option(names = "--memory-limit", defaultValue = "0",
            description = "restart when the child's RSS passes this, e.g. 1GB; 0 = no limit (default ${DEFAULT-VALUE})")
    String memoryLimit;

    @Option(names = "--health-interval", defaultValue = "60s",
            description = "time between GET /health probes (default ${DEFAULT-VALUE})")
    String healthInterval;

    @Option(names = "--health-failures", defaultValue = "3",
            description = "consecutive failed probes that restart the child (default ${DEFAULT-VALUE})")
    int healthFailures;

    @Option(names = "--startup-timeout", defaultValue = "120s",
            description = "how long the child may take to start listening (default ${DEFAULT-VALUE})")
    String startupTimeout;

    @Option(names = "--stop-timeout", defaultValue = "40s",
            description = "after SIGTERM, wait this long before SIGKILL; keep it above server.shutdownGrace "
                    + "(default ${DEFAULT-VALUE})")
    String stopTimeout;

    @Option(names = "--jvm-option", paramLabel = "OPTION",
            description = "an extra option for the child JVM, e.g. --jvm-option=-Xmx1g (repeatable)")
    List<String> jvmOptions = new ArrayList<>();

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "the Sluice command to run, after --")
    List<String> childArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        SupervisorSettings settings;
        try {
            settings = new SupervisorSettings(maxRestarts, duration("--restart-window", restartWindow),
                    duration("--min-uptime", minUptime), size("--memory-limit", memoryLimit),
                    duration("--health-interval", healthInterval), healthFailures,
                    duration("--startup-timeout", startupTimeout), duration("--stop-timeout", stopTimeout),
                    jvmOptions, childArgs);
        } catch (IllegalArgumentException e) {
            System.err.println("sluice: supervise: " + e.getMessage());
            return Main.EXIT_CONFIG;
        }
        Supervisor supervisor = new Supervisor(settings);
        // Our own handlers: the default would exit at once and leave the child running without a supervisor.
        Signal.handle(new Signal("TERM"), s -> supervisor.requestStop());
        Signal.handle(new Signal("INT"), s -> supervisor.requestStop());
        return supervisor.run();
    }

    private static Duration duration(String option, String text) {
        try {
            return Units.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    private static long size(String option, String text) {
        try {
            return Units.parseSize(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
