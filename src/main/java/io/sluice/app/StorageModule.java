package io.sluice.app;

import io.sluice.Storage;
import io.sluice.config.SluiceConfig;
import io.sluice.config.StorageConfig;
import io.sluice.db.Database;
import io.sluice.storage.BlobStore;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.s3.S3BlobStore;
import io.sluice.upload.IdGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The blob store of {@code storage.type} ({@link Storage}) and the data disk's ledger, the one account of the data
 * disk for every writer: uploads, spool files, copies and job attempts.
 */
public record StorageModule(DiskLedger disk, Storage storage) implements Module {

    private static final Logger log = LoggerFactory.getLogger(StorageModule.class);

    /**
     * @param sweep whether to remove what a crashed process left staged; only the API role owns staged uploads, and
     *              a worker must not sweep those of an API process on the same data directory
     */
    public static StorageModule create(SluiceConfig config, Database db, boolean sweep) throws IOException {
        // The database headroom released on a full disk and not yet restored is the database's: writers see it as
        // taken, so that they do not use up what was freed for deletes and key changes.
        LongSupplier free = freeSpace(config.dataDir());
        DiskLedger disk = new DiskLedger(() -> {
            long usable = free.getAsLong();
            return usable < 0 ? usable : Math.max(0, usable - db.headroom().owed());
        }, config.limits().diskReserve(), config.admission().retryAfter(),
                config.storage().type() == StorageConfig.Type.LOCAL ? 0
                        : S3BlobStore.spoolBytesPerWriter(config.storage().s3()));
        return new StorageModule(disk, Storage.open(config, sweep, disk, key -> uploadRecorded(db, key)));
    }

    /**
     * Whether an upload row owns blob {@code key} (uploads are stored under their id): a committed blob without one
     * was never acknowledged (a crash between its commit and its record) and is swept. Keys that are not a bare id
     * (job outputs, {@code out-<id>}) are not uploads' and always count as recorded.
     */
    private static boolean uploadRecorded(Database db, String key) throws IOException {
        if (!IdGenerator.looksLikeId(key)) {
            return true;
        }
        try {
            return db.read(c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM uploads WHERE id = ?")) {
                    ps.setString(1, key);
                    try (ResultSet rs = ps.executeQuery()) {
                        return rs.next();
                    }
                }
            });
        } catch (SQLException e) {
            throw new IOException("could not look up upload " + key, e);
        }
    }

    /**
     * Free bytes of the filesystem holding {@code dir}, as {@link DiskLedger#usableSpace} answers, or -1. Why not
     * that method: {@code Files.getFileStore} finds the mount by reading and parsing {@code /proc/mounts} (about
     * 80 us of CPU here), and the ledger asks on every reservation, inside its lock, so every upload paid it and
     * waited for the others' (about 4 % of a small upload's samples). The store is resolved once, on first
     * success; its {@code getUsableSpace} is one {@code statvfs} of the same path, the same figure as before.
     */
    static LongSupplier freeSpace(Path dir) {
        AtomicReference<FileStore> store = new AtomicReference<>();
        return () -> {
            try {
                FileStore s = store.get();
                if (s == null) {
                    s = Files.getFileStore(dir);
                    store.set(s);
                }
                return s.getUsableSpace();
            } catch (IOException e) {
                return -1;
            }
        };
    }

    public BlobStore store() {
        return storage.store().blobs();
    }

    @Override
    public String name() {
        return "storage";
    }

    /** An object store holds an HTTP client (S3); the local store holds nothing to close. */
    @Override
    public void stop() {
        try {
            storage.store().close();
        } catch (Exception e) {
            log.warn("closing the storage client failed: {}", e.toString());
        }
    }
}
