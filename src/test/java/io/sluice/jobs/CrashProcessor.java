package io.sluice.jobs;

import io.sluice.processors.Processor;

import java.util.Map;

/**
 * {@code test-crash}, a processor for tests: ends its JVM at once with exit code 134 (what an abort from native
 * code gives), as a crash in a native parser would. Only ever used in isolated pipelines.
 */
public final class CrashProcessor implements Processor {

    @Override
    public String name() {
        return "test-crash";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        return context -> {
            System.err.println("test-crash: going down");
            Runtime.getRuntime().halt(134);
            return null;
        };
    }
}
