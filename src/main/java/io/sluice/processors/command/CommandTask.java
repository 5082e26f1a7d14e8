package io.sluice.processors.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.Json;
import io.sluice.isolation.ChildProcess;
import io.sluice.isolation.TailBuffer;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One configured {@code command} pipeline; see {@link CommandProcessor}. Shared by its jobs; state on the stack. */
final class CommandTask implements Processor.Task {

    static final long MAX_STDOUT = 1024 * 1024;
    static final int STDERR_TAIL = 8 * 1024;
    static final int EX_TEMPFAIL = 75;
    private static final long POLL_MILLIS = 100;

    private final CommandOptions options;
    private final List<String> prefix;

    CommandTask(CommandOptions options, List<String> prefix) {
        this.options = options;
        this.prefix = prefix;
    }

    @Override
    public Processor.Result run(ProcessorContext context) throws Exception {
        Path workDir = context.workDir();
        Path file = context.file().toAbsolutePath();
        Path output = workDir.resolve("command-output.ndjson").toAbsolutePath();
        Path stdoutFile = workDir.resolve("command-stdout.json");
        List<String> command = new ArrayList<>(prefix);
        for (String arg : options.command()) {
            command.add(arg.replace("{file}", file.toString()).replace("{output}", output.toString()));
        }
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> env = pb.environment();
        env.clear();
        for (String keep : List.of("PATH", "HOME", "LANG")) {
            String v = System.getenv(keep);
            if (v != null) {
                env.put(keep, v);
            }
        }
        env.put("TMPDIR", workDir.toAbsolutePath().toString());
        env.put("SLUICE_FILE", file.toString());
        env.put("SLUICE_OUTPUT", output.toString());
        ProcessorContext.UploadInfo u = context.upload();
        env.put("SLUICE_UPLOAD_ID", u.id());
        env.put("SLUICE_FILENAME", u.filename() == null ? "" : u.filename());
        env.put("SLUICE_CONTENT_TYPE", u.contentType() == null ? "" : u.contentType());
        env.putAll(options.env());

        context.progress(0, "running " + Path.of(options.command().getFirst()).getFileName(), null);
        String program = options.command().getFirst();
        if (!findable(program, env.get("PATH"), workDir)) {
            // Checked here: behind a prefix (the leash, prlimit) a missing program is only the prefix's exit code.
            throw new ProcessorException("command_not_found", "cannot start " + program + ": no such executable"
                    + (program.contains("/") ? "" : " on the PATH"));
        }
        ChildProcess child;
        try {
            child = context.start(pb);
        } catch (IOException e) {
            throw new ProcessorException("command_not_found", "cannot start " + program + ": " + e.getMessage());
        }
        try (child) {
            return run(context, child, stdoutFile, output);
        }
    }

    private Processor.Result run(ProcessorContext context, ChildProcess child, Path stdoutFile, Path output)
            throws Exception {
        Process p = child.process();
        TailBuffer stderr = new TailBuffer(STDERR_TAIL);
        long[] stdoutBytes = new long[1];
        Thread errPump = Thread.ofVirtual().start(() -> stderr.drain(p.getErrorStream()));
        Thread outPump = Thread.ofVirtual().start(() -> stdoutBytes[0] = copyCapped(p.getInputStream(),
                stdoutFile));
        long started = System.nanoTime();
        try {
            while (!p.waitFor(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                context.checkpoint();
                if (options.timeout() != null && System.nanoTime() - started >= options.timeout().toNanos()) {
                    child.kill();
                    throw new ProcessorException("timeout", options.command().getFirst() + " ran longer than its "
                            + "time limit of " + options.timeout());
                }
            }
            outPump.join();
            errPump.join(Duration.ofSeconds(2));
        } finally {
            if (p.isAlive()) {
                child.kill();
            }
        }
        int exit = p.exitValue();
        if (exit != 0) {
            String tail = stderr.lastLines(5);
            throw new ProcessorException("command_failed", options.command().getFirst() + " exited with code "
                    + exit + (tail.isEmpty() ? "" : ": " + tail), exit == EX_TEMPFAIL, null);
        }
        context.progress(90, "reading output", null);
        Map<String, Object> summary = summary(stdoutFile, stdoutBytes[0]);
        copyRows(output, context);
        return Processor.Result.of(summary);
    }

    private static Map<String, Object> summary(Path stdoutFile, long bytes) throws ProcessorException {
        if (bytes > MAX_STDOUT) {
            throw new ProcessorException("bad_command_output", "the command printed " + bytes + " bytes; its "
                    + "stdout must be one JSON object of at most " + MAX_STDOUT + " bytes (rows go to {output})");
        }
        JsonNode node;
        try {
            node = Json.mapper().readTree(stdoutFile.toFile());
        } catch (IOException e) {
            node = null;
        }
        if (node == null || !node.isObject()) {
            String shown = preview(stdoutFile);
            throw new ProcessorException("bad_command_output", "the command's stdout must be one JSON object, got "
                    + (shown.isEmpty() ? "nothing" : "'" + shown + "'"));
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        node.properties().forEach(e -> summary.put(e.getKey(), Json.mapper().convertValue(e.getValue(),
                Object.class)));
        return summary;
    }

    private static void copyRows(Path output, ProcessorContext context) throws IOException, ProcessorException {
        if (!Files.exists(output)) {
            return;
        }
        try (BufferedReader r = Files.newBufferedReader(output, StandardCharsets.UTF_8)) {
            String line;
            long n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode row;
                try {
                    row = Json.mapper().readTree(line);
                } catch (IOException e) {
                    row = null;
                }
                if (row == null) {
                    throw new ProcessorException("bad_command_output", "line " + n + " of {output} is not JSON");
                }
                context.output().write(row);
                if (n % 1000 == 0) {
                    context.checkpoint();
                }
            }
        }
    }

    /** Copies at most {@link #MAX_STDOUT} bytes to {@code to} and drains the rest; returns the bytes seen. */
    private static long copyCapped(InputStream in, Path to) {
        long total = 0;
        byte[] buf = new byte[8192];
        try (in; OutputStream out = Files.newOutputStream(to)) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (total < MAX_STDOUT) {
                    out.write(buf, 0, (int) Math.min(n, MAX_STDOUT - total));
                }
                total += n;
            }
        } catch (IOException ignored) {
            // Killed program: the exit code tells.
        }
        return total;
    }

    private static String preview(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            String s = new String(in.readNBytes(200), StandardCharsets.UTF_8).strip();
            return s.replaceAll("\\s+", " ");
        } catch (IOException e) {
            return "";
        }
    }

    /** Whether {@code program} names an executable file, directly or on {@code path}, as execvp would find it. */
    private static boolean findable(String program, String path, Path workDir) {
        if (program.contains("/")) {
            return Files.isExecutable(workDir.resolve(program)); // relative to the working directory it runs in
        }
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = dir.isEmpty() ? workDir.resolve(program) : Path.of(dir, program);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return true;
            }
        }
        return false;
    }
}
