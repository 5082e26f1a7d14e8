package io.sluice.upload;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.db.Database;
import io.sluice.storage.BlobStore;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.ResumableStore;
import io.sluice.upload.ResumableFailure.Expired;
import io.sluice.upload.ResumableFailure.Locked;
import io.sluice.upload.ResumableFailure.NotFound;
import io.sluice.upload.ResumableFailure.TooLarge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the steps of {@link ResumableService} (append, finish, concatenation) share: the stores, the upload's row,
 * its lock, the running digests and the metrics. Package-private: the service is the only way in.
 */
final class ResumableCore {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);
    /** Digests of unfinished uploads kept in memory; beyond this the sha256 is recomputed at completion. */
    static final int MAX_CACHED_DIGESTS = 10_000;

    final ComposedStore stores;
    final BlobStore blobs;
    final ResumableStore store;
    final Database db;
    final ResumableRepository repository;
    final UploadService uploads;
    final UploadLocks locks;
    final ResumableService.Settings settings;
    final Clock clock;
    final Counter appends;
    final Counter appendedBytes;
    final FinishStep.Seam seam;
    private final ConcurrentHashMap<String, Running> digests = new ConcurrentHashMap<>();

    /** The sha256 of an upload's first {@code offset} bytes, carried from one append to the next. */
    private record Running(long offset, MessageDigest digest) {
    }

    ResumableCore(ComposedStore stores, Database db, ResumableRepository repository, UploadService uploads,
                  UploadLocks locks, ResumableService.Settings settings, Clock clock, MeterRegistry metrics) {
        this.stores = stores;
        this.blobs = stores.blobs();
        this.store = stores.resumable();
        this.db = db;
        this.repository = repository;
        this.uploads = uploads;
        this.locks = locks;
        this.settings = settings;
        this.clock = clock;
        this.appends = Counter.builder("sluice.resumable.appends").description("resumable appends (PATCH) handled")
                .register(metrics);
        this.appendedBytes = Counter.builder("sluice.resumable.appended.bytes").baseUnit("bytes")
                .description("bytes acknowledged by resumable appends").register(metrics);
        this.seam = FinishStep.Seam.fromSystemProperty();
    }

    void reached(FinishStep step, Resumable r) {
        seam.reached(step, r.id(), r.filename());
    }

    /** As {@link #reached(FinishStep, Resumable)}, for an upload that has no row yet (a creation's fast path). */
    void reached(FinishStep step, String id, String filename) {
        seam.reached(step, id, filename);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The row.

    Optional<Resumable> find(String id) throws SQLException {
        return IdGenerator.looksLikeId(id) ? repository.find(id) : Optional.empty();
    }

    /** The upload as a client may see it: not found when unknown or terminated, expired (swept or not yet). */
    Resumable require(String id) throws SQLException {
        Resumable r = find(id).orElseThrow(() -> new ResumableException(new NotFound(id)));
        if (isExpired(r)) {
            throw new ResumableException(new Expired(id, r.expiresAt()));
        }
        return r;
    }

    boolean isExpired(Resumable r) {
        return r.state() == Resumable.State.EXPIRED
                || (r.expiresAt() != null && r.expiresAt().isBefore(now()));
    }

    /** Writes a new offset with a fresh expiry; returns the upload as recorded. */
    Resumable record(Resumable r) throws SQLException {
        Resumable updated = r.with(r.state(), now().plus(settings.expiry()));
        update(updated);
        return updated;
    }

    void update(Resumable r) throws SQLException {
        db.write(tx -> {
            repository.update(tx, r);
            return null;
        });
    }

    UploadLocks.Lock lock(String id, Runnable onReleaseRequested) throws InterruptedException {
        return locks.acquire(id, settings.lockWait(), onReleaseRequested)
                .orElseThrow(() -> new ResumableException(new Locked()));
    }

    /** Row first (the upload disappears at once), then its bytes, wherever they are. */
    void deleteQuietly(String id) throws SQLException {
        digests.remove(id);
        db.write(tx -> {
            repository.delete(tx, id);
            uploads.repository().deleteIn(tx, id);
            return null;
        });
        deleteBlobQuietly(id);
    }

    void deleteBlobQuietly(String id) {
        try {
            store.deleteResumable(id);
            blobs.delete(id);
        } catch (IOException | RuntimeException e) {
            log.warn("could not remove the bytes of upload {} (orphaned): {}", id, e.toString());
        }
    }

    Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Rules every resumable upload obeys.

    /** The pipeline named by the client's metadata ({@code pipeline}), or null; a blank value names none. */
    static String pipeline(Map<String, String> metadata) {
        String name = metadata.get(UploadProcessing.PIPELINE_FIELD);
        return name == null || name.isBlank() ? null : name.strip();
    }

    static void checkLength(long length, long maxSize) {
        if (length != Resumable.DEFERRED && length > maxSize) {
            throw new ResumableException(new TooLarge(maxSize));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The running sha256 of unfinished uploads.

    MessageDigest takeDigest(String id, long offset) {
        if (offset == 0) {
            digests.remove(id);
            return Digests.sha256();
        }
        Running running = digests.remove(id);
        return running != null && running.offset() == offset ? running.digest() : null;
    }

    void putDigest(String id, long offset, MessageDigest digest) {
        if (digests.size() < MAX_CACHED_DIGESTS) {
            digests.put(id, new Running(offset, digest));
        }
    }

    void forgetDigest(String id) {
        digests.remove(id);
    }

    ByteBuffer head(String key, long length) throws IOException {
        return BlobReads.head(blobs, key, length);
    }

    /** Hashes a committed blob from storage: the digest of its earlier appends was lost (a restart, another node). */
    String rehash(String key, long length) throws IOException {
        return BlobReads.sha256(blobs, key, length);
    }
}
