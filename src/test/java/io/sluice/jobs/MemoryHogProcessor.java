package io.sluice.jobs;

import io.sluice.processors.Processor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code test-oom}, a processor for tests: allocates 1 MiB arrays and keeps them until the heap runs out. Only
 * ever used in isolated pipelines, where the child JVM (not the server) pays for it.
 */
public final class MemoryHogProcessor implements Processor {

    @Override
    public String name() {
        return "test-oom";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        return context -> {
            List<byte[]> hoard = new ArrayList<>();
            while (true) {
                context.checkpoint();
                hoard.add(new byte[1024 * 1024]);
                context.progress(Math.min(99, hoard.size()), "hoarding", null);
            }
        };
    }
}
