package io.sluice.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A committed blob as a file on this machine, for readers that need one (a spreadsheet reader wants a
 * {@code File}, PDFBox random access, a child JVM a path). On a store with {@link LocalPaths} the blob is read in
 * place; on object storage it is copied to a temporary file first ({@link BlobCopies}).
 *
 * <p>Contract: the file exists and holds the blob's bytes from {@link #open} until the handle is closed; callers
 * only read it. Closing removes whatever was copied, so nothing outlives the job or precheck that asked.
 */
public interface BlobFiles {

    /**
     * A local file of the committed blob {@code key}.
     *
     * @throws NoSuchFileException when the blob does not exist
     * @throws IOException         when it cannot be made local (no disk space, storage unreachable)
     */
    BlobFile open(String key) throws IOException;

    /** A local file, valid until closed. */
    interface BlobFile extends AutoCloseable {
        Path path();

        /** Removes the file if it was a copy. Never throws. */
        @Override
        void close();
    }

    /** The blobs of {@code store} as local files: in place when it has {@link LocalPaths}, else copied into {@code copyDir}. */
    static BlobFiles of(ComposedStore store, Path copyDir, DiskLedger disk) throws IOException {
        if (store.hasLocalPaths()) {
            return inPlace(store.localPaths().orElseThrow());
        }
        return new BlobCopies(store.blobs(), copyDir, disk);
    }

    /** Committed files read where they are; closing does nothing. */
    static BlobFiles inPlace(LocalPaths paths) {
        return key -> {
            Path file = paths.pathOf(key);
            if (!Files.isRegularFile(file)) {
                throw new NoSuchFileException(key);
            }
            return new BlobFile() {
                @Override
                public Path path() {
                    return file;
                }

                @Override
                public void close() {
                }
            };
        };
    }
}
