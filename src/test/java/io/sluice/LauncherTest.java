package io.sluice;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code sluice} launcher script, run as a process: the JVM options it chooses (heap, collector, AOT cache),
 * how {@code JAVA_OPTS} overrides them, and that finding the JDK starts no JVM. Each test copies the script into a
 * directory of its own with a {@code target/sluice.jar} beside it (the script builds nothing when there are no
 * sources), so the repository's jar and cache are never touched.
 */
class LauncherTest {

    private static final Path SCRIPT = Path.of("sluice");

    private record Run(int exit, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    /** A copy of the launcher with a dummy (dry-run) or runnable jar; returns its root. */
    private static Path launcher(Path dir, boolean realJar) throws IOException {
        Path root = dir.resolve("repo");
        Files.createDirectories(root.resolve("target"));
        Files.copy(SCRIPT, root.resolve("sluice"));
        Files.setPosixFilePermissions(root.resolve("sluice"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path jar = root.resolve("target/sluice.jar");
        if (realJar) {
            // A runnable jar without building one: io.sluice.Main, with this test's class path as its Class-Path.
            Manifest manifest = new Manifest();
            manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
            manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "io.sluice.Main");
            manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, Arrays.stream(
                            System.getProperty("java.class.path").split(File.pathSeparator))
                    .map(e -> Path.of(e).toAbsolutePath().toUri().toString()).collect(Collectors.joining(" ")));
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
                out.flush();
            }
        } else {
            Files.writeString(jar, "not a jar: only SLUICE_DRY_RUN uses it");
        }
        return root;
    }

    private static Run run(Path root, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("sluice").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile());
        pb.environment().remove("JAVA_OPTS");
        pb.environment().remove("SLUICE_DRY_RUN");
        pb.environment().remove("SLUICE_AOT");
        pb.environment().remove("SLUICE_PLUGIN_PATH");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        Path out = root.resolve("out.txt");
        Path err = root.resolve("err.txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the launcher did not finish within 60 s: " + Files.readString(err));
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static String realJava() throws IOException {
        return Path.of(System.getProperty("java.home"), "bin", "java").toRealPath().toString();
    }

    /** Writes the stamp the launcher compares: java binary, then the jar's size and modification time in seconds. */
    private static void stamp(Path root) throws IOException {
        Path jar = root.resolve("target/sluice.jar");
        Files.writeString(root.resolve("target/sluice.aot.stamp"), realJava() + " " + Files.size(jar) + " "
                + Files.getLastModifiedTime(jar).toInstant().getEpochSecond() + "\n");
    }

    @Test
    void defaultHeapAndCollectorComeBeforeTheCommand(@TempDir Path dir) throws Exception {
        Path root = launcher(dir, false);

        Run r = run(root, Map.of("SLUICE_DRY_RUN", "1"), "version");

        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> cmd = r.lines();
        assertThat(cmd.getFirst()).isEqualTo(realJava());
        String heap = cmd.stream().filter(a -> a.startsWith("-Xmx")).findFirst().orElseThrow();
        assertThat(Integer.parseInt(heap.substring(4, heap.length() - 1))).as(heap).isBetween(64, 512);
        assertThat(heap).endsWith("m");
        // Native access said explicitly: the AOT cache records it, and -cp runs (plugins, supervise's child) need it.
        assertThat(cmd).contains("-XX:+UseG1GC", "-XX:G1PeriodicGCInterval=5000", "-XX:+ExitOnOutOfMemoryError",
                        "--enable-native-access=ALL-UNNAMED")
                .doesNotContain("-XX:AOTCache=" + root.resolve("target/sluice.aot"));
        // Peak memory of a busy server (issue 14): a small initial heap, G1 keeping less garbage, freed native
        // memory (the compiler's) returned to the OS.
        assertThat(cmd).contains("-Xms64m", "-XX:GCTimeRatio=4", "-XX:TrimNativeHeapInterval=5000");
        assertThat(cmd.subList(cmd.size() - 3, cmd.size()))
                .containsExactly("-jar", root.resolve("target/sluice.jar").toString(), "version");
    }

    @Test
    void javaOptsReplaceTheDefaultsTheyName(@TempDir Path dir) throws Exception {
        Path root = launcher(dir, false);

        List<String> cmd = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", "-Xmx128m -XX:+UseSerialGC"),
                "version").lines();
        assertThat(cmd).contains("-Xmx128m", "-XX:+UseSerialGC")
                .noneMatch(a -> a.startsWith("-Xmx") && !a.equals("-Xmx128m"))
                .doesNotContain("-XX:+UseG1GC", "-XX:G1PeriodicGCInterval=5000");

        cmd = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", "-XX:+UseZGC"), "version").lines();
        assertThat(cmd).contains("-XX:+UseZGC").doesNotContain("-XX:+UseG1GC");
        cmd = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", "-XX:+UseG1GC -Xmx1g"), "version").lines();
        assertThat(cmd.stream().filter("-XX:+UseG1GC"::equals)).hasSize(1);
        assertThat(cmd.stream().filter(a -> a.startsWith("-Xmx"))).containsExactly("-Xmx1g");

