package io.sluice.upload;

import java.time.Duration;
import java.util.Optional;

/**
 * One writer per resumable upload at a time. This process's implementation is {@link LocalUploadLocks}; several
 * nodes sharing one database need one the database enforces (a PostgreSQL advisory lock), behind this same
 * interface.
 *
 * <p>Contract, as tusd's {@code Locker}:
 * <ul>
 *   <li>{@link #acquire} returns a lock held exclusively until {@link Lock#close()}. Locks are not reentrant.</li>
 *   <li>When the upload is already locked, the holder's {@code onReleaseRequested} is run (at most once per
 *       holder): a holder stuck on a half-open connection must stop, save the offset it reached and close its lock.
 *       The caller then waits up to {@code wait} for that.</li>
 *   <li>An empty result means the holder did not let go in time; the caller answers 423 and the client retries.</li>
 * </ul>
 */
public interface UploadLocks {

    /**
     * @param onReleaseRequested what a later contender runs to ask this caller to let go; must not block
     */
    Optional<Lock> acquire(String uploadId, Duration wait, Runnable onReleaseRequested) throws InterruptedException;

    /**
     * Takes the lock only when nobody holds it, without asking a holder to let go: for background work (the
     * expiry sweeper) that must never cut a request that is still writing.
     */
    Optional<Lock> tryAcquire(String uploadId, Runnable onReleaseRequested);

    /** Locks currently held (for health and tests: a leaked lock shows up here). */
    int held();

    /** A held lock. Closing is idempotent. */
    interface Lock extends AutoCloseable {
        @Override
        void close();
    }
}
