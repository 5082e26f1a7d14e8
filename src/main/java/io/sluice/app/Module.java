package io.sluice.app;

/**
 * One subsystem of a running process (the database, the job queue, the resumable uploads, the HTTP server, ...).
 * {@link io.sluice.Application} creates the modules its {@link io.sluice.Role} needs, in dependency order, and hands
 * them to {@link Modules}, which starts them in that order and shuts them down in reverse.
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
 *   <li>{@link #drain()}: the first step of shutdown, called on every module in reverse order before any is stopped:
 *       refuse new work and begin winding down what takes time (requests, running jobs), without waiting for it,
 *       so that every module's grace period runs at the same time.</li>
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
