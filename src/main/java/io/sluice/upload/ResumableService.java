package io.sluice.upload;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.db.Database;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.DiskLedger;
import io.sluice.upload.ResumableFailure.EmptyFile;
import io.sluice.upload.ResumableFailure.LengthMismatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resumable uploads, independent of the protocol (tus 1.0, the IETF draft) that carries them: it knows nothing of
 * HTTP, and refuses with a {@link ResumableException} carrying a {@link ResumableFailure}.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>One writer per upload ({@link UploadLocks}); a contender asks a stalled writer to let go.</li>
 *   <li>An offset is recorded only after the bytes below it are durable, so a reported offset never exceeds what
 *       storage holds; the unacknowledged tail of an interrupted append is cut off by the next one.</li>
 *   <li>A long append records checkpoints every {@link Settings#checkpointBytes()} while it runs, and an append cut
 *       short by the network keeps what arrived; an append refused for its content (checksum, length) keeps
 *       nothing.</li>
 *   <li>A finished upload becomes an {@link Upload} record exactly like a direct upload: same id, sha256, sniffed
 *       type and type rules (a refused type deletes the upload).</li>
 *   <li>Finishing is crash-atomic and idempotent ({@link FinishStep}, {@link ResumableFinish}).</li>
 * </ul>
 * Callers own admission: they pass the two buffers of an admitted ticket.
 *
 * <p>The steps live beside it: {@link ResumableAppend} (one append, up to the finish), {@link ResumableFinish} (the
 * finish and its recovery), {@link ResumableConcat} (concatenation), over {@link ResumableCore} (what they share).
 */
public final class ResumableService {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);
    /** Expired uploads are remembered (Expired instead of NotFound) this long. */
    public static final Duration TOMBSTONE_RETENTION = Duration.ofDays(7);
    private static final int SWEEP_BATCH = 500;

    /**
     * @param expiry          an unfinished upload is swept this long after its last append
     * @param lockWait        how long a request waits for another request's lock on the same upload
     * @param checkpointBytes a long append records its offset each time this many more bytes are durable
     */
    public record Settings(Duration expiry, Duration lockWait, long checkpointBytes) {
    }

    /**
     * What a creation request asks for. {@code length} may be {@link Resumable#DEFERRED}; {@code owner} is the API
     * key it will belong to (null in open mode); {@code maxSize} the caller's size limit (a key's own limit
     * overrides {@link #maxSize()}); {@code address} the client's remote address, for the preCreate hook only.
     */
    public record NewUpload(long length, Map<String, String> metadata, String rawMetadata, String filename,
                            boolean partial, String client, String owner, long maxSize, String address) {
    }

    /** When an append ends the upload. */
    public enum Completion {
        /** When its offset reaches its declared length (tus, and the IETF draft's versions 5 and 6 on {@code ?0}). */
        AT_LENGTH,
        /** Now: this append's end is the upload's length. */
        NOW,
        /** Not with this append, even at the declared length: the client ends it later (IETF draft version 8). */
        NOT_YET
    }

    /**
     * One append.
     *
     * @param expectedOffset the client's idea of the offset (an {@link ResumableFailure.OffsetMismatch} when it
     *                       differs)
     * @param newLength      a length the client declares now (deferred length), or {@link Resumable#DEFERRED}
     * @param checksum       the expected digest of this append's bytes, or null
     * @param maxSize        the caller's size limit, for an upload whose length is deferred
     */
    public record Append(String id, long expectedOffset, long newLength, Completion completion, Checksum checksum,
                         long maxSize) {
    }

    /**
     * A final upload made of finished partial uploads, in order; {@code maxSize} is the caller's size limit.
     */
    public record Concatenation(List<String> partialIds, Map<String, String> metadata, String rawMetadata,
                                String filename, String client, String owner, long maxSize) {
    }

    /** An expected digest: {@code algorithm} is a JCA name (SHA-1, SHA-256, ...). */
    public record Checksum(String algorithm, byte[] expected) {
    }

    /** Receives body bytes; the buffer is only valid during the call. */
    @FunctionalInterface
    public interface BodySink {
        void accept(ByteBuffer bytes) throws IOException;
    }

    /** The body of a request, as the protocol reads it. */
    public interface Body {

        /** Reads the body into {@code sink}, failing once more than {@code max} bytes arrive. */
        long read(long max, BodySink sink) throws IOException;

        /**
         * Whether {@code failure} of {@link #read} is the network's (the client went away, was too slow, or a newer
         * request took over): the bytes that arrived are then a valid prefix and are kept.
         */
        boolean interrupted(Exception failure);
    }

    /**
     * The upload after an append, its record when the append finished it, and the job its pipeline started then.
     *
     * @param job null unless the upload was finished now and a pipeline applied
     */
    public record Outcome(Resumable upload, Optional<Upload> finished, QueuedJob job) {

        Outcome(Resumable upload, Optional<Stored> stored) {
            this(upload, stored.map(Stored::upload), stored.map(Stored::job).orElse(null));
        }

        public Outcome(Resumable upload) {
            this(upload, Optional.empty(), null);
        }
    }

    private final ResumableCore core;
    private final ResumableAppend appender;
    private final ResumableFinish finisher;
    private final ResumableConcat concat;

    public ResumableService(ComposedStore stores, Database db, ResumableRepository repository, UploadService uploads,
                            UploadLocks locks, Settings settings, Clock clock, MeterRegistry metrics) {
        this.core = new ResumableCore(stores, db, repository, uploads, locks, settings, clock, metrics);
        FileRules rules = new FileRules(uploads);
        this.finisher = new ResumableFinish(core, rules);
        this.appender = new ResumableAppend(core, rules, finisher);
        this.concat = new ResumableConcat(core, rules);
    }

    /** What API keys' quotas count. */
    public Usage usage() {
        return core.uploads.usage();
    }

    /** Upload tokens' type and count claims, checked by the protocol adapters at creation. */
    public TokenLimits tokenLimits() {
        return core.uploads.tokenLimits();
    }

    public long maxSize() {
        return core.uploads.limits().maxFileSize();
    }

    public Settings settings() {
        return core.settings;
    }

    /** The display name for a client-supplied filename (the upload layer refuses an impossible one). */
    public String sanitize(String raw) {
        return core.uploads.sanitize(raw);
    }

    public int locksHeld() {
        return core.locks.held();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Creation.

    /** Creates an empty upload: its row and its (empty, durable) blob. */
    public Resumable create(NewUpload asked) throws IOException, SQLException {
        NewUpload spec = accept(asked);
        if (spec.length() == 0) {
            throw new ResumableException(new EmptyFile(spec.filename()));
        }
        Instant now = core.now();
        Resumable r = new Resumable(core.uploads.newId(), spec.length(), 0, spec.filename(), spec.metadata(),
                spec.rawMetadata(), spec.partial() ? Resumable.Concat.PARTIAL : Resumable.Concat.NONE, List.of(),
                Resumable.State.ACTIVE, spec.client(), now.plus(core.settings.expiry()), now, spec.owner());
        core.store.createResumable(r.id());
        try {
            core.db.write(tx -> {
                core.repository.insert(tx, r);
                return null;
            });
        } catch (SQLException | RuntimeException e) {
            core.store.deleteResumable(r.id());
            throw e;
        }
        return r;
    }

    /**
     * Creates an upload whose whole body is in the creation request (tus creation-with-upload of a small file):
     * it takes the direct-upload path, staged and committed in one transaction, because a client that never saw
     * the upload's URL could not resume it anyway. Durable steps: the staged file's fsync, its link to the blob's
     * name and that directory's fsync, then one transaction (upload record, completed resumable row, job); the
     * crash points between them are {@link FinishStep#WRITTEN}, {@link FinishStep#PROMOTED} (linked, the
     * transaction not committed) and {@link FinishStep#COMMITTED}.
     */
    public Outcome createComplete(NewUpload asked, Body body, ByteBuffer buffer, ByteBuffer second,
                                  DiskLedger.Reservation disk) throws IOException, SQLException {
        NewUpload spec = accept(asked);
        Instant now = core.now();
        List<Stored> done;
        try (FileSink sink = core.uploads.open(spec.filename(), buffer, second, spec.maxSize(), disk)) {
            long got = body.read(spec.length(), sink::write);
            if (got != spec.length()) {
                throw new ResumableException(new LengthMismatch(got, spec.length()));
            }
            // The token's types (the direct path checks them in its API, which this path does not pass), on the type
            // the finished sink detected.
            sink.finish();
            TokenTypes.check(spec.metadata(), sink.contentType());
            core.reached(FinishStep.WRITTEN, sink.id(), spec.filename());
            done = core.uploads.commit(List.of(sink), TokenTypes.strip(spec.metadata()), spec.client(), spec.owner(),
                    ResumableCore.pipeline(spec.metadata()), (tx, list) -> {
                        core.repository.insert(tx, completed(list.getFirst(), spec, now));
                        core.reached(FinishStep.PROMOTED, list.getFirst().id(), spec.filename());
                    });
            core.reached(FinishStep.COMMITTED, sink.id(), spec.filename());
        }
        Upload u = done.getFirst().upload();
        core.appends.increment();
        core.appendedBytes.increment(u.size());
        return new Outcome(completed(u, spec, now), Optional.of(done.getFirst()));
    }

    /**
     * What every new upload must pass before anything of it is stored (size limit, named pipeline, the application's
     * preCreate hook); returns the upload as the hook allowed it (metadata merged, pipeline, filename).
     */
    private NewUpload accept(NewUpload asked) {
        ResumableCore.checkLength(asked.length(), asked.maxSize());
        NewUpload spec = HookCalls.preCreate(core.uploads.hooks(), asked);
        checkPipeline(spec.metadata());
        return spec;
    }

    private static Resumable completed(Upload u, NewUpload spec, Instant now) {
        return new Resumable(u.id(), u.size(), u.size(), u.filename(), spec.metadata(), spec.rawMetadata(),
                Resumable.Concat.NONE, List.of(), Resumable.State.COMPLETED, spec.client(), null, now, spec.owner());
    }

    /**
     * Refuses metadata naming an unknown pipeline (the upload layer's {@code unknown_pipeline}). Protocols call it
     * before admission, so a client mistake is never answered with a load refusal; creation checks it again.
     */
    public void checkPipeline(Map<String, String> metadata) {
        core.uploads.processing().checkName(ResumableCore.pipeline(metadata));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reading state.

    /** The upload in any state (expired ones too), for ownership checks; empty when unknown. */
    public Optional<Resumable> find(String id) throws SQLException {
        return core.find(id);
    }

    /**
     * The upload as a client may see it.
     *
     * @throws ResumableException {@link ResumableFailure.NotFound} when unknown or terminated,
     *                            {@link ResumableFailure.Expired} when it expired (swept or not yet)
     */
    public Resumable require(String id) throws SQLException {
        return core.require(id);
    }

    /**
     * {@link #require}, after asking a current writer to let go: a client that asks for the offset is about to
     * resume, so a writer still holding the upload is a dead connection (tusd does the same on HEAD).
     */
    public Resumable status(String id, Runnable onReleaseRequested) throws SQLException, InterruptedException {
        core.require(id);
        try (UploadLocks.Lock ignored = core.lock(id, onReleaseRequested)) {
            Resumable r = core.require(id);
            try {
                if (finisher.resume(r, true).isPresent()) {
                    return core.require(id);
                }
            } catch (ResumableException refused) {
                // The finished file was refused (type, pipeline): deleted, exactly as the final PATCH would have.
                return core.require(id);
            } catch (IOException e) {
                log.warn("could not complete the interrupted finish of upload {}: {}", id, e.toString());
            }
            return r;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Appending, finishing, concatenating.

    /**
     * Appends the request body at {@code a.expectedOffset()}; when it reaches the end, finishes the upload.
     *
     * @param disk               the request's disk reservation, grown as the body goes beyond it
     * @param onReleaseRequested what a later request on the same upload runs to make this one stop reading
     *                           (close the connection); the bytes received until then are kept
     */
    public Outcome append(Append a, Body body, ByteBuffer buffer, ByteBuffer second, DiskLedger.Reservation disk,
                          Runnable onReleaseRequested) throws IOException, SQLException, InterruptedException {
        return appender.append(a, body, buffer, second, disk, onReleaseRequested);
    }

    /**
     * Completes every finish a crash interrupted, so that a finished upload is listed without waiting for its
     * client: at start-up, before the server listens, and with the periodic sweep.
     *
     * @return how many were completed; failures are logged
     */
    public int recoverInterrupted() {
        return finisher.recoverInterrupted();
    }

    /**
     * Builds a final upload from finished partial uploads ({@link ResumableConcat}); the partials are consumed.
     *
     * @throws ResumableException for an unknown, unfinished, non-partial or repeated partial upload, or none
     */
    public Outcome concatenate(Concatenation c, ByteBuffer buffer, ByteBuffer second, DiskLedger.Reservation disk)
            throws IOException, SQLException, InterruptedException {
        return concat.concatenate(c, buffer, second, disk);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Termination and expiry.

    /** Removes an upload, finished or not, with its bytes (tus termination). */
    public void terminate(String id, Runnable onReleaseRequested)
            throws SQLException, IOException, InterruptedException {
        core.require(id);
        try (UploadLocks.Lock ignored = core.lock(id, onReleaseRequested)) {
            core.require(id);
            core.deleteQuietly(id);
        }
    }

    /**
     * Sweeps unfinished uploads (and unconsumed partials) past their expiry: their bytes are removed and the row
     * stays as a tombstone for {@link #TOMBSTONE_RETENTION}. An upload being written is skipped this round.
     *
     * @return how many were swept
     */
    public int sweepExpired() throws SQLException, IOException, InterruptedException {
        int swept = 0;
        for (Resumable r : core.repository.expired(core.now(), SWEEP_BATCH)) {
            // Never asks a writer to let go: an append running past the expiry is alive and renews it when it ends.
            Optional<UploadLocks.Lock> lock = core.locks.tryAcquire(r.id());
            if (lock.isEmpty()) {
                continue;
            }
            try (UploadLocks.Lock ignored = lock.get()) {
                Resumable fresh = core.repository.find(r.id()).orElse(null);
                if (fresh == null || fresh.expiresAt() == null || !fresh.expiresAt().isBefore(core.now())
                        || fresh.state() == Resumable.State.EXPIRED) {
                    continue;
                }
                core.update(fresh.with(Resumable.State.EXPIRED, fresh.expiresAt()));
                core.forgetDigest(r.id());
                core.store.deleteResumable(r.id());
                // A completion cut between the blob's promotion and its record leaves a committed blob that no
                // record owns, and so does a concatenation by an Assembler cut after it promoted its partials:
                // unfinished uploads and unconsumed partials own no committed blob, so it goes too.
                core.blobs.delete(r.id());
                swept++;
            }
        }
        core.repository.pruneTombstones(core.now().minus(TOMBSTONE_RETENTION));
        if (swept > 0) {
            log.info("Swept {} expired resumable upload(s)", swept);
        }
        return swept;
    }
}
