package io.sluice.ops.supervisor;

import java.time.Duration;

/**
 * Why a child is restarted; {@link #toString()} is the line the supervisor logs.
 *
 * @param kind   {@code exit}, {@code health}, {@code memory} or {@code startup}: stable, for logs and alerts
 * @param detail what was seen, e.g. "exited with code 137 (signal 9)"
 */
public record RestartReason(String kind, String detail) {

    static RestartReason exit(int code) {
        // Java reports a child killed by signal N as 128 + N.
        String how = code > 128 && code < 160 ? " (signal " + (code - 128) + ")" : "";
        return new RestartReason("exit", "exited with code " + code + how);
    }

    static RestartReason health(int failures, String last) {
        return new RestartReason("health", failures + " consecutive failed health checks, last: " + last);
    }

    static RestartReason memory(long rss, long limit) {
        return new RestartReason("memory", "RSS " + (rss >> 20) + " MiB above the limit of " + (limit >> 20) + " MiB");
    }

    static RestartReason startup(Duration timeout) {
        return new RestartReason("startup", "did not start listening within " + timeout.toSeconds() + " s");
    }

    @Override
    public String toString() {
        return "reason=" + kind + " (" + detail + ")";
    }
}
