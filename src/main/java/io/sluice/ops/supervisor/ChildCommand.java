package io.sluice.ops.supervisor;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of the child JVM: the same {@code java} binary, JVM options and class path as the supervisor
 * (so {@code JAVA_OPTS} given to the launcher reach the server), then the extra options, then
 * {@code io.sluice.Main <args>}.
 */
public final class ChildCommand {

    static final String MAIN_CLASS = "io.sluice.Main";
    /** System property naming the supervisor's pid; {@code serve} shuts down when that process ends. */
    public static final String SUPERVISOR_PID_PROPERTY = "sluice.supervisor.pid";
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";

    private ChildCommand() {
    }

    static List<String> build(List<String> extraJvmOptions, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (inheritable(option, extraJvmOptions)) {
                cmd.add(option);
            }
        }
        if (!cmd.contains(NATIVE_ACCESS)) {
            // The jar's manifest grants it for -jar; with -cp it must be said (SQLite and sd_notify use native code).
            cmd.add(NATIVE_ACCESS);
        }
        cmd.addAll(extraJvmOptions);
        // The child stops itself (gracefully) when this process is gone, even by SIGKILL: no orphan server
        // keeps the port and the database while a new supervisor starts another.
        cmd.add("-D" + SUPERVISOR_PID_PROPERTY + "=" + ProcessHandle.current().pid());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN_CLASS);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * A debugger agent would fight for the supervisor's port, and a collector the extra options replace would make
     * the child refuse to start (the launcher picks G1 by default; {@code --jvm-option=-XX:+UseSerialGC} must win);
     * everything else (heap, GC settings, flags, the AOT cache) is the child's too.
     */
    static boolean inheritable(String option, List<String> extraJvmOptions) {
        if (selectsCollector(option) && extraJvmOptions.stream().anyMatch(ChildCommand::selectsCollector)) {
            return false;
        }
        return !option.startsWith("-D" + SUPERVISOR_PID_PROPERTY + "=") && !option.startsWith("-agentlib:jdwp") && !option.startsWith("-Xrunjdwp") && !option.equals("-Xdebug");
    }

    private static boolean selectsCollector(String option) {
        return option.matches("-XX:\\+Use[A-Za-z0-9]*GC");
    }
}
