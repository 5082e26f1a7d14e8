package io.sluice.ops.systemd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Tells systemd about the server's life: {@code READY=1} once it listens, {@code WATCHDOG=1} every half
 * {@code WATCHDOG_USEC} but only while {@code checks} pass (database answers, storage takes writes), and
 * {@code STOPPING=1} when it begins to drain. A server whose checks keep failing stops pinging, and systemd
 * (WatchdogSec, Restart=on-failure) restarts it. Without {@code NOTIFY_SOCKET} every method does nothing.
 */
public final class SystemdWatchdog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SystemdWatchdog.class);

    private final SdNotify notify;
    private final Duration interval;
    private final BooleanSupplier checks;
    private ScheduledExecutorService timer;
    private volatile boolean failing;

    private SystemdWatchdog(SdNotify notify, Duration interval, BooleanSupplier checks) {
        this.notify = notify;
        this.interval = interval;
        this.checks = checks;
    }

    /**
     * From the environment systemd gives a service; empty when there is no {@code NOTIFY_SOCKET}. The watchdog is
     * on when {@code WATCHDOG_USEC} is set and {@code WATCHDOG_PID}, if set, is this process.
     */
    public static Optional<SystemdWatchdog> fromEnvironment(Map<String, String> env, BooleanSupplier checks) {
        return SdNotify.fromEnvironment(env).map(n -> new SystemdWatchdog(n, watchdogInterval(env), checks));
    }

    /** Half of WATCHDOG_USEC (as systemd recommends), or null when the watchdog is not for us. */
    static Duration watchdogInterval(Map<String, String> env) {
        String usec = env.get("WATCHDOG_USEC");
        String pid = env.get("WATCHDOG_PID");
        if (usec == null || (pid != null && !pid.equals(Long.toString(ProcessHandle.current().pid())))) {
            return null;
        }
        try {
            long micros = Long.parseLong(usec.trim());
            return micros > 0 ? Duration.ofNanos(micros * 1000 / 2) : null;
        } catch (NumberFormatException e) {
            log.warn("ignoring WATCHDOG_USEC={}: not a number of microseconds", usec);
            return null;
        }
    }

    /** READY=1, then the watchdog pings if enabled. */
    public void ready() {
        send("READY=1\nMAINPID=" + ProcessHandle.current().pid() + "\nSTATUS=serving");
        log.info("systemd: READY=1 sent to {}{}", notify.socketName(),
                interval == null ? "" : "; watchdog ping every " + interval.toMillis() + " ms while checks pass");
        if (interval != null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "sluice-watchdog");
                t.setDaemon(true);
                return t;
            });
            timer.scheduleAtFixedRate(this::ping, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void ping() {
        boolean ok;
        try {
            ok = checks.getAsBoolean();
        } catch (RuntimeException e) {
            ok = false;
        }
        if (ok) {
            if (failing) {
                log.info("systemd: checks pass again; watchdog pings resume");
                failing = false;
            }
            send("WATCHDOG=1");
        } else if (!failing) {
            failing = true;
            log.warn("systemd: readiness checks fail (database or storage); withholding WATCHDOG=1");
        }
    }

    /** STOPPING=1 and no more pings: a drain may take longer than the watchdog allows. */
    public void stopping() {
        close();
        send("STOPPING=1\nSTATUS=draining");
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }

    private void send(String state) {
        try {
            notify.send(state);
        } catch (IOException e) {
            log.warn("systemd: cannot notify {}: {}", notify.socketName(), e.getMessage());
        }
    }
}
