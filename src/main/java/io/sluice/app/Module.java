package io.sluice.app;

/**
 * One subsystem of a running process (the database, the job queue, the resumable uploads, the HTTP server, ...).
 * The composition root ({@code Application}) creates the modules its role needs, in dependency order, and hands
 * them to {@link Modules}, which starts them in that order and stops them in reverse.
 *
 * <p>The contract, in lifecycle order:
 * <ol>
 *   <li><b>create</b> (a constructor or static {@code create}): builds the subsystem's objects from the configuration
 *       and the modules created before it, and registers its routes (the router takes the first match, so the order
 *       of creation is the order of the routes). It may open resources (files, connections) and do start-up work that
 *       must precede everything after it (sweeps of what a crash left), but starts no thread that serves or runs
 *       work. If it throws, the modules created before it are stopped.</li>
 *   <li>{@link #start()}: begins serving or running: threads, schedules, recovery that must happen before the first
 *       request. Called once, after every module of the process was created, in creation order; when one throws, the
 *       process shuts down (below) and the start fails.</li>
 *   <li>{@link #drain()}: the first step of shutdown, called on every module before any is stopped: refuse new work
 *       and begin winding down what takes time (requests, running jobs) without waiting for it, so that the grace
 *       periods of all modules run at the same time. Called in creation order: as no drain waits, the order only
 *       decides who refuses first, and the gates low in the order (admission) refuse before the HTTP server and the
 *       workers begin to wind down.</li>
 *   <li>{@link #stop()}: wait for what {@code drain} began, then release what {@code create} acquired; called in
 *       reverse order, so a module stops before the modules it uses. Also called, after {@code drain}, when
 *       {@code start} never ran or failed: both must cope with that. Never throws: a failure is logged and the
 *       remaining modules still stop.</li>
 * </ol>
 */
public interface Module {

    /** A short name for logs ({@code "database"}, {@code "http"}, ...). */
    String name();

    default void start() throws Exception {
    }

    default void drain() {
    }

    default void stop() {
    }
}
