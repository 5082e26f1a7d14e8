package io.sluice.jobs;

import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code test-sleep}, a processor for tests: writes {@code lines} rows ({@code {"line": i}}), sleeping
 * {@code delayMillis} after each and calling {@code checkpoint()} before each, reporting progress. A long run is
 * how tests catch a job while it runs (cancel, crash, stop).
 *
 * <p>Options: {@code lines} (default 10), {@code delayMillis} (default 0), {@code failFirstIn} (a directory: the
 * first attempt for an upload fails with {@code test_failure}, not retryable, and leaves a marker there; later
 * ones succeed), {@code failAtLine} (every attempt fails with {@code test_failure}, not retryable, just before
 * writing that line, after reporting stage {@code writing}: a job that fails mid-stage). An upload's metadata {@code lines} / {@code delayMillis} override the options for that upload.
 */
public final class SleepProcessor implements Processor {

    private static final Set<String> OPTIONS = Set.of("lines", "delayMillis", "failFirstIn", "failAtLine");

    @Override
    public String name() {
        return "test-sleep";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        for (String key : options.keySet()) {
            if (!OPTIONS.contains(key)) {
                throw new IllegalArgumentException("options." + key + ": unknown option");
            }
        }
        long lines = number(options, "lines", 10);
        long delay = number(options, "delayMillis", 0);
        Object fail = options.get("failFirstIn");
        Path failDir = fail == null ? null : Path.of(fail.toString());
        long failAt = number(options, "failAtLine", -1);
        return context -> run(context, lines, delay, failDir, failAt);
    }

    private static Result run(ProcessorContext context, long defaultLines, long defaultDelay, Path failDir,
                              long failAt)
            throws IOException, InterruptedException, ProcessorException {
        Map<String, String> metadata = context.upload().metadata();
        long lines = metadata.containsKey("lines") ? Long.parseLong(metadata.get("lines")) : defaultLines;
        long delay = metadata.containsKey("delayMillis") ? Long.parseLong(metadata.get("delayMillis"))
                : defaultDelay;
        if (failDir != null) {
            Path marker = failDir.resolve(context.upload().id());
            if (!Files.exists(marker)) {
                Files.createDirectories(failDir);
                Files.createFile(marker);
                throw new ProcessorException("test_failure", "the first attempt fails on purpose");
            }
        }
        for (long i = 0; i < lines; i++) {
            context.checkpoint();
            if (i == failAt) {
                throw new ProcessorException("test_failure", "failed on purpose at line " + i);
            }
            context.output().write(Map.of("line", i));
            // One stage for the whole run: a stage change is written at once, progress only a few times a second.
            context.progress((int) (i * 100 / lines), "writing", (lines - i) * delay / 1000);
            if (delay > 0) {
                Thread.sleep(delay);
            }
        }
        return Result.of(Map.of("lines", lines));
    }

    private static long number(Map<String, Object> options, String key, long absent) {
        Object v = options.get(key);
        if (v == null) {
            return absent;
        }
        if (!(v instanceof Number n) || n.longValue() < 0) {
            throw new IllegalArgumentException("options." + key + ": must be a number >= 0");
        }
        return n.longValue();
    }
}
