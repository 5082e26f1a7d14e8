package io.sluice.upload;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Rows of {@link Resumable} uploads. Writes take the caller's transaction so that finishing an upload (its
 * {@link Upload} record, the state change, removing consumed partials) commits as one.
 */
public interface ResumableRepository {

    void insert(Connection tx, Resumable r) throws SQLException;

    Optional<Resumable> find(String id) throws SQLException;

    /** Records a new acknowledged offset (and length, state, expiry). Offsets only grow: a lower one is ignored. */
    void update(Connection tx, Resumable r) throws SQLException;

    void delete(Connection tx, String id) throws SQLException;

    /**
     * Marks an unfinished (active or finishing) upload completed at {@code r}'s offset and length, inside the
     * transaction that records its {@link Upload} and job. False (nothing changed) when it is neither any more:
     * another finish won, so the caller must not record a second upload or job.
     */
    boolean complete(Connection tx, Resumable r) throws SQLException;

    /** Uploads whose finish a crash interrupted ({@link Resumable.State#FINISHING}), oldest first. */
    List<Resumable> finishing(int limit) throws SQLException;

    /** Unfinished uploads (and unconsumed partials) whose expiry is before {@code now}, oldest first. */
    List<Resumable> expired(Instant now, int limit) throws SQLException;

    /** Ids of expired tombstones older than {@code before}, for pruning. */
    int pruneTombstones(Instant before) throws SQLException;
}
