package io.sluice.ops.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A process's resident set size, from {@code /proc/<pid>/status} (Linux). */
final class ResidentMemory {

    private ResidentMemory() {
    }

    /** VmRSS in bytes, or -1 when it cannot be read (process gone, not Linux). */
    static long of(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    // "VmRSS:	  123456 kB"
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
