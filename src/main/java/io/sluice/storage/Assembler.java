package io.sluice.storage;

import java.io.IOException;
import java.util.List;

/**
 * Optional capability of a {@link BlobStore} that is also a {@link ResumableStore}: builds one committed blob from
 * finished resumable blobs inside the storage, without their bytes passing through Sluice (S3's server-side
 * {@code UploadPartCopy}). tus concatenation uses it when the store offers it and copies bytes otherwise.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #assemble} makes the committed blob {@code key} hold the bytes of every source, in order, durably,
 *       or fails and leaves no committed blob {@code key}.</li>
 *   <li>Each source must be a finished resumable blob (every byte acknowledged) or a committed blob that an earlier,
 *       interrupted assembly promoted: assembling may promote the sources, so afterwards they exist as committed
 *       blobs until the caller deletes them ({@link BlobStore#delete}). Nothing else about the sources changes.</li>
 *   <li>{@code key} is new (never written): the caller draws a fresh id for every attempt.</li>
 * </ul>
 */
public interface Assembler {

    /** Builds the committed blob {@code key} from {@code sources} (resumable or already promoted), in order. */
    void assemble(String key, List<String> sources) throws IOException;
}
