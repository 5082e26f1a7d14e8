package io.sluice.admission;

/**
 * Lets a request that waits in the admission queue notice that its client went away, so that it gives its place
 * up instead of holding it (and, once granted, a slot) for nobody.
 */
@FunctionalInterface
public interface ClientWatch {

    /** A request whose client cannot be watched: it waits until granted, refused or out of time. */
    ClientWatch NONE = () -> false;

    /**
     * Polled now and then by the waiting thread itself, never concurrently; must not block.
     *
     * @return true once the client is known to be gone
     */
    boolean gone();
}
