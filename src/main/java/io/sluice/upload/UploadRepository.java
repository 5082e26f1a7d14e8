package io.sluice.upload;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Upload records. Inserts take the caller's connection so the upload row and whatever else must commit with it
 * (the job that processes it, its event) share one transaction.
 */
public interface UploadRepository {

    void insert(Connection tx, Upload upload) throws SQLException;

    Optional<Upload> find(String id) throws SQLException;

    /** Removes the row inside the caller's transaction, if it exists. */
    void deleteIn(Connection tx, String id) throws SQLException;

    /** Removes the row; returns the removed record, if any. */
    Optional<Upload> delete(String id) throws SQLException;

    /**
     * Newest first. {@code before} is an id from an earlier page (exclusive), or null for the first page.
     */
    List<Upload> listBefore(String before, int limit) throws SQLException;

    long count() throws SQLException;

    /** As {@link #listBefore}, only the uploads owned by API key {@code owner}. */
    default List<Upload> listOwnedBefore(String owner, String before, int limit) throws SQLException {
        throw new UnsupportedOperationException("listing by owner");
    }

    /** One page of {@code q}, in its order, at most {@code limit} rows. */
    default List<Upload> search(UploadQuery q, int limit) throws SQLException {
        throw new UnsupportedOperationException("search");
    }

    /** The latest job of each of these uploads that has one. */
    default Map<String, QueuedJob> latestJobs(List<String> uploadIds) throws SQLException {
        return Map.of();
    }
}
