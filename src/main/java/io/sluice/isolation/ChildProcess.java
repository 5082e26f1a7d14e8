package io.sluice.isolation;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A process started by {@link ChildProcesses}: the {@link Process} to read and wait for, and how to end it with
 * everything it started. {@link #close()} when done: it kills what is left and removes the process's record.
 */
public final class ChildProcess implements AutoCloseable {

    private final Process process;
    private final ProcessIdentity identity;
    private final boolean group;
    private final Path record;

    ChildProcess(Process process, ProcessIdentity identity, boolean group, Path record) {
        this.process = process;
        this.identity = identity;
        this.group = group;
        this.record = record;
    }

    /** A process started some other way: ended with its descendants, recorded nowhere. */
    public static ChildProcess unmanaged(Process process) {
        return new ChildProcess(process, ProcessIdentity.of(process.pid()).orElse(null), false, null);
    }

    public Process process() {
        return process;
    }

    /**
     * Kills the process and everything it started (its process group when leashed, else its descendants), and
     * waits for it to end (at most {@link ChildProcesses#KILL_WAIT}).
     */
    public void kill() {
        if (identity != null) {
            ChildProcesses.kill(identity, group);
        } else {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        try {
            process.waitFor(ChildProcesses.KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills whatever of it is still running (a group member left behind, too) and forgets its record. */
    @Override
    public void close() {
        if (process.isAlive() || (group && identity != null && !identity.groupMembers().isEmpty())) {
            kill();
        }
        if (record != null) {
            ChildProcesses.deleteQuietly(record);
        }
    }
}
