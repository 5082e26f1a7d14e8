package io.sluice.processors.noop;

import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;

import java.util.Map;

/**
 * {@code noop}: reads nothing, writes no rows, and succeeds with {@code {"bytes": <size>}}. For tests, benchmarks
 * of the job machinery, and pipelines whose only purpose is a notification. Takes no options.
 */
public final class NoopProcessor implements Processor {

    public static final String NAME = "noop";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Task configure(Map<String, Object> options) {
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("options." + options.keySet().iterator().next()
                    + ": unknown option (noop takes none)");
        }
        return context -> {
            context.checkpoint();
            return Result.of(Map.of("bytes", context.upload().size()));
        };
    }
}