        // The memory defaults step aside for the same option in JAVA_OPTS; GCTimeRatio goes with G1.
        cmd = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS",
                "-Xms256m -XX:GCTimeRatio=12 -XX:TrimNativeHeapInterval=0"), "version").lines();
        assertThat(cmd).contains("-Xms256m", "-XX:GCTimeRatio=12", "-XX:TrimNativeHeapInterval=0", "-XX:+UseG1GC")
                .doesNotContain("-Xms64m", "-XX:GCTimeRatio=4", "-XX:TrimNativeHeapInterval=5000");
        cmd = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", "-XX:+UseSerialGC"), "version").lines();
        assertThat(cmd).contains("-Xms64m").doesNotContain("-XX:GCTimeRatio=4");
        // A heap limit below the initial heap (or one the launcher cannot read) leaves the initial heap to the JVM,
        // which would refuse to start with -Xms above -Xmx.
        for (String limit : List.of("-Xmx32m", "-XX:MaxHeapSize=50000000", "-XX:MaxRAMPercentage=5")) {
            assertThat(run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", limit), "version").lines())
                    .as(limit).contains(limit).noneMatch(a -> a.startsWith("-Xms"));
        }
        assertThat(run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", "-Xmx1g"), "version").lines())
                .contains("-Xms64m", "-Xmx1g");

        // A heap given as a share of memory replaces the -Xmx default too (-Xmx would win over it); the collector stays.
        cmd = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_OPTS", "-XX:MaxRAMPercentage=70"), "version").lines();
        assertThat(cmd).contains("-XX:MaxRAMPercentage=70", "-XX:+UseG1GC").noneMatch(a -> a.startsWith("-Xmx"));
    }

    @Test
    void theJvmAcceptsTheDefaultsAndAnOverridingCollector(@TempDir Path dir) throws Exception {
        Path root = launcher(dir, true);

        Run defaults = run(root, Map.of("SLUICE_AOT", "0", "JAVA_OPTS", "-XX:+PrintFlagsFinal"), "version");
        assertThat(defaults.exit()).as(defaults.toString()).isZero();
        assertThat(defaults.out()).containsPattern("bool UseG1GC += true")
                .containsPattern("uintx G1PeriodicGCInterval += 5000 ").contains("sluice ")
                .containsPattern("size_t InitialHeapSize += " + (64L << 20) + " ")
                .containsPattern("uint GCTimeRatio += 4 ")
                .containsPattern("uint TrimNativeHeapInterval += 5000 ");
        long heap = Long.parseLong(defaults.out().lines().filter(l -> l.contains(" MaxHeapSize "))
                .findFirst().orElseThrow().trim().split("\\s+")[3]);
        assertThat(heap).isBetween(64L << 20, 512L << 20);

        Run smallHeap = run(root, Map.of("SLUICE_AOT", "0", "JAVA_OPTS", "-Xmx32m"), "version");
        assertThat(smallHeap.exit()).as(smallHeap.toString()).isZero();

        // Two collectors would make the JVM refuse to start: JAVA_OPTS's choice must replace the default.
        Run serial = run(root, Map.of("SLUICE_AOT", "0", "JAVA_OPTS", "-XX:+UseSerialGC -Xmx96m -XX:+PrintFlagsFinal"),
                "version");
        assertThat(serial.exit()).as(serial.toString()).isZero();
        assertThat(serial.out()).containsPattern("bool UseSerialGC += true").containsPattern("bool UseG1GC += false")
                .containsPattern("size_t MaxHeapSize += " + (96L << 20) + " ");
    }

    @Test
    void aFreshCacheIsUsedAndAStaleOneIsNot(@TempDir Path dir) throws Exception {
        Path root = launcher(dir, false);
        Path aot = root.resolve("target/sluice.aot");
        Files.writeString(aot, "cache");
        stamp(root);

        assertThat(run(root, Map.of("SLUICE_DRY_RUN", "1"), "version").lines()).contains("-XX:AOTCache=" + aot);
        assertThat(run(root, Map.of("SLUICE_DRY_RUN", "1", "SLUICE_AOT", "0"), "version").lines())
                .noneMatch(a -> a.startsWith("-XX:AOTCache"));

        // A rebuilt jar (another modification time): the cache belongs to the old one and is not passed.
        Path jar = root.resolve("target/sluice.jar");
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(5)));
        assertThat(run(root, Map.of("SLUICE_DRY_RUN", "1"), "version").lines())
                .noneMatch(a -> a.startsWith("-XX:AOTCache"));
    }

    @Test
    void anUnusableCacheIsReportedOnStderrAndTheCommandStillRuns(@TempDir Path dir) throws Exception {
        Path root = launcher(dir, true);
        Files.writeString(root.resolve("target/sluice.aot"), "not an AOT cache");
        stamp(root);

        Run r = run(root, Map.of(), "version");

        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out().strip()).as("stdout carries only the command's output").startsWith("sluice ")
                .doesNotContain("aot");
        assertThat(r.err()).contains("[aot]");
    }

    @Test
    void findingTheJdkReadsItsReleaseFileInsteadOfStartingIt(@TempDir Path dir) throws Exception {
        Path root = launcher(dir, false);
        // A JDK whose java only records that it was started: a dry run must not need to start it.
        Path jdk = dir.resolve("jdk");
        Files.createDirectories(jdk.resolve("bin"));
        Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"25.0.9\"\n");
        Path started = dir.resolve("started");
        Path java = jdk.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\necho started >> '" + started + "'\nexit 0\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));

        Run r = run(root, Map.of("SLUICE_DRY_RUN", "1", "JAVA_HOME", jdk.toString()), "version");

        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.lines().getFirst()).isEqualTo(java.toRealPath().toString());
        assertThat(started).doesNotExist();
    }
}
