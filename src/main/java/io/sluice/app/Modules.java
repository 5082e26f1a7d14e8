package io.sluice.app;

import io.sluice.util.Uninterruptibles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/** The modules of one process in creation (dependency) order; see {@link Module} for the lifecycle it drives. */
public final class Modules {

    private static final Logger log = LoggerFactory.getLogger(Modules.class);

    private final List<Module> modules = new ArrayList<>();

    /** Appends a module just created; it starts after, and stops before, every module added earlier. */
    public <M extends Module> M add(M module) {
        modules.add(module);
        return module;
    }

    /** Starts every module in order; the caller {@linkplain #shutdown shuts down} if this throws. */
    public void start() throws Exception {
        for (Module m : modules) {
            m.start();
        }
    }

    /**
     * Drains every module in creation order, then stops every module in reverse order; a module that fails either
     * step does not keep the others from theirs.
     */
    public void shutdown() {
        for (Module m : modules) {
            try {
                m.drain();
            } catch (RuntimeException e) {
                log.warn("draining {} failed: {}", m.name(), e.toString());
            }
        }
        for (Module m : modules.reversed()) {
            try {
                m.stop();
            } catch (RuntimeException e) {
                log.warn("stopping {} failed: {}", m.name(), e.toString());
            }
        }
    }

    /** Waits for {@code t} to end (none: returns at once); an interrupt does not cut it short, and is kept. */
    static void join(Thread t) {
        if (t != null) {
            Uninterruptibles.join(t);
        }
    }

    /** The names in start order, for tests and logs. */
    public List<String> names() {
        return modules.stream().map(Module::name).toList();
    }
}
