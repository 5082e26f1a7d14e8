package io.sluice.isolation;

import com.fasterxml.jackson.databind.ObjectWriter;
import io.sluice.api.Json;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorException;
import io.sluice.processors.Processors;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The child side of an isolated job ({@code sluice run-job}): reads a {@link RunSpec}, runs the task over local
 * files, and reports on {@code protocol} as {@link ChildProtocol} describes. Cancellation and time limits are the
 * parent's: it kills this process, so {@code checkpoint()} here never throws.
 */
public final class ChildRunner {

    /** Progress lines at most this often, except when the stage changes. */
    private static final long PROGRESS_EVERY_NANOS = 100_000_000L;

    private final PrintStream protocol;
    private final ObjectWriter writer = Json.mapper().writer();
    private String lastStage;
    private long lastProgressAt;

    public ChildRunner(PrintStream protocol) {
        this.protocol = Objects.requireNonNull(protocol, "protocol");
    }

    /** Runs the spec read from {@code specIn}; returns the exit code. */
    public int run(InputStream specIn) {
        RunSpec spec;
        Processor.Task task;
        try {
            spec = Json.mapper().readValue(specIn, RunSpec.class);
            Processor processor = Processors.available().get(spec.processor());
            if (processor == null) {
                return badSpec("no processor named '" + spec.processor() + "' on the class path");
            }
            task = processor.configure(spec.options());
        } catch (IOException | RuntimeException e) {
            return badSpec(e.toString());
        }
        try {
            Processor.Result result;
            long lines;
            // Programs a processor starts here are leashed to this JVM, which is leashed to the server.
            try (ChildProcesses programs = new ChildProcesses(null, System.getenv("PATH"));
                 FileContext fc = new FileContext(spec.upload(), Path.of(spec.file()), Path.of(spec.workDir()),
                    Path.of(spec.output()), this::progress, () -> { }, b -> programs.start(b, null, 0))) {
                result = task.run(fc);
                lines = fc.output().lines();
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("type", ChildProtocol.RESULT);
            line.put("summary", result == null ? Map.of() : result.summary());
            line.put("outputLines", lines);
            send(line);
            return ChildProtocol.EXIT_OK;
        } catch (OutOfMemoryError e) {
            // Without -XX:+ExitOnOutOfMemoryError (a manual run): the same exit code, no attempt to report.
            Runtime.getRuntime().halt(ChildProtocol.EXIT_OUT_OF_MEMORY);
            return ChildProtocol.EXIT_OUT_OF_MEMORY;
        } catch (ProcessorException e) {
            return failure(e.code(), e.getMessage(), e.retryable());
        } catch (StackOverflowError e) {
            return failure("stack_overflow", "the processor recursed too deeply", false);
        } catch (Exception e) {
            e.printStackTrace();
            return failure("processor_error", describe(e), true);
        } catch (Throwable e) {
            e.printStackTrace();
            return failure("processor_error", describe(e), false);
        }
    }

    private void progress(int percent, String stage, Long etaSeconds) {
        long now = System.nanoTime();
        if (Objects.equals(stage, lastStage) && now - lastProgressAt < PROGRESS_EVERY_NANOS && percent < 100) {
            return;
        }
        lastStage = stage;
        lastProgressAt = now;
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("type", ChildProtocol.PROGRESS);
        line.put("percent", percent);
        line.put("stage", stage);
        line.put("etaSeconds", etaSeconds);
        send(line);
    }

    private int badSpec(String message) {
        failure("bad_spec", message, false);
        return ChildProtocol.EXIT_BAD_SPEC;
    }

    private int failure(String code, String message, boolean retryable) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("type", ChildProtocol.FAILURE);
        line.put("code", code);
        line.put("message", message);
        line.put("retryable", retryable);
        send(line);
        return ChildProtocol.EXIT_FAILED;
    }

    private void send(Map<String, Object> line) {
        try {
            // writeValueAsString escapes newlines inside strings: one message is one line.
            protocol.println(writer.writeValueAsString(line));
            protocol.flush();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a protocol line", e);
        }
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + m;
    }
}
