package io.sluice.storage;

import java.io.IOException;

/**
 * Optional capability of a {@link BlobStore}: the committed keys that start with a prefix. Sluice never lists
 * uploads (their keys are in the database); this is for blobs whose owner may vanish without removing them, such as
 * the outputs of pruned jobs, which a sweep must find.
 */
public interface KeyListing {

    /** Receives one key; may delete it (the listing tolerates keys removed while it runs). */
    @FunctionalInterface
    interface KeyVisitor {
        void visit(String key) throws IOException;
    }

    /**
     * Calls {@code visitor} with every committed key starting with {@code prefix}, a page at a time (never all
     * keys in memory at once). Staged blobs are not listed.
     */
    void forEachKey(String prefix, KeyVisitor visitor) throws IOException;
}
