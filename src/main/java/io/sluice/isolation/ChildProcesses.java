package io.sluice.isolation;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Starts the processes of job attempts ({@code command} programs, the child JVMs of isolated pipelines) so that none
 * outlives the server, and kills what a server that died anyway left behind.
 *
 * <p><b>The leash</b> (Linux with {@code setpriv} and {@code setsid}, util-linux): each program is started as
 * {@code setpriv --pdeathsig TERM -- setsid -- sh -c <watcher> sluice-leash <program...>}. {@code setsid} makes
 * the watcher shell the leader of a new process group; the shell runs the program in the background and waits for
 * it. When the server dies, even by {@code kill -9}, the kernel sends the watcher SIGTERM (the parent-death
 * signal), and its trap kills the whole group with SIGKILL in one {@code kill -KILL 0}: the program and everything
 * it started. Killing a job (cancel, timeout, stop) sends the watcher SIGTERM likewise. The parent-death signal
 * fires when the <em>thread</em> that started the process ends, not the process: so every start happens on one
 * platform thread owned by this object, which lives until {@link #close()}.
 *
 * <p><b>The ledger</b>: each started process is recorded in {@code <dir>/<jobId>-<attempt>.<pid>} with its start
 * time ({@link ProcessIdentity}), this machine's boot, and this server's own identity, and the record is removed when
 * the attempt is done with it. {@link #killLeftovers()} (at start-up) kills the recorded processes whose server is
 * gone; {@link #killEarlierAttempts} (before an attempt runs) kills those of the job's earlier attempts, whoever
 * started them. A pid is only ever signalled while its start time is the recorded one, so a reused pid is never
 * hit. Without {@code setpriv} (no leash) the ledger is what ends a crashed server's programs: at the restart, or
 * before the job's next attempt, whichever comes first. Members of a recorded group are found by their process
 * group id even after the leader died.
 *
 * <p>Thread-safe.
 */
public final class ChildProcesses implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChildProcesses.class);
    /** The watcher: kill the whole group on SIGTERM; otherwise run the program and exit with its status. */
    static final String WATCHER = "trap 'trap - TERM; kill -KILL 0' TERM\n\"$@\" &\nwait $!\n";
    /** How long a killed process may take to be gone before that counts as a failure. */
    static final Duration KILL_WAIT = Duration.ofSeconds(5);
    private static final Pattern RECORD = Pattern.compile("([0-9A-Za-z]+)-(\\d+)\\.(\\d+)");

    private final Path ledger;
    private final List<String> leash;
    private final ExecutorService launcher;
    private final ProcessIdentity self = ProcessIdentity.current();
    private final String machine = machine();

    /**
     * @param ledger where started processes are recorded (created), or null to record nothing (a child JVM's own
     *               programs: they die with it)
     * @param path   the {@code PATH} to find {@code setpriv}, {@code setsid} and {@code sh} on; null for none (no
     *               leash)
     */
    public ChildProcesses(Path ledger, String path) throws IOException {
        this.ledger = ledger;
        if (ledger != null) {
            Files.createDirectories(ledger);
        }
        this.leash = leashPrefix(path);
        this.launcher = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-process-launcher").unstarted(r));
        if (leash.isEmpty()) {
            log.info("setpriv or setsid not found: programs of jobs are not tied to this process; a crash leaves "
                    + "them running until the restart or the job's next attempt kills them");
        }
    }

    /** For this process's environment: the ledger in {@code dataDir/children}. */
    public static ChildProcesses forDataDir(Path dataDir) throws IOException {
        return new ChildProcesses(dataDir.resolve("children"), System.getenv("PATH"));
    }

    /** Whether started processes die with this one (the leash is available). */
    public boolean leashed() {
        return !leash.isEmpty();
    }

    /**
     * Starts {@code builder}'s command, leashed when possible, and records it under {@code jobId}/{@code attempt}
     * (when both are given and there is a ledger). The caller closes the result when done with the process.
     */
    public ChildProcess start(ProcessBuilder builder, String jobId, int attempt) throws IOException {
        List<String> command = new ArrayList<>(leash);
        command.addAll(builder.command());
        builder.command(command);
        Process process;
        try {
            Future<Process> started = launcher.submit(builder::start);
            process = started.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("cannot start " + command, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting " + command, e);
        } catch (RejectedExecutionException e) {
            throw new IOException("the server is stopping; not starting " + command, e);
        }
        Path record = null;
        Optional<ProcessIdentity> id = ProcessIdentity.of(process.pid());
        if (ledger != null && jobId != null && id.isPresent()) {
            record = ledger.resolve(jobId + "-" + attempt + "." + process.pid());
            try {
                write(record, id.get());
            } catch (IOException e) {
                log.warn("could not record process {} of job {}: {}", process.pid(), jobId, e.toString());
                record = null;
            }
        }
        return new ChildProcess(process, id.orElse(null), leashed(), record);
    }

    /** Kills the recorded processes whose server is no longer running (call before any worker runs). */
    public int killLeftovers() throws IOException {
        return sweep(r -> !r.owner().alive());
    }

    /**
     * Kills what earlier attempts of {@code jobId} left running, so that two attempts of one job never run at once.
     *
     * @throws IOException when one is still alive after {@link #KILL_WAIT}
     */
    public int killEarlierAttempts(String jobId, int attempt) throws IOException {
        return sweep(r -> r.jobId().equals(jobId) && r.attempt() < attempt);
    }

    private record Record(Path file, String jobId, int attempt, ProcessIdentity process, ProcessIdentity owner,
                          String machine, boolean group) {
    }

    private int sweep(Predicate<Record> which) throws IOException {
        if (ledger == null) {
            return 0;
        }
        int killed = 0;
        List<String> survivors = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(ledger)) {
            for (Path f : files) {
                Optional<Record> r = read(f);
                if (r.isEmpty()) {
                    continue;
                }
                Record rec = r.get();
                if (!rec.machine().equals(machine)) {
                    // Another machine sharing the directory, or this one before a reboot (which ended it).
                    if (rec.machine().startsWith(machine.substring(0, machine.indexOf('/') + 1))) {
                        Files.deleteIfExists(f);
                    }
                    continue;
                }
                if (!which.test(rec)) {
                    continue;
                }
                List<ProcessIdentity> alive = kill(rec.process(), rec.group());
                if (!alive.isEmpty()) {
                    survivors.add(rec.jobId() + " attempt " + rec.attempt() + ": pids "
                            + alive.stream().map(p -> Long.toString(p.pid())).toList());
                    continue;
                }
                if (Files.deleteIfExists(f)) {
                    killed++;
                    log.warn("killed what attempt {} of job {} left running (pid {}, its server {} is gone or the "
                            + "job moved on)", rec.attempt(), rec.jobId(), rec.process().pid(), rec.owner().pid());
                }
            }
        }
        if (!survivors.isEmpty()) {
            throw new IOException("processes survived SIGKILL for " + KILL_WAIT + ": " + survivors);
        }
        return killed;
    }

    /** Kills a process (and, for a group leader, its group); returns what is still alive after the wait. */
    static List<ProcessIdentity> kill(ProcessIdentity process, boolean group) {
        List<ProcessIdentity> targets = new ArrayList<>();
        if (group && process.terminate()) {
            // The watcher's trap kills the whole group at once (no member can fork away meanwhile).
            awaitGone(List.of(process), Duration.ofSeconds(1));
        }
        if (process.alive()) {
            targets.add(process);
            if (!group) {
                ProcessHandle.of(process.pid()).ifPresent(h -> h.descendants()
                        .forEach(d -> ProcessIdentity.of(d.pid()).ifPresent(targets::add)));
            }
        }
        if (group) {
            targets.addAll(process.groupMembers());
        }
        targets.forEach(ProcessIdentity::kill);
        return awaitGone(targets, KILL_WAIT);
    }

    /** Waits until none of {@code targets} is alive or {@code wait} passed; returns those still alive. */
    private static List<ProcessIdentity> awaitGone(List<ProcessIdentity> targets, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        List<ProcessIdentity> alive = targets;
        while (true) {
            alive = alive.stream().filter(ProcessIdentity::alive).toList();
            if (alive.isEmpty() || System.nanoTime() > deadline) {
                return alive;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return alive.stream().filter(ProcessIdentity::alive).toList();
            }
        }
    }

    private void write(Path record, ProcessIdentity id) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("pid", Long.toString(id.pid()));
        fields.put("start", id.start());
        fields.put("group", Boolean.toString(leashed()));
        fields.put("machine", machine);
        fields.put("ownerPid", Long.toString(self.pid()));
        fields.put("ownerStart", self.start());
        StringBuilder sb = new StringBuilder();
        fields.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        Path tmp = record.resolveSibling(record.getFileName() + ".tmp");
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, record, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, record, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static Optional<Record> read(Path f) {
        var m = RECORD.matcher(f.getFileName().toString());
        if (!m.matches()) {
            if (f.getFileName().toString().endsWith(".tmp")) {
                deleteQuietly(f); // a start cut short by a crash: its process, if any, was leashed
            }
            return Optional.empty();
        }
        Map<String, String> fields = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    fields.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return Optional.of(new Record(f, m.group(1), Integer.parseInt(m.group(2)),
                    new ProcessIdentity(Long.parseLong(fields.get("pid")), fields.get("start")),
                    new ProcessIdentity(Long.parseLong(fields.get("ownerPid")), fields.get("ownerStart")),
                    fields.getOrDefault("machine", ""), Boolean.parseBoolean(fields.get("group"))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            log.warn("ignoring an unreadable process record {}: {}", f, e.toString());
            return Optional.empty();
        }
    }

    static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            log.debug("could not remove {}: {}", f, e.toString());
        }
    }

    /** {@code <hostname>/<boot id>} on Linux: a pid means something only on the machine and boot it came from. */
    private static String machine() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip() + "/"
                    + Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (IOException | RuntimeException e) {
            return "unknown/unknown";
        }
    }

    private static List<String> leashPrefix(String path) {
        if (path == null || !System.getProperty("os.name", "").startsWith("Linux")) {
            return List.of();
        }
        Optional<Path> setpriv = onPath(path, "setpriv");
        Optional<Path> setsid = onPath(path, "setsid");
        Optional<Path> sh = onPath(path, "sh");
        if (setpriv.isEmpty() || setsid.isEmpty() || sh.isEmpty()) {
            return List.of();
        }
        return List.of(setpriv.get().toString(), "--pdeathsig", "TERM", "--", setsid.get().toString(), "--",
                sh.get().toString(), "-c", WATCHER, "sluice-leash");
    }

    private static Optional<Path> onPath(String path, String program) {
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, program);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Stops the launcher thread: processes still leashed to it get their parent-death signal. */
    @Override
    public void close() {
        launcher.shutdown();
    }
}
