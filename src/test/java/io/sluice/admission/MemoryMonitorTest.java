package io.sluice.admission;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link MemoryMonitor} against fake {@code /proc} and {@code /sys/fs/cgroup} trees. */
class MemoryMonitorTest {

    private static final long KIB = 1024;
    private static final long GIB = 1L << 30;

    @TempDir
    Path root;
    Path proc;
    Path cgroup;

    @BeforeEach
    void layout() throws IOException {
        proc = Files.createDirectories(root.resolve("proc"));
        cgroup = Files.createDirectories(root.resolve("cgroup"));
        write(proc.resolve("meminfo"), """
                MemTotal:        8000000 kB
                MemFree:          500000 kB
                MemAvailable:    6000000 kB
                Buffers:           10000 kB
                """);
        write(proc.resolve("self/status"), "Name:\tjava\nVmPeak:\t  999999 kB\nVmRSS:\t  123456 kB\nThreads:\t42\n");
    }

    @Test
    void meminfoAndRssAreReadInBytes() {
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.systemTotal()).isEqualTo(8_000_000 * KIB);
        assertThat(m.systemAvailable()).isEqualTo(6_000_000 * KIB);
        assertThat(m.rss()).isEqualTo(123_456 * KIB);
        assertThat(m.cgroupLimit()).isEqualTo(-1);
        assertThat(m.cgroupWorkingSet()).isEqualTo(-1);
        assertThat(m.effectiveLimit()).isEqualTo(8_000_000 * KIB);
        assertThat(m.effectiveAvailable()).isEqualTo(6_000_000 * KIB);
        // The JVM's own readings are always there.
        assertThat(m.heapMax()).isPositive();
        assertThat(m.heapUsed()).isPositive();
        assertThat(m.directMax()).isPositive();
    }

    @Test
    void nothingReadableGivesMinusOneNotAnError() throws IOException {
        Path empty = Files.createDirectories(root.resolve("empty"));
        MemorySnapshot m = new MemoryMonitor(empty, empty).sample();
        assertThat(m.systemTotal()).isEqualTo(-1);
        assertThat(m.systemAvailable()).isEqualTo(-1);
        assertThat(m.rss()).isEqualTo(-1);
        assertThat(m.cgroupLimit()).isEqualTo(-1);
        assertThat(m.cgroupWorkingSet()).isEqualTo(-1);
    }

    @Test
    void cgroupV2AtTheContainerRoot() throws IOException {
        write(proc.resolve("self/cgroup"), "0::/\n");
        write(cgroup.resolve("memory.max"), "2147483648\n");
        write(cgroup.resolve("memory.current"), "1500000000\n");
        write(cgroup.resolve("memory.stat"), "anon 400000000\nfile 1100000000\nactive_file 200000000\n"
                + "inactive_file 900000000\ninactive_anon 5\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(2 * GIB);
        // Working set as kubelet computes it: usage minus inactive file cache.
        assertThat(m.cgroupWorkingSet()).isEqualTo(600_000_000L);
        assertThat(m.effectiveLimit()).isEqualTo(2 * GIB);
        assertThat(m.effectiveAvailable()).isEqualTo(2 * GIB - 600_000_000L);
    }

    @Test
    void cgroupV2UnlimitedIsMinusOne() throws IOException {
        write(proc.resolve("self/cgroup"), "0::/\n");
        write(cgroup.resolve("memory.max"), "max\n");
        write(cgroup.resolve("memory.current"), "1000\n");
        write(cgroup.resolve("memory.stat"), "inactive_file 400\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(-1);
        assertThat(m.cgroupWorkingSet()).isEqualTo(600);
        assertThat(m.effectiveLimit()).isEqualTo(8_000_000 * KIB);
    }

    @Test
    void cgroupV2NestedGroupOfThisProcessIsUsed() throws IOException {
        write(proc.resolve("self/cgroup"), "0::/system.slice/sluice.service\n");
        Path own = cgroup.resolve("system.slice/sluice.service");
        write(own.resolve("memory.max"), "1073741824\n");
        write(own.resolve("memory.current"), "300000000\n");
        write(own.resolve("memory.stat"), "inactive_file 100000000\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(GIB);
        assertThat(m.cgroupWorkingSet()).isEqualTo(200_000_000L);
    }

    @Test
    void cgroupV2PathNotVisibleFallsBackToTheRoot() throws IOException {
        // A container sees its own group mounted as the root, while /proc/self/cgroup names the host's path.
        write(proc.resolve("self/cgroup"), "0::/kubepods/burstable/pod1234/abcd\n");
        write(cgroup.resolve("memory.max"), "536870912\n");
        write(cgroup.resolve("memory.current"), "100000000\n");
        write(cgroup.resolve("memory.stat"), "inactive_file 0\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(512L << 20);
        assertThat(m.cgroupWorkingSet()).isEqualTo(100_000_000L);
    }

    @Test
    void cgroupV1UsesTotalInactiveFile() throws IOException {
        write(proc.resolve("self/cgroup"), "5:memory:/\n4:cpu,cpuacct:/\n0::/\n");
        Path mem = cgroup.resolve("memory");
        write(mem.resolve("memory.limit_in_bytes"), "4294967296\n");
        write(mem.resolve("memory.usage_in_bytes"), "3000000000\n");
        write(mem.resolve("memory.stat"), "cache 2000000000\ninactive_file 5\ntotal_cache 2000000000\n"
                + "total_inactive_file 1000000000\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(4 * GIB);
        assertThat(m.cgroupWorkingSet()).isEqualTo(2_000_000_000L);
        // 4 GiB limit is below the 8 GB host: the container limit is the effective one.
        assertThat(m.effectiveLimit()).isEqualTo(4 * GIB);
        assertThat(m.effectiveAvailable()).isEqualTo(Math.min(4 * GIB - 2_000_000_000L, 6_000_000 * KIB));
    }

    @Test
    void cgroupV1UnlimitedIsMinusOne() throws IOException {
        write(proc.resolve("self/cgroup"), "4:memory:/\n");
        Path mem = cgroup.resolve("memory");
        write(mem.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
        write(mem.resolve("memory.usage_in_bytes"), "1000\n");
        write(mem.resolve("memory.stat"), "total_inactive_file 100\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(-1);
        assertThat(m.cgroupWorkingSet()).isEqualTo(900);
    }

    @Test
    void cgroupV1NestedGroupOfThisProcessIsUsed() throws IOException {
        // A hybrid host: v1 controllers listed first, the unified line last, the memory group nested
        // (a systemd service with MemoryLimit=, or this very sandbox).
        write(proc.resolve("self/cgroup"), """
                9:name=systemd:/
                6:freezer:/
                4:memory:/process_api/4d857fb0
                1:cpu:/
                0::/
                """);
        Path mem = cgroup.resolve("memory");
        write(mem.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
        write(mem.resolve("memory.usage_in_bytes"), "20000000000\n");
        write(mem.resolve("memory.stat"), "total_inactive_file 1000000000\n");
        Path own = mem.resolve("process_api/4d857fb0");
        write(own.resolve("memory.limit_in_bytes"), "1073741824\n");
        write(own.resolve("memory.usage_in_bytes"), "500000000\n");
        write(own.resolve("memory.stat"), "total_inactive_file 100000000\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(GIB);
        assertThat(m.cgroupWorkingSet()).isEqualTo(400_000_000L);
    }

    @Test
    void cgroupV1ControllerListedWithOthersIsFound() throws IOException {
        write(proc.resolve("self/cgroup"), "3:cpu,memory:/app\n");
        Path own = cgroup.resolve("memory/app");
        write(own.resolve("memory.limit_in_bytes"), "268435456\n");
        write(own.resolve("memory.usage_in_bytes"), "1000\n");
        write(own.resolve("memory.stat"), "total_inactive_file 0\n");
        write(cgroup.resolve("memory/memory.usage_in_bytes"), "999999\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(256L << 20);
        assertThat(m.cgroupWorkingSet()).isEqualTo(1000);
    }

    @Test
    void workingSetNeverNegativeAndGarbageIsUnknown() throws IOException {
        write(proc.resolve("self/cgroup"), "0::/\n");
        write(cgroup.resolve("memory.max"), "not-a-number\n");
        write(cgroup.resolve("memory.current"), "100\n");
        write(cgroup.resolve("memory.stat"), "inactive_file 500\n");
        MemorySnapshot m = new MemoryMonitor(proc, cgroup).sample();
        assertThat(m.cgroupLimit()).isEqualTo(-1);
        assertThat(m.cgroupWorkingSet()).isZero();
    }

    private static void write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }
}
