package io.sluice.admission;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads real memory numbers instead of assuming the machine's size (the seed that hard-coded "4 GB" failed here).
 *
 * <p>Sources: cgroup v2 ({@code memory.max}, {@code memory.current}, {@code inactive_file}) or v1
 * ({@code memory.limit_in_bytes}, {@code memory.usage_in_bytes}, {@code total_inactive_file}) for the container;
 * {@code /proc/meminfo} {@code MemAvailable} for the host; {@code /proc/self/status} {@code VmRSS}; the JVM's pool
 * beans for heap after GC and direct buffers. {@code OperatingSystemMXBean.getFreeMemorySize()} is deliberately not
 * used: it counts page cache as used and reads near zero on an upload server.
 *
 * <p>Each {@link #sample()} reads a handful of small files; callers sample periodically, not per request.
 */
public final class MemoryMonitor {

    /** cgroup v1 reports "no limit" as a huge page-aligned number rather than "max". */
    private static final long CGROUP_V1_UNLIMITED = Long.MAX_VALUE / 2;

    private final Path proc;
    private final Path cgroupRoot;
    private final MemoryMXBean memoryBean = ManagementFactory.getMemoryMXBean();
    private final List<MemoryPoolMXBean> heapPools;
    private final BufferPoolMXBean directPool;
    private final long directMax;

    public MemoryMonitor() {
        this(Path.of("/proc"), Path.of("/sys/fs/cgroup"));
    }

    /** For tests: alternative roots holding fake {@code proc} and {@code cgroup} files. */
    public MemoryMonitor(Path proc, Path cgroupRoot) {
        this.proc = proc;
        this.cgroupRoot = cgroupRoot;
        this.heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP && p.isCollectionUsageThresholdSupported())
                .toList();
        this.directPool = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElse(null);
        this.directMax = readMaxDirect();
    }

    public MemorySnapshot sample() {
        MemoryUsage heap = memoryBean.getHeapMemoryUsage();
        long afterGc = 0;
        boolean any = false;
        for (MemoryPoolMXBean pool : heapPools) {
            MemoryUsage cu = pool.getCollectionUsage();
            if (cu != null) {
                afterGc += cu.getUsed();
                any = true;
            }
        }
        long[] cgroup = readCgroup();
        long[] meminfo = readMeminfo();
        return new MemorySnapshot(
                heap.getUsed(),
                heap.getMax(),
                any ? afterGc : -1,
                directPool == null ? -1 : directPool.getMemoryUsed(),
                directMax,
                readRss(),
                cgroup[0],
                cgroup[1],
                meminfo[0],
                meminfo[1]);
    }

    private long readMaxDirect() {
        try {
            var hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            long v = Long.parseLong(hs.getVMOption("MaxDirectMemorySize").getValue());
            // 0 means "same as the maximum heap", the JVM's own default.
            return v > 0 ? v : Runtime.getRuntime().maxMemory();
        } catch (RuntimeException e) {
            return Runtime.getRuntime().maxMemory();
        }
    }

    /** Returns {limit, workingSet}; -1 where unknown. */
    long[] readCgroup() {
        // cgroup v2: unified hierarchy, files at the root (inside a container the root is the container's group).
        Path v2 = ownGroup(cgroupRoot, true, "memory.current");
        if (Files.exists(v2.resolve("memory.current"))) {
            long limit = parseLimit(readFirstLine(v2.resolve("memory.max")));
            long current = parseLong(readFirstLine(v2.resolve("memory.current")));
            long inactive = statValue(v2.resolve("memory.stat"), "inactive_file");
            return new long[]{limit, workingSet(current, inactive)};
        }
        // v1: the memory hierarchy's root is the whole machine unless this process's own group is mounted there
        // (as in a container), so the own group is looked up just like on v2.
        Path v1 = ownGroup(cgroupRoot.resolve("memory"), false, "memory.usage_in_bytes");
        if (Files.exists(v1.resolve("memory.usage_in_bytes"))) {
            long limit = parseLimit(readFirstLine(v1.resolve("memory.limit_in_bytes")));
            long usage = parseLong(readFirstLine(v1.resolve("memory.usage_in_bytes")));
            long inactive = statValue(v1.resolve("memory.stat"), "total_inactive_file");
            return new long[]{limit, workingSet(usage, inactive)};
        }
        return new long[]{-1, -1};
    }

    /**
     * This process's group below {@code hierarchy} when it is visible there, else {@code hierarchy} itself (a
     * container sees its own group as the root while {@code /proc/self/cgroup} names the host's path).
     * {@code /proc/self/cgroup} lines are {@code id:controllers:/path}: {@code 0::/path} for v2, the controller
     * list names {@code memory} for v1. Hybrid hosts list both, the v2 line last.
     */
    private Path ownGroup(Path hierarchy, boolean v2, String probeFile) {
        List<String> lines;
        try {
            lines = Files.readAllLines(proc.resolve("self/cgroup"));
        } catch (IOException | RuntimeException e) {
            return hierarchy;
        }
        for (String line : lines) {
            String[] f = line.split(":", 3);
            if (f.length < 3 || !f[2].startsWith("/")) {
                continue;
            }
            boolean mine = v2 ? f[0].equals("0") && f[1].isEmpty() : List.of(f[1].split(",")).contains("memory");
            String rel = f[2].substring(1).trim();
            if (mine && !rel.isEmpty() && Files.exists(hierarchy.resolve(rel).resolve(probeFile))) {
                return hierarchy.resolve(rel);
            }
        }
        return hierarchy;
    }

    private static long workingSet(long usage, long inactive) {
        if (usage < 0) {
            return -1;
        }
        return Math.max(0, usage - Math.max(0, inactive));
    }

    private static long parseLimit(String s) {
        if (s == null || s.equals("max")) {
            return -1;
        }
        long v = parseLong(s);
        return v >= CGROUP_V1_UNLIMITED ? -1 : v;
    }

    /** Returns {MemTotal, MemAvailable} in bytes. */
    long[] readMeminfo() {
        long total = -1;
        long available = -1;
        try {
            for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                } else if (line.startsWith("MemAvailable:")) {
                    available = kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc hidden: the JVM's own signals still work
        }
        return new long[]{total, available};
    }

    private long readRss() {
        try {
            for (String line : Files.readAllLines(proc.resolve("self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }

    private static long statValue(Path stat, String key) {
        try {
            for (String line : Files.readAllLines(stat)) {
                if (line.startsWith(key + " ")) {
                    return Long.parseLong(line.substring(key.length() + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // treat as no inactive cache
        }
        return 0;
    }

    private static String readFirstLine(Path p) {
        try {
            List<String> lines = Files.readAllLines(p);
            return lines.isEmpty() ? null : lines.getFirst().trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static long parseLong(String s) {
        if (s == null) {
            return -1;
        }
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
