package io.sluice.cli;

import io.sluice.Application;
import io.sluice.Role;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.http.Listeners;
import io.sluice.ops.supervisor.ChildCommand;
import io.sluice.ops.systemd.SystemdWatchdog;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the long-running commands ({@code serve}, {@code worker}) share: the configuration options, start-up in
 * their {@link Role}, and a clean drain on SIGTERM/SIGINT (exit 0).
 */
abstract class NodeCommand implements Callable<Integer> {

    /** Read when present and no --config is given. */
    public static final Path DEFAULT_CONFIG = Path.of("sluice.yaml");

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file (default: ./sluice.yaml if present)")
    Path configFile;

    // Plain strings: the configuration loader validates them like any other source, naming the key.
    @Option(names = "--port", description = "server.port")
    String port;

    @Option(names = "--host", description = "server.host")
    String host;

    @Option(names = "--admin-port", description = "server.adminPort: health and metrics on a second port")
    String adminPort;

    @Option(names = "--data", paramLabel = "DIR", description = "dataDir")
    String dataDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = {"any configuration key, e.g.", "--set limits.maxFileSize=1GiB"})
    Map<String, String> settings = new LinkedHashMap<>();

    /** The parts this command runs; checked once the options are parsed. */
    abstract Role role();

    @Override
    public Integer call() throws Exception {
        Map<String, String> overrides = new LinkedHashMap<>(settings);
        if (port != null) {
            overrides.put("server.port", port);
        }
        if (host != null) {
            overrides.put("server.host", host);
        }
        if (adminPort != null) {
            overrides.put("server.adminPort", adminPort);
        }
        if (dataDir != null) {
            overrides.put("dataDir", dataDir);
        }
        Path file = configFile != null ? configFile : (Files.isRegularFile(DEFAULT_CONFIG) ? DEFAULT_CONFIG : null);
        SluiceConfig config;
        try {
            config = ConfigLoader.load(file, System.getenv(), overrides);
        } catch (ConfigException e) {
            System.err.println("sluice: configuration error: " + e.getMessage());
            return Main.EXIT_CONFIG;
        }
        // The ports before anything else, the log file in the data directory included: a port in use leaves a
        // fresh data directory as it was (absent or empty) and prints one line.
        Listeners listeners;
        try {
            listeners = Listeners.bind(config.server());
        } catch (IOException e) {
            System.err.println("sluice: cannot start: " + describe(e));
            return Main.EXIT_START_FAILED;
        }
        LoggingSetup.apply(config);
        // Our own handlers so a signal drains and exits 0; the JVM default would exit 143/130 mid-upload. Installed
        // before starting: once "listening on" is logged, a SIGTERM must already drain (a supervisor or a test may
        // send one the moment it reads that line). A signal during start-up stops right after it.
        CountDownLatch stopRequested = new CountDownLatch(1);
        AtomicReference<Application> started = new AtomicReference<>();
        SignalHandler onSignal = s -> {
            Application running = started.get();
            if (stopRequested.getCount() == 0 && running != null) {
                // A repeated signal: Application.close() says it is already draining and waits; exit stays 0.
                Thread.ofPlatform().start(running::close);
            }
            stopRequested.countDown();
        };
        Signal.handle(new Signal("TERM"), onSignal);
        Signal.handle(new Signal("INT"), onSignal);
        Application app;
        try {
            app = Application.start(config, role(), listeners);
        } catch (Exception e) {
            // One line an operator can act on, not a picocli stack trace under "configuration error" exit code 2.
            System.err.println("sluice: cannot start: " + describe(e));
            LoggingSetup.flush();
            return Main.EXIT_START_FAILED;
        }
        started.set(app);
        // Under systemd (Type=notify): READY=1 now that it listens, WATCHDOG=1 while its checks pass.
        Optional<SystemdWatchdog> systemd = SystemdWatchdog.fromEnvironment(System.getenv(), app::checksPass);
        systemd.ifPresent(SystemdWatchdog::ready);
        stopWhenSupervisorEnds(stopRequested::countDown);
        stopRequested.await();
        systemd.ifPresent(SystemdWatchdog::stopping);
        app.close();
        LoggingSetup.flush();
        return 0;
    }

    /** Under {@code sluice supervise}: drain and exit when the supervisor is gone (even SIGKILLed), never orphaned. */
    private static void stopWhenSupervisorEnds(Runnable stop) {
        String pid = System.getProperty(ChildCommand.SUPERVISOR_PID_PROPERTY);
        if (pid == null) {
            return;
        }
        Runnable gone = () -> {
            LoggerFactory.getLogger(NodeCommand.class).warn("supervisor pid {} is gone; shutting down", pid);
            stop.run();
        };
        try {
            // Empty when it already ended: between our start and now.
            ProcessHandle.of(Long.parseLong(pid)).ifPresentOrElse(h -> h.onExit().thenRun(gone), gone);
        } catch (NumberFormatException e) {
            LoggerFactory.getLogger(NodeCommand.class).warn("ignoring -D{}={}: not a pid",
                    ChildCommand.SUPERVISOR_PID_PROPERTY, pid);
        }
    }

    /** The failure and its causes on one line; a port already taken names the keys that choose it. */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Listeners.PortInUseException busy) {
                return busy.getMessage(); // already names the port, the key and the option
            }
        }
        StringBuilder out = new StringBuilder();
        boolean bind = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            bind |= t instanceof BindException;
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (out.indexOf(m) < 0) {
                out.append(out.isEmpty() ? "" : ": ").append(m);
            }
        }
        if (bind) {
            out.append(" (choose a free server.port / server.adminPort, or stop the process using it)");
        }
        return out.toString().replace('\n', ' ');
    }
}
