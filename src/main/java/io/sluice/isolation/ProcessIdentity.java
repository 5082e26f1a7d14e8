package io.sluice.isolation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A process named so that a reused pid is never mistaken for it: its pid and its start time. On Linux the start
 * time is field 22 of {@code /proc/<pid>/stat} (clock ticks since boot: exact, and the same whoever reads it);
 * elsewhere {@link ProcessHandle.Info#startInstant()} in milliseconds.
 *
 * @param pid   the process id
 * @param start its start time as text ({@code ticks:<n>} or {@code ms:<n>})
 */
public record ProcessIdentity(long pid, String start) {

    private static final Path PROC = Path.of("/proc");
    private static final boolean LINUX = Files.isReadable(PROC.resolve("self/stat"));

    /** The identity of the live process {@code pid}; empty when there is none (or it is a zombie). */
    public static Optional<ProcessIdentity> of(long pid) {
        if (LINUX) {
            return stat(pid).filter(Stat::alive).map(s -> new ProcessIdentity(pid, "ticks:" + s.startTicks()));
        }
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .flatMap(h -> h.info().startInstant())
                .map(i -> new ProcessIdentity(pid, "ms:" + i.toEpochMilli()));
    }

    /** This process. */
    public static ProcessIdentity current() {
        long pid = ProcessHandle.current().pid();
        return of(pid).orElse(new ProcessIdentity(pid, "unknown"));
    }

    /** Whether this very process (same pid, same start) still runs; a zombie does not. */
    public boolean alive() {
        return of(pid).map(this::equals).orElse(false);
    }

    /**
     * Live processes in the process group {@code pid} (a group leader's pid is its group id) that started no earlier
     * than this process: the members of a group this process led, even after it died. Linux only; empty elsewhere.
     */
    public List<ProcessIdentity> groupMembers() {
        if (!LINUX || !start.startsWith("ticks:")) {
            return List.of();
        }
        if (of(pid).filter(p -> !p.equals(this)).isPresent()) {
            // The pid is another process's now, so the group is gone: Linux reuses no id a group still has.
            return List.of();
        }
        long since = Long.parseLong(start.substring("ticks:".length()));
        return ProcessHandle.allProcesses().map(ProcessHandle::pid)
                .map(p -> stat(p).filter(s -> s.alive() && s.pgid() == pid && s.startTicks() >= since)
                        .map(s -> new ProcessIdentity(p, "ticks:" + s.startTicks())))
                .flatMap(Optional::stream).toList();
    }

    /** Sends SIGKILL to this process if it is still this process (the JDK checks the start time again). */
    public boolean kill() {
        return ProcessHandle.of(pid).filter(h -> alive()).map(ProcessHandle::destroyForcibly).orElse(false);
    }

    /** Sends SIGTERM, under the same check. */
    public boolean terminate() {
        return ProcessHandle.of(pid).filter(h -> alive()).map(ProcessHandle::destroy).orElse(false);
    }

    /** The fields of {@code /proc/<pid>/stat} used here. */
    private record Stat(char state, long pgid, long startTicks) {
        boolean alive() {
            return state != 'Z' && state != 'X' && state != 'x';
        }
    }

    private static Optional<Stat> stat(long pid) {
        String line;
        try {
            line = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        // The command name (field 2) is in parentheses and may hold spaces and parentheses: count after the last.
        int close = line.lastIndexOf(')');
        if (close < 0) {
            return Optional.empty();
        }
        String[] f = line.substring(close + 2).split(" ");
        // f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22 (starttime).
        if (f.length < 20) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Stat(f[0].charAt(0), Long.parseLong(f[2]), Long.parseLong(f[19])));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
