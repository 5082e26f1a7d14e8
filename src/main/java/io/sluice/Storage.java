package io.sluice;

import io.sluice.config.SluiceConfig;
import io.sluice.config.StorageConfig;
import io.sluice.storage.BlobCopies;
import io.sluice.storage.BlobFiles;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.local.LocalBlobStore;
import io.sluice.storage.s3.S3BlobStore;
import io.sluice.storage.s3.S3ResumableStore;
import io.sluice.storage.s3.S3Settings;
import io.sluice.upload.DirectUploadApi;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The storage a configuration asks for ({@code storage.type}), built and swept at start-up: the store every
 * upload path uses, local files of its blobs for processors, and download redirects when configured.
 *
 * @param store     committed and resumable blobs, with the backend's optional capabilities
 * @param files     blobs as local files (in place on local disk, copies under {@code <dataDir>/blob-copies} on S3)
 * @param redirects presigned download URLs ({@code storage.downloads: redirect}), or null to stream
 */
public record Storage(ComposedStore store, BlobFiles files, DirectUploadApi.DownloadRedirects redirects) {

    /** Where processors' copies of S3 blobs go; removed when their job or precheck ends, swept at start-up. */
    static final String COPY_DIR = "blob-copies";

    /**
     * @param sweep whether to remove what a crashed process left staged (spool files, stale multipart uploads,
     *              local copies); false for a process that shares the data directory with one that is uploading
     * @param disk  the data disk's ledger, which local copies of S3 blobs reserve on
     * @param recorded whether a committed local blob has its record: the sweep removes one a crash left without
     */
    public static Storage open(SluiceConfig config, boolean sweep, DiskLedger disk, LocalBlobStore.Recorded recorded)
            throws IOException {
        Path dataDir = config.dataDir();
        LocalBlobStore local = new LocalBlobStore(dataDir);
        if (sweep) {
            local.sweepStaged(recorded);
        }
        if (config.storage().type() == StorageConfig.Type.LOCAL) {
            ComposedStore store = local.composed();
            return new Storage(store, BlobFiles.of(store, dataDir.resolve(COPY_DIR), disk), null);
        }
        S3Settings settings = config.storage().s3();
        S3BlobStore s3 = S3BlobStore.open(settings, dataDir);
        try {
            // Resumable uploads live in the bucket too (multipart upload + chunk objects), resumable from any node.
            S3ResumableStore resumable = S3ResumableStore.over(s3);
            ComposedStore store = resumable.composedWith(s3);
            BlobCopies copies = new BlobCopies(s3, dataDir.resolve(COPY_DIR), disk);
            if (sweep) {
                // Spool files of both halves; multipart uploads of resumable blobs are never swept (their expiry
                // is the caller's).
                resumable.sweepSpools();
                s3.sweepStaged();
                copies.sweep();
            }
            DirectUploadApi.DownloadRedirects redirects = settings.downloads() == S3Settings.Downloads.REDIRECT
                    ? (upload, disposition) -> s3.presignDownload(upload.storageKey(), settings.presignExpiry(),
                    upload.contentType(), disposition)
                    : null;
            return new Storage(store, copies, redirects);
        } catch (IOException | RuntimeException e) {
            s3.close();
            throw e;
        }
    }
}
