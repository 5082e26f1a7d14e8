package io.sluice.app;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The lifecycle every module relies on: start in creation order; shutdown drains all in creation order, then stops
 * all in reverse; a failed start shuts down every module created (the failed one and those never started included);
 * one module failing its drain or stop does not keep the others from theirs.
 */
class ModulesTest {

    private final List<String> events = new ArrayList<>();

    private Module module(String name, String failing) {
        return new Module() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public void start() throws Exception {
                events.add("start " + name);
                if (failing.equals("start")) {
                    throw new Exception(name + " cannot start");
                }
            }

            @Override
            public void drain() {
                events.add("drain " + name);
                if (failing.equals("drain")) {
                    throw new IllegalStateException(name + " cannot drain");
                }
            }

            @Override
            public void stop() {
                events.add("stop " + name);
                if (failing.equals("stop")) {
                    throw new IllegalStateException(name + " cannot stop");
                }
            }
        };
    }

    @Test
    void startsInOrderDrainsInOrderAndStopsInReverse() throws Exception {
        Modules modules = new Modules();
        modules.add(module("db", ""));
        modules.add(module("jobs", ""));
        modules.add(module("http", ""));
        modules.start();
        modules.shutdown();
        assertThat(events).containsExactly("start db", "start jobs", "start http",
                "drain db", "drain jobs", "drain http", "stop http", "stop jobs", "stop db");
        assertThat(modules.names()).containsExactly("db", "jobs", "http");
    }

    @Test
    void aFailedStartShutsDownEveryModuleCreatedInReverse() {
        Modules modules = new Modules();
        modules.add(module("db", ""));
        modules.add(module("resumable", "start"));
        modules.add(module("http", ""));
        assertThatThrownBy(modules::start).hasMessage("resumable cannot start");
        assertThat(events).containsExactly("start db", "start resumable");
        modules.shutdown();
        // http never started, but create may have acquired what it holds: it is drained and stopped too.
        assertThat(events).containsExactly("start db", "start resumable",
                "drain db", "drain resumable", "drain http", "stop http", "stop resumable", "stop db");
    }

    @Test
    void aModuleFailingToDrainOrStopDoesNotKeepTheOthersRunning() throws Exception {
        Modules modules = new Modules();
        modules.add(module("db", ""));
        modules.add(module("notify", "drain"));
        modules.add(module("ops", "stop"));
        modules.start();
        modules.shutdown();
        assertThat(events).containsSubsequence("drain db", "drain notify", "drain ops",
                "stop ops", "stop notify", "stop db");
    }

    @Test
    void joinWaitsForTheThreadThroughAnInterruptAndKeepsTheInterrupt() throws Exception {
        Thread slow = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Thread.currentThread().interrupt();
        Modules.join(slow);
        assertThat(slow.isAlive()).isFalse();
        assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
        Modules.join(null); // nothing began: returns at once
    }
}
