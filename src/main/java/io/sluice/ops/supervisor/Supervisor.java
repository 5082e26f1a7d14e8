package io.sluice.ops.supervisor;

import io.sluice.config.Units;
import io.sluice.util.Backoff;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs the server as a child JVM and restarts it when it exits abnormally, fails its health check
 * {@code healthFailures} times in a row, takes more RSS than allowed, or never starts listening. A child that exits
 * 0 stopped on purpose and is not restarted. Restarts wait an exponential {@link #RESTART_BACKOFF}; more than
 * {@code maxRestarts} in the window and the supervisor gives up ({@link #EXIT_GAVE_UP}).
 *
 * <p>{@link #requestStop()} (SIGTERM/SIGINT to the supervisor) sends SIGTERM to the child, waits up to
 * {@code stopTimeout} for its drain, and {@link #run()} returns 0.
 *
 * <p>One thread runs the loop; only {@link #requestStop()} may be called from another.
 */
public final class Supervisor {

    /** Exit code when the restart budget is spent. */
    public static final int EXIT_GAVE_UP = 3;
    /** Exit code when the child cannot even be started (no java binary, bad class path). */
    public static final int EXIT_CANNOT_START = 1;
    /** How often RSS is sampled and the child's liveness is looked at. */
    static final Duration TICK = Duration.ofMillis(500);
    static final Duration RSS_SAMPLE = Duration.ofSeconds(1);

    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);

    private final SupervisorSettings settings;
    private final List<String> command;
    private final CountDownLatch stop = new CountDownLatch(1);
    /** Delay before a restart: 1 s, 2 s, 4 s ... up to a minute, so a crash loop slows down. */
    static final Backoff RESTART_BACKOFF = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60),
            Backoff.Jitter.NONE);
    /**
     * Restarts since the child last ran healthily for the minimum uptime (then it drops to 0, so a crash once a
     * day waits one second). Only the supervisor's loop touches it.
     */
    private int restartsSinceHealthy;

    public Supervisor(SupervisorSettings settings) {
        this.settings = settings;
        this.command = ChildCommand.build(settings.jvmOptions(), settings.childArgs());
    }

    /** Asks {@link #run()} to stop the child gracefully and return 0. Safe from a signal handler. */
    public void requestStop() {
        stop.countDown();
    }

    /** Supervises until a clean stop (0), a stop request (0), an exhausted budget or a child that cannot start. */
    public int run() throws InterruptedException {
        RestartBudget budget = new RestartBudget(settings.maxRestarts(), settings.restartWindow());
        try (HealthProbe probe = new HealthProbe(settings.probeTimeout())) {
            while (true) {
                Child child;
                try {
                    child = Child.start(command);
                } catch (IOException e) {
                    log.error("supervisor: cannot start the child: {}", e.toString());
                    return EXIT_CANNOT_START;
                }
                log.info("supervisor: started child pid {}: {}", child.pid(), String.join(" ", settings.childArgs()));
                RestartReason reason = watch(child, probe);
                if (reason == null) {
                    if (stop.getCount() == 0) {
                        return stopChild(child);
                    }
                    log.info("supervisor: child pid {} exited with code 0 (a clean stop); not restarting", child.pid());
                    return 0;
                }
                boolean killed = child.stop(settings.stopTimeout());
                if (!budget.tryRestart(System.nanoTime())) {
                    log.error("supervisor: giving up: child pid {} failed, {}, and {} restarts within {} is the "
                                    + "limit (--max-restarts)", child.pid(), reason, settings.maxRestarts(),
                            Units.formatDuration(settings.restartWindow()));
                    return EXIT_GAVE_UP;
                }
                Duration delay = RESTART_BACKOFF.delay(++restartsSinceHealthy);
                log.warn("supervisor: restarting child pid {}: {}{}; restart {} of {} within {}, backoff {} ms",
                        child.pid(), reason, killed ? ", killed after " + settings.stopTimeout().toSeconds()
                                + " s without stopping" : "", budget.used(), settings.maxRestarts(),
                        Units.formatDuration(settings.restartWindow()), delay.toMillis());
                if (stop.await(delay.toMillis(), TimeUnit.MILLISECONDS)) {
                    log.info("supervisor: stop requested during backoff; exiting");
                    return 0;
                }
            }
        }
    }

    private int stopChild(Child child) throws InterruptedException {
        log.info("supervisor: stopping child pid {} (SIGTERM, up to {} s)", child.pid(),
                settings.stopTimeout().toSeconds());
        boolean killed = child.stop(settings.stopTimeout());
        if (killed) {
            log.warn("supervisor: child pid {} did not stop within {} s and was killed", child.pid(),
                    settings.stopTimeout().toSeconds());
        } else {
            log.info("supervisor: child pid {} stopped with code {}", child.pid(), child.exitValue());
        }
        return 0;
    }

    /**
     * Watches one child until it must be restarted (the reason), or it exited 0 or a stop was requested (null).
     */
    private RestartReason watch(Child child, HealthProbe probe) throws InterruptedException {
        long nextProbe = System.nanoTime() + settings.healthInterval().toNanos();
        long nextRss = System.nanoTime();
        int failures = 0;
        boolean everHealthy = false;
        while (!stop.await(TICK.toMillis(), TimeUnit.MILLISECONDS)) {
            if (!child.isAlive()) {
                int code = child.exitValue();
                return code == 0 ? null : RestartReason.exit(code);
            }
            long now = System.nanoTime();
            if (settings.memoryLimit() > 0 && now >= nextRss) {
                nextRss = now + RSS_SAMPLE.toNanos();
                long rss = ResidentMemory.of(child.pid());
                if (rss > settings.memoryLimit()) {
                    return RestartReason.memory(rss, settings.memoryLimit());
                }
            }
            if (child.port() < 0) {
                if (child.uptime().compareTo(settings.startupTimeout()) > 0) {
                    return RestartReason.startup(settings.startupTimeout());
                }
                continue;
            }
            if (now >= nextProbe) {
                HealthProbe.Result r = probe.probe(child.host(), child.port());
                nextProbe = System.nanoTime() + settings.healthInterval().toNanos();
                if (r.ok()) {
                    failures = 0;
                    everHealthy = true;
                } else if (++failures >= settings.healthFailures()) {
                    return RestartReason.health(failures, r.detail());
                } else {
                    log.warn("supervisor: child pid {} failed its health check ({} of {}): {}", child.pid(),
                            failures, settings.healthFailures(), r.detail());
                }
            }
            if (everHealthy && failures == 0 && restartsSinceHealthy > 0
                    && child.uptime().compareTo(settings.minUptime()) >= 0) {
                log.info("supervisor: child pid {} healthy for {} s; backoff reset", child.pid(),
                        child.uptime().toSeconds());
                restartsSinceHealthy = 0;
            }
        }
        return null;
    }
}
