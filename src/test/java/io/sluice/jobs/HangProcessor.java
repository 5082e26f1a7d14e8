package io.sluice.jobs;

import io.sluice.processors.Processor;

import java.util.Map;

/**
 * {@code test-hang}, a processor for tests: never returns, never calls {@code checkpoint()} and swallows
 * interrupts, as a parser stuck in a loop would. Only the child JVM's death ends it.
 */
public final class HangProcessor implements Processor {

    @Override
    public String name() {
        return "test-hang";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        return context -> {
            context.progress(1, "stuck", null);
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ignored) {
                    // A hung parser does not listen either.
                }
            }
        };
    }
}
