package io.sluice.storage;

import java.nio.file.Path;

/**
 * Optional capability of a {@link BlobStore} whose committed blobs are files on this machine: processors read them
 * in place (a spreadsheet reader wants a {@code File}, PDFBox random access) instead of a spooled copy. A store
 * without it (object storage) makes its callers spool the blob to a local file first.
 */
public interface LocalPaths {

    /**
     * The file holding the committed blob {@code key}. Callers only read it and never move or delete it; it may not
     * exist (never committed, or deleted since).
     *
     * @throws IllegalArgumentException when {@code key} is not a key this store could have made
     */
    Path pathOf(String key);
}
