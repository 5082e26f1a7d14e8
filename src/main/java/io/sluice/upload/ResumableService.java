package io.sluice.upload;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.api.ApiException;
import io.sluice.api.ClientGoneException;
import io.sluice.api.Exchange;
import io.sluice.db.Database;
import io.sluice.storage.Assembler;
import io.sluice.storage.BlobStore;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.ResumableStore;
import io.sluice.storage.ResumableWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Resumable uploads, independent of the protocol (tus 1.0, the IETF draft) that carries them.
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
 *   <li>Finishing is crash-atomic and idempotent ({@link FinishStep}): the final offset is recorded before the blob
 *       moves, the upload record, its job and the state change commit in one transaction that only an active upload
 *       can pass, and a finish a crash interrupted is completed at start-up, by the periodic sweep, or by the next
 *       {@code HEAD} or {@code PATCH}, whichever comes first.</li>
 * </ul>
 * Callers own admission: they pass the two buffers of an admitted ticket.
 */
public final class ResumableService {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);
    /** Digests of unfinished uploads kept in memory; beyond this the sha256 is recomputed at completion. */
    static final int MAX_CACHED_DIGESTS = 10_000;
    /** Expired uploads are remembered (410 instead of 404) this long. */
    public static final Duration TOMBSTONE_RETENTION = Duration.ofDays(7);
    private static final int SWEEP_BATCH = 500;
    /**
     * Test seam (issue 13, section 8): {@code -Dsluice.test.haltAt=<step>[@<filename>]} halts the JVM the way
     * {@code kill -9} would when a finish reaches that {@link FinishStep} (lower case), of any upload or only of the
     * upload with that filename, so a test can stop the server between any two durable steps of one upload while it
     * resumes others. Unset in production: {@link #reached} is then a comparison with null.
     */
    public static final String HALT_PROPERTY = "sluice.test.haltAt";

    /**
     * The durable steps of finishing a (non-partial) upload, in order. What a crash right after each leaves:
     * <ol>
     *   <li>{@link #WRITTEN}: all bytes written, not yet fsync'd; the row keeps the earlier offset, and the tail is
     *       an unacknowledged append that the next {@code PATCH} cuts off and the client sends again.</li>
     *   <li>{@link #SYNCED}: the bytes are fsync'd, the offset not recorded: the same as above (the offset is only
     *       what the database says; nothing past it was answered to anyone).</li>
     *   <li>{@link #RECORDED}: offset = length committed, state {@link Resumable.State#FINISHING}: every byte is durable and counted.
     *       From here on the finish is completed by recovery, never redone by the client.</li>
     *   <li>{@link #PROMOTED}: the blob is in its final place; {@link ResumableStore#promote} is idempotent.</li>
     *   <li>{@link #PLANNED}: type, sha256 and pipeline decided (nothing durable: recomputed by recovery).</li>
     *   <li>{@link #COMMITTED}: upload record + job + completed state committed in one transaction.</li>
     * </ol>
     */
    public enum FinishStep { WRITTEN, SYNCED, RECORDED, PROMOTED, PLANNED, COMMITTED }

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
     * overrides {@link #maxSize()}).
     */
    public record NewUpload(long length, Map<String, String> metadata, String rawMetadata, String filename,
                            boolean partial, String client, String owner, long maxSize) {
    }

    /**
     * One append.
     *
     * @param expectedOffset the client's idea of the offset (409 when it differs)
     * @param newLength      a length the client declares now (deferred length), or {@link Resumable#DEFERRED}
     * @param complete       IETF {@code Upload-Complete}: TRUE = this append ends the upload, FALSE = more follow,
     *                       null = tus (the upload ends when it reaches its length)
     * @param checksum       the expected digest of this append's bytes, or null
     * @param maxSize        the caller's size limit, for an upload whose length is deferred
     */
    public record Append(String id, long expectedOffset, long newLength, Boolean complete, Checksum checksum,
                         long maxSize) {
    }

    /** An expected digest: {@code algorithm} is a JCA name (SHA-1, SHA-256, ...). */
    public record Checksum(String algorithm, byte[] expected) {
    }

    /** Reads the request body into {@code consumer}, failing once more than {@code max} bytes arrive. */
    @FunctionalInterface
    public interface Body {
        long read(long max, Exchange.BodyConsumer consumer) throws IOException;
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

        Outcome(Resumable upload) {
            this(upload, Optional.empty(), null);
        }
    }

    private final ComposedStore stores;
    private final BlobStore blobs;
    private final ResumableStore store;
    private final Database db;
    private final ResumableRepository repository;
    private final UploadService uploads;
    private final UploadLocks locks;
    private final Settings settings;
    private final Clock clock;
    private final ConcurrentHashMap<String, Running> digests = new ConcurrentHashMap<>();
    private final Counter appends;
    private final Counter appendedBytes;
    /** The step at which the test seam halts the JVM, or null (always, outside crash tests). */
    private final FinishStep haltAt;
    /** The filename of the one upload the seam halts, or null for any. */
    private final String haltFilename;

    /** The sha256 of an upload's first {@code offset} bytes, carried from one append to the next. */
    private record Running(long offset, MessageDigest digest) {
    }

    public ResumableService(ComposedStore stores, Database db, ResumableRepository repository, UploadService uploads,
                            UploadLocks locks, Settings settings, Clock clock, MeterRegistry metrics) {
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
        String halt = System.getProperty(HALT_PROPERTY, "").strip();
        int at = halt.indexOf('@');
        this.haltAt = halt.isEmpty() ? null : FinishStep.valueOf(
                (at < 0 ? halt : halt.substring(0, at)).toUpperCase(java.util.Locale.ROOT));
        this.haltFilename = at < 0 ? null : halt.substring(at + 1);
        if (haltAt != null) {
            log.warn("{}={}: this server halts itself when a finish reaches that step (crash tests only)",
                    HALT_PROPERTY, halt);
        }
    }

    /** The test seam: {@code Runtime.halt} runs no shutdown hook and flushes nothing, like {@code kill -9}. */
    private void reached(FinishStep step, Resumable r) {
        if (step == haltAt && (haltFilename == null || haltFilename.equals(r.filename()))) {
            System.out.println("halting at " + step + " of upload " + r.id());
            System.out.flush();
            Runtime.getRuntime().halt(137);
        }
    }

    /** What API keys' quotas count. */
    public Usage usage() {
        return uploads.usage();
    }

    public long maxSize() {
        return uploads.limits().maxFileSize();
    }

    public Settings settings() {
        return settings;
    }

    /** The display name for a client-supplied filename (400 {@code invalid_filename} when impossible). */
    public String sanitize(String raw) {
        return uploads.sanitize(raw);
    }

    public int locksHeld() {
        return locks.held();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Creation.

    /** Creates an empty upload: its row and its (empty, durable) blob. */
    public Resumable create(NewUpload spec) throws IOException, SQLException {
        checkLength(spec.length(), spec.maxSize());
        uploads.processing().checkName(pipeline(spec.metadata()));
        if (spec.length() == 0) {
            throw ApiException.badRequest("empty_file", "'" + spec.filename() + "' is empty");
        }
        Instant now = now();
        Resumable r = new Resumable(uploads.newId(), spec.length(), 0, spec.filename(), spec.metadata(),
                spec.rawMetadata(), spec.partial() ? Resumable.Concat.PARTIAL : Resumable.Concat.NONE, List.of(),
                Resumable.State.ACTIVE, spec.client(), now.plus(settings.expiry()), now, spec.owner());
        store.createResumable(r.id());
        try {
            db.write(tx -> {
                repository.insert(tx, r);
                return null;
            });
        } catch (SQLException | RuntimeException e) {
            store.deleteResumable(r.id());
            throw e;
        }
        return r;
    }

    /**
     * Creates an upload whose whole body is in the creation request (tus creation-with-upload of a small file):
     * it takes the direct-upload path, staged and committed in one transaction, because a client that never saw
     * the upload's URL could not resume it anyway.
     */
    public Outcome createComplete(NewUpload spec, Body body, ByteBuffer buffer, ByteBuffer second,
                                  DiskLedger.Reservation disk) throws IOException, SQLException {
        checkLength(spec.length(), spec.maxSize());
        uploads.processing().checkName(pipeline(spec.metadata()));
        Instant now = now();
        List<Stored> done;
        try (FileSink sink = uploads.open(spec.filename(), buffer, second, spec.maxSize(), disk)) {
            long max = spec.length();
            long got = body.read(max, chunk -> sink.write(chunk.getByteBuffer()));
            if (got != spec.length()) {
                throw ApiException.badRequest("length_mismatch",
                        "the body has " + got + " bytes but Upload-Length is " + spec.length());
            }
            String pipeline = pipeline(spec.metadata());
            done = uploads.commit(List.of(sink), spec.metadata(), spec.client(), spec.owner(), pipeline,
                    (tx, list) -> {
                Upload u = list.getFirst();
                repository.insert(tx, new Resumable(u.id(), u.size(), u.size(), u.filename(), spec.metadata(),
                        spec.rawMetadata(), Resumable.Concat.NONE, List.of(), Resumable.State.COMPLETED,
                        spec.client(), null, now, spec.owner()));
            });
        }
        Upload u = done.getFirst().upload();
        appends.increment();
        appendedBytes.increment(u.size());
        return new Outcome(new Resumable(u.id(), u.size(), u.size(), u.filename(), spec.metadata(),
                spec.rawMetadata(), Resumable.Concat.NONE, List.of(), Resumable.State.COMPLETED, spec.client(), null,
                now, spec.owner()), Optional.of(done.getFirst()));
    }

    /**
     * Refuses metadata naming an unknown pipeline (400 {@code unknown_pipeline}). Protocols call it before
     * admission, so a client mistake is never answered with a load refusal; creation checks it again.
     */
    public void checkPipeline(Map<String, String> metadata) {
        uploads.processing().checkName(pipeline(metadata));
    }

    /** The pipeline named by the client's metadata ({@code pipeline}), or null; a blank value names none. */
    static String pipeline(Map<String, String> metadata) {
        String name = metadata.get(UploadProcessing.PIPELINE_FIELD);
        return name == null || name.isBlank() ? null : name.strip();
    }

    private static void checkLength(long length, long maxSize) {
        if (length != Resumable.DEFERRED && length > maxSize) {
            throw FileSink.fileTooLarge(maxSize);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reading state.

    /** The upload in any state (expired ones too), for ownership checks; empty when unknown. */
    public Optional<Resumable> find(String id) throws SQLException {
        return IdGenerator.looksLikeId(id) ? repository.find(id) : Optional.empty();
    }

    /**
     * The upload as a client may see it: 404 {@code not_found} when unknown or terminated, 410
     * {@code upload_expired} when it expired (swept or not yet).
     */
    public Resumable require(String id) throws SQLException {
        Optional<Resumable> found = IdGenerator.looksLikeId(id) ? repository.find(id) : Optional.empty();
        Resumable r = found.orElseThrow(() -> ApiException.notFound("upload " + id));
        if (isExpired(r)) {
            throw new ApiException(410, "upload_expired", "upload " + id + " expired at " + r.expiresAt()
                    + " and its bytes were removed; start a new upload");
        }
        return r;
    }

    /**
     * {@link #require}, after asking a current writer to let go: a client that asks for the offset is about to
     * resume, so a writer still holding the upload is a dead connection (tusd does the same on HEAD).
     */
    public Resumable status(String id, Runnable onReleaseRequested) throws SQLException, InterruptedException {
        require(id);
        try (UploadLocks.Lock ignored = lock(id, onReleaseRequested)) {
            Resumable r = require(id);
            try {
                if (resumeFinish(r, true).isPresent()) {
                    return require(id);
                }
            } catch (ApiException refused) {
                // The finished file was refused (type, pipeline): deleted, exactly as the final PATCH would have.
                return require(id);
            } catch (IOException e) {
                log.warn("could not complete the interrupted finish of upload {}: {}", id, e.toString());
            }
            return r;
        }
    }

    private boolean isExpired(Resumable r) {
        return r.state() == Resumable.State.EXPIRED
                || (r.expiresAt() != null && r.expiresAt().isBefore(now()));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Appending.

    /**
     * Appends the request body at {@code a.expectedOffset()}.
     *
     * @param disk               the request's disk reservation, grown as the body goes beyond it
     * @param onReleaseRequested what a later request on the same upload runs to make this one stop reading
     *                           (close the connection); the bytes received until then are kept
     */
    public Outcome append(Append a, Body body, ByteBuffer buffer, ByteBuffer second, DiskLedger.Reservation disk,
                          Runnable onReleaseRequested) throws IOException, SQLException, InterruptedException {
        try (UploadLocks.Lock ignored = lock(a.id(), onReleaseRequested)) {
            Resumable r = require(a.id());
            if (r.concat() == Resumable.Concat.FINAL) {
                throw new ApiException(403, "final_upload_immutable",
                        "a final concatenation cannot be appended to; it was complete when created");
            }
            // Not probing storage: a PATCH learns of an older version's promoted blob from openAppend (recoverMissingBlob).
            Optional<Stored> resumed = resumeFinish(r, false);
            if (resumed.isPresent()) {
                r = require(a.id());
            }
            if (a.expectedOffset() != r.offset()) {
                throw offsetMismatch(r);
            }
            r = applyNewLength(r, a.newLength(), a.maxSize());
            if (r.isComplete()) {
                // Nothing to add; an empty append at the end is a harmless repeat of the final one.
                long extra = body.read(0, chunk -> {
                });
                if (extra > 0) {
                    throw exceedsLength(r.length());
                }
                // An empty final append completes an upload whose finish a crash interrupted: its answer carries the
                // record and the job it got now, as the lost answer to the original final append would have.
                return new Outcome(r, resumed);
            }
            appends.increment();
            HeadCheck head = new HeadCheck(r);
            try {
                return appendLocked(r, a, body, buffer, second, disk, head);
            } catch (ApiException e) {
                if (head.refused(e)) {
                    // Refused for good: no later append could change the first bytes, so nothing is kept to resume.
                    // The writer is closed by now (appendLocked's resources), the lock is still ours.
                    log.info("upload {} refused at offset {} for its type ({}); removed", r.id(), r.offset(), e.code());
                    deleteQuietly(r.id());
                }
                throw e;
            }
        }
    }

    /**
     * The early type check (README "Type detection"): a resumable upload's type is decided as soon as its first
     * {@code min(HEAD_BYTES, length)} bytes have arrived, on the hand-off that completes them and before that buffer
     * is written, by the same {@link TypeDetector} rules (and the named pipeline's accepted types) that judge it
     * again when it finishes. Those head bytes may come over several appends: the ones earlier appends stored are
     * read back from storage (fewer than {@link TypeDetector#HEAD_BYTES}), so at most that much is held per append
     * and nothing between appends. Partial uploads are not checked: the final concatenation is.
     */
    private final class HeadCheck {
        private final Resumable r;
        private final long window;
        private boolean done;
        /** The head assembled so far; allocated on the first hand-off that reaches into the window. */
        private ByteBuffer head;
        private ApiException refusal;

        HeadCheck(Resumable r) {
            this.r = r;
            this.window = r.lengthDeferred() ? TypeDetector.HEAD_BYTES : Math.min(TypeDetector.HEAD_BYTES, r.length());
            this.done = r.concat() == Resumable.Concat.PARTIAL || r.offset() >= window;
        }

        void beforeHandOff(ByteBuffer full) throws IOException {
            if (done) {
                return;
            }
            if (head == null) {
                head = ByteBuffer.allocate((int) window);
                if (r.offset() > 0) {
                    try {
                        readStored(head, r.offset());
                    } catch (IOException e) {
                        // The finish judges the type anyway: an unreadable head costs the early answer, not the
                        // upload.
                        log.warn("could not read back the first {} bytes of upload {} to judge its type early: {}",
                                r.offset(), r.id(), e.toString());
                        done = true;
                        head = null;
                        return;
                    }
                }
            }
            ByteBuffer dup = full.duplicate();
            dup.limit(dup.position() + Math.min(dup.remaining(), head.remaining()));
            head.put(dup);
            if (head.hasRemaining()) {
                return;
            }
            done = true;
            try {
                String type = uploads.types().detect(head.flip(), r.filename());
                uploads.processing().checkType(pipeline(r.metadata()), type);
            } catch (ApiException e) {
                refusal = e;
                throw e;
            } finally {
                head = null;
            }
        }

        /** The bytes below {@code offset} that earlier appends stored (all durable: the offset is recorded). */
        private void readStored(ByteBuffer into, long offset) throws IOException {
            ByteBuffer part = into.duplicate().limit((int) offset);
            try (ReadableByteChannel ch = store.openResumable(r.id(), 0, offset)) {
                while (part.hasRemaining() && ch.read(part) >= 0) {
                    // fill
                }
            }
            if (part.hasRemaining()) {
                throw new IOException("upload " + r.id() + " holds fewer than its " + offset + " recorded bytes");
            }
            into.position((int) offset);
        }

        boolean refused(ApiException e) {
            return e == refusal;
        }
    }

    private Outcome appendLocked(Resumable r, Append a, Body body, ByteBuffer buffer, ByteBuffer second,
                                 DiskLedger.Reservation disk, HeadCheck head)
            throws IOException, SQLException {
        long start = r.offset();
        long room = (r.lengthDeferred() ? a.maxSize() : r.length()) - start;
        MessageDigest checksum = a.checksum() == null ? null : Digests.of(a.checksum().algorithm());
        // Partials are hashed when they are concatenated; the others continue the digest of their earlier appends.
        MessageDigest sha256 = r.concat() == Resumable.Concat.PARTIAL ? null : takeDigest(r.id(), start);
        ResumableWriter writer;
        try {
            writer = store.openAppend(r.id(), start);
        } catch (NoSuchFileException e) {
            throw recoverMissingBlob(r, e);
        }
        Checkpoints checkpoints = new Checkpoints(r, writer, a.checksum() == null);
        long received;
        long end;
        boolean finishing;
        boolean promotes;
        // Closed in reverse: the pipeline's last write, then a running checkpoint, then the file.
        try (writer; checkpoints; StreamPipeline pipeline = new StreamPipeline(r.id(), full -> {
            if (checksum != null) {
                checksum.update(full.duplicate());
            }
            writer.write(full);
        }, sha256, buffer, second, (full, drainedSoFar) -> {
            // Judged before it is reserved and written: a refused head never reaches the disk.
            head.beforeHandOff(full);
            // Reserved before it is written: a body beyond the reservation (an unknown length) grows it or fails.
            disk.advance(drainedSoFar, drainedSoFar + full.remaining());
            checkpoints.beforeHandOff(full, drainedSoFar);
        })) {
            try {
                try {
                    received = body.read(room, chunk -> pipeline.write(chunk.getByteBuffer()));
                } catch (ClientGoneException | ApiException e) {
                    // The network failed us (disconnect, too slow, a newer request took over): what arrived is a
                    // valid prefix and is kept, unless the append carried a checksum that can no longer be
                    // verified.
                    boolean networkFailure = e instanceof ClientGoneException
                            || (e instanceof ApiException api && api.status() == 408);
                    if (networkFailure && checksum == null) {
                        pipeline.finish();
                        checkpoints.await();
                        saveProgress(r, start + pipeline.accepted(), writer, sha256, checkpoints);
                    }
                    throw e;
                }
                pipeline.finish();
                checkpoints.await();
                if (checksum != null && !MessageDigest.isEqual(checksum.digest(), a.checksum().expected())) {
                    throw new ApiException(460, "checksum_mismatch", "the " + a.checksum().algorithm()
                            + " of this request's body does not match Upload-Checksum; the bytes were discarded",
                            Map.of("offset", start), null);
                }
                end = start + received;
                if (Boolean.TRUE.equals(a.complete())) {
                    if (r.lengthDeferred()) {
                        r = r.withLength(end);
                    } else if (end != r.length()) {
                        throw inconsistentLength(r, end);
                    }
                }
                // FALSE means more follow even at the declared length: the IETF draft completes an upload only when
                // the client says so (the offset may equal the length while the upload is still incomplete).
                finishing = !r.lengthDeferred() && end == r.length() && !Boolean.FALSE.equals(a.complete());
                promotes = finishing && r.concat() != Resumable.Concat.PARTIAL && r.length() > 0;
                if (promotes) {
                    reached(FinishStep.WRITTEN, r);
                }
                writer.sync();
            } catch (IOException | RuntimeException e) {
                // Nothing past the last recorded offset counts: cut it off now rather than at the next append, so
                // a full disk gets its space back at once and HEAD's offset is all the blob holds.
                pipeline.close();
                checkpoints.await();
                discardUnacknowledged(r.id(), writer, checkpoints.recorded(), e);
                throw e;
            }
            if (finishing) {
                Resumable last = r.withOffset(end);
                if (promotes) {
                    reached(FinishStep.SYNCED, r);
                    // Offset = length (and the length, if this request declared it) is committed before the blob
                    // moves: from here on every byte is counted, and a crash at any later step leaves an upload
                    // that recovery finishes (resumeFinish) instead of one whose bytes HEAD no longer counts. Its
                    // own state, not offset = length: an IETF upload may sit at its length unfinished (?0).
                    Resumable pending = last.with(Resumable.State.FINISHING, null);
                    db.write(tx -> {
                        repository.update(tx, pending);
                        return null;
                    });
                    last = pending;
                    reached(FinishStep.RECORDED, r);
                }
                Optional<Stored> upload = finish(last, sha256);
                appendedBytes.increment(received);
                return new Outcome(r.withOffset(end).with(Resumable.State.COMPLETED,
                        r.concat() == Resumable.Concat.PARTIAL ? r.expiresAt() : null), upload);
            }
            Resumable saved = record(r.withOffset(end));
            writer.acknowledged(end);
            if (sha256 != null) {
                putDigest(r.id(), end, sha256);
            }
            appendedBytes.increment(received);
            return new Outcome(saved);
        }
    }

    private void saveProgress(Resumable r, long end, ResumableWriter writer, MessageDigest sha256,
                              Checkpoints checkpoints) {
        try {
            writer.sync();
            record(r.withOffset(end));
            checkpoints.recorded = end;
            writer.acknowledged(end);
            if (sha256 != null) {
                putDigest(r.id(), end, sha256);
            }
            appendedBytes.increment(end - r.offset());
        } catch (IOException | SQLException | RuntimeException e) {
            log.warn("could not save the offset of interrupted upload {}: {}", r.id(), e.toString());
        }
    }

    /** Truncates the blob to {@code offset}, the upload's recorded offset, after a failed append. */
    private static void discardUnacknowledged(String id, ResumableWriter writer, long offset, Exception cause) {
        try {
            writer.truncate(offset);
        } catch (IOException | RuntimeException e) {
            // The next append truncates to the recorded offset anyway; only the space waits until then.
            log.warn("could not cut upload {} back to offset {}: {}", id, offset, e.toString());
            cause.addSuppressed(e);
        }
    }

    /** Writes a new offset with a fresh expiry; returns the upload as recorded. */
    private Resumable record(Resumable r) throws SQLException {
        Resumable updated = r.with(r.state(), now().plus(settings.expiry()));
        db.write(tx -> {
            repository.update(tx, updated);
            return null;
        });
        return updated;
    }

    private Resumable applyNewLength(Resumable r, long newLength, long maxSize) {
        if (newLength == Resumable.DEFERRED || newLength == r.length()) {
            return r;
        }
        if (!r.lengthDeferred()) {
            throw ApiException.badRequest("length_already_set",
                    "the upload's length is already " + r.length() + " and cannot change to " + newLength);
        }
        checkLength(newLength, maxSize);
        if (newLength < r.offset()) {
            throw ApiException.badRequest("invalid_length",
                    "the length " + newLength + " is below the " + r.offset() + " bytes already received");
        }
        // Recorded with the append's new offset (or its completion), not before: a PATCH refused for its body
        // (413, 460) must not leave its declaration behind, or the client's corrected retry would meet
        // length_already_set.
        return r.withLength(newLength);
    }

    /**
     * The resumable blob is gone while the row says unfinished below its length: an older version's completion was
     * interrupted between the promotion of the blob and the database commit (this version records the final offset
     * first, see {@link FinishStep}). Finish it now; the client's offset is then stale.
     */
    private ApiException recoverMissingBlob(Resumable r, NoSuchFileException e) throws IOException, SQLException {
        if (!r.lengthDeferred() && blobs.size(r.id()) == r.length()) {
            log.info("completing upload {} whose completion was interrupted", r.id());
            Resumable done = r.withOffset(r.length());
            finish(done, null);
            return offsetMismatch(done);
        }
        throw new IOException("the bytes of upload " + r.id() + " are missing", e);
    }

    /**
     * Makes a finished upload an {@link Upload}: promote its blob, compute what the record needs, and commit the
     * record with the state change. A partial upload only changes state: it waits for its concatenation.
     */
    private Optional<Stored> finish(Resumable r, MessageDigest sha256) throws IOException, SQLException {
        digests.remove(r.id());
        if (r.concat() == Resumable.Concat.PARTIAL) {
            Resumable done = r.with(Resumable.State.COMPLETED, r.expiresAt());
            db.write(tx -> {
                repository.update(tx, done);
                return null;
            });
            return Optional.empty();
        }
        if (r.length() == 0) {
            deleteQuietly(r.id());
            throw ApiException.badRequest("empty_file", "'" + r.filename() + "' is empty");
        }
        store.promote(r.id());
        reached(FinishStep.PROMOTED, r);
        Upload u;
        String pipeline;
        try {
            String contentType = uploads.types().detect(head(r.id(), r.length()), r.filename());
            String sha = sha256 != null ? HexFormat.of().formatHex(sha256.digest()) : rehash(r.id(), r.length());
            u = new Upload(r.id(), r.filename(), r.length(), sha, contentType,
                    clock.instant().truncatedTo(ChronoUnit.MILLIS), r.id(), r.client(), r.metadata(), r.owner());
            // Like a refused type: the pipeline can only judge a file whose bytes are all there.
            pipeline = uploads.processing().plan(u, pipeline(r.metadata()));
        } catch (ApiException e) {
            deleteQuietly(r.id());
            throw e;
        }
        reached(FinishStep.PLANNED, r);
        Resumable done = r.with(Resumable.State.COMPLETED, null);
        // The state change goes first and guards the rest: only the one finish that moves the row to 'completed'
        // writes the record and the job, so a repeated finish (recovery racing a PATCH on another node) adds none.
        Optional<Stored> stored = db.write(tx -> {
            if (!repository.complete(tx, done)) {
                return Optional.<Stored>empty();
            }
            uploads.repository().insert(tx, u);
            return Optional.of(new Stored(u, pipeline == null ? null
                    : uploads.processing().enqueue(tx, u, pipeline)));
        });
        if (stored.isEmpty()) {
            log.info("upload {} was finished by another request meanwhile", r.id());
            return uploads.repository().find(r.id()).map(found -> new Stored(found, null));
        }
        reached(FinishStep.COMMITTED, r);
        uploads.counted(u);
        return stored;
    }

    /**
     * Completes the finish of an upload that a crash interrupted, and returns its record; empty when {@code r}
     * is not such an upload. The caller holds its lock. Two states need it:
     * <ul>
     *   <li>{@link Resumable.State#FINISHING}: the final append recorded its offset ({@link FinishStep#RECORDED})
     *       and the crash came before the commit, whether or not the blob was promoted;</li>
     *   <li>active below its length with no resumable blob but a committed blob of exactly its length: a promotion
     *       by a version that recorded the offset only in the final commit. {@code promote} fsyncs the blob before
     *       the rename, so a promoted blob is complete and durable.</li>
     * </ul>
     * The sha256 is recomputed from storage. A refused type or pipeline deletes the upload, as on the final append.
     *
     * @param probeStorage whether to look for the second state (a stat, or a request to S3); HEAD does, since it is
     *                     what a resuming client asks first
     * @throws ApiException the refusal of the finished file (the upload is gone)
     */
    private Optional<Stored> resumeFinish(Resumable r, boolean probeStorage) throws IOException, SQLException {
        if (r.state() != Resumable.State.FINISHING) {
            if (!probeStorage || r.state() != Resumable.State.ACTIVE || r.concat() != Resumable.Concat.NONE
                    || r.lengthDeferred() || r.offset() == r.length() || blobs.size(r.id()) != r.length()
                    || store.resumableLength(r.id()) >= 0) {
                return Optional.empty();
            }
        }
        Resumable done = r.withOffset(r.length());
        log.info("completing upload {} whose finish was interrupted", r.id());
        return finish(done, null);
    }

    /**
     * Completes every finish a crash interrupted (see {@link #resumeFinish}), so that a finished upload is listed
     * without waiting for its client: at start-up, before the server listens, and with the periodic sweep (for a
     * node that crashed and stays down while others share its database). An upload another request holds is left
     * to that request.
     *
     * @return how many were completed; failures are logged (a start-up must not fail for them: the next
     *         {@code HEAD}, {@code PATCH} or sweep tries again)
     */
    public int recoverInterrupted() {
        List<Resumable> pending;
        try {
            pending = repository.finishing(SWEEP_BATCH);
        } catch (SQLException e) {
            log.warn("could not look for uploads whose finish was interrupted: {}", e.toString());
            return 0;
        }
        int recovered = 0;
        for (Resumable r : pending) {
            Optional<UploadLocks.Lock> lock = locks.tryAcquire(r.id());
            if (lock.isEmpty()) {
                continue;
            }
            try (UploadLocks.Lock ignored = lock.get()) {
                Resumable fresh = repository.find(r.id()).orElse(null);
                if (fresh != null && resumeFinish(fresh, false).isPresent()) {
                    recovered++;
                }
            } catch (ApiException refused) {
                log.info("the interrupted upload {} was refused when finished ({}) and removed", r.id(),
                        refused.code());
            } catch (IOException | SQLException | RuntimeException e) {
                log.warn("could not complete the interrupted finish of upload {}: {}", r.id(), e.toString());
            }
        }
        if (recovered > 0) {
            log.info("Completed {} upload(s) whose finish a crash had interrupted", recovered);
        }
        return recovered;
    }

    private ByteBuffer head(String key, long length) throws IOException {
        return BlobReads.head(blobs, key, length);
    }

    /** Hashes a committed blob from storage: the digest of its earlier appends was lost (a restart, another node). */
    private String rehash(String key, long length) throws IOException {
        return BlobReads.sha256(blobs, key, length);
    }

    private MessageDigest takeDigest(String id, long offset) {
        if (offset == 0) {
            digests.remove(id);
            return Digests.sha256();
        }
        Running running = digests.remove(id);
        return running != null && running.offset() == offset ? running.digest() : null;
    }

    private void putDigest(String id, long offset, MessageDigest digest) {
        if (digests.size() < MAX_CACHED_DIGESTS) {
            digests.put(id, new Running(offset, digest));
        }
    }

    /**
     * Records the offset of a long append while it runs, so a crash in the middle of a multi-gigabyte PATCH
     * costs at most {@link Settings#checkpointBytes()} of it. The fsync runs beside the writes, not between them.
     */
    private final class Checkpoints implements StreamPipeline.HandOffHook, AutoCloseable {
        private final Resumable r;
        private final ResumableWriter writer;
        private final boolean enabled;
        private long next;
        private Thread running;
        /** The upload's offset as last recorded: where it starts, then each checkpoint's. */
        private volatile long recorded;

        Checkpoints(Resumable r, ResumableWriter writer, boolean enabled) {
            this.r = r;
            this.writer = writer;
            this.enabled = enabled;
            this.next = settings.checkpointBytes();
            this.recorded = r.offset();
        }

        /** The offset in the database now; read after {@link #await}. */
        long recorded() {
            return recorded;
        }

        @Override
        public void beforeHandOff(ByteBuffer full, long drainedSoFar) {
            if (!enabled || drainedSoFar < next || (running != null && running.isAlive())) {
                return;
            }
            next = drainedSoFar + settings.checkpointBytes();
            long offset = r.offset() + drainedSoFar;
            running = Thread.ofVirtual().name("sluice-checkpoint-" + r.id()).start(() -> {
                try {
                    writer.sync();
                    record(r.withOffset(offset));
                    recorded = offset;
                    writer.acknowledged(offset);
                } catch (IOException | SQLException | RuntimeException e) {
                    log.warn("checkpoint of upload {} at {} failed: {}", r.id(), offset, e.toString());
                }
            });
        }

        @Override
        public void close() {
            await();
        }

        /** Waits for a checkpoint still running: the writer must not close under it. */
        void await() {
            Thread t = running;
            if (t == null) {
                return;
            }
            boolean interrupted = false;
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Concatenation.

    /**
     * Builds a final upload from finished partial uploads, in order, through the direct-upload path (hash and type
     * on the way), or inside the storage when it is an {@link Assembler}; the partials are consumed (removed) when
     * it commits.
     *
     * @throws ApiException 400 {@code invalid_concat} for an unknown, unfinished, non-partial or repeated upload
     */
    public Outcome concatenate(List<String> partialIds, Map<String, String> metadata, String rawMetadata,
                               String filename, String client, String owner, long maxSize, ByteBuffer buffer,
                               ByteBuffer second, DiskLedger.Reservation disk)
            throws IOException, SQLException, InterruptedException {
        if (partialIds.isEmpty()) {
            throw invalidConcat("Upload-Concat: final lists no partial uploads");
        }
        uploads.processing().checkName(pipeline(metadata));
        if (new HashSet<>(partialIds).size() != partialIds.size()) {
            throw invalidConcat("a partial upload appears twice in Upload-Concat");
        }
        List<UploadLocks.Lock> held = new ArrayList<>();
        try {
            // Sorted, so that two concatenations over the same partials cannot deadlock.
            for (String id : partialIds.stream().sorted(Comparator.naturalOrder()).toList()) {
                held.add(lock(id, () -> {
                }));
            }
            List<Resumable> parts = new ArrayList<>();
            long total = 0;
            for (String id : partialIds) {
                Resumable p = IdGenerator.looksLikeId(id) ? repository.find(id).orElse(null) : null;
                if (p == null || isExpired(p)) {
                    throw invalidConcat("partial upload " + id + " does not exist");
                }
                if (p.concat() != Resumable.Concat.PARTIAL) {
                    throw invalidConcat("upload " + id + " is not a partial upload (create it with Upload-Concat: partial)");
                }
                if (!p.isComplete()) {
                    throw invalidConcat("partial upload " + id + " is not finished (" + p.offset() + " of "
                            + (p.lengthDeferred() ? "?" : p.length()) + " bytes)");
                }
                total += p.length();
                parts.add(p);
            }
            checkLength(total, maxSize);
            Instant now = now();
            if (stores.hasAssembler()) {
                return assembled(stores.assembler().orElseThrow(), parts, total, metadata, rawMetadata, filename, client, owner, now);
            }
            List<Stored> done;
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            try (FileSink sink = uploads.open(filename, buffer, second, maxSize, disk)) {
                for (Resumable p : parts) {
                    try (ReadableByteChannel ch = store.openResumable(p.id(), 0, p.length())) {
                        while (ch.read(chunk.clear()) >= 0) {
                            sink.write(chunk.flip());
                        }
                    }
                }
                done = uploads.commit(List.of(sink), metadata, client, owner, pipeline(metadata), (tx, list) -> {
                    Upload u = list.getFirst();
                    repository.insert(tx, new Resumable(u.id(), u.size(), u.size(), u.filename(), metadata,
                            rawMetadata, Resumable.Concat.FINAL, partialIds, Resumable.State.COMPLETED, client, null,
                            now, owner));
                    for (Resumable p : parts) {
                        repository.delete(tx, p.id());
                    }
                });
            }
            for (Resumable p : parts) {
                deleteBlobQuietly(p.id());
            }
            Upload u = done.getFirst().upload();
            return new Outcome(new Resumable(u.id(), u.size(), u.size(), u.filename(), metadata, rawMetadata,
                    Resumable.Concat.FINAL, partialIds, Resumable.State.COMPLETED, client, null, now, owner),
                    Optional.of(done.getFirst()));
        } finally {
            held.forEach(UploadLocks.Lock::close);
        }
    }

    /**
     * Concatenation inside the storage ({@link Assembler}: S3's server-side part copy): the final blob is built
     * without its bytes passing through here, then read once, streamed, for its sha256 and type. Same outcome and
     * same single transaction as the byte copy; a refusal (type, pipeline) or failure deletes the final blob and
     * leaves the partials as they were (possibly promoted, which a later attempt and the sweep handle).
     */
    private Outcome assembled(Assembler assembler, List<Resumable> parts, long total, Map<String, String> metadata,
                              String rawMetadata, String filename, String client, String owner, Instant now)
            throws IOException, SQLException {
        String id = uploads.newId();
        List<String> partialIds = parts.stream().map(Resumable::id).toList();
        Upload u;
        QueuedJob job;
        try {
            assembler.assemble(id, partialIds);
            long size = blobs.size(id);
            if (size != total) {
                throw new IOException("assembled " + size + " bytes for upload " + id + ", expected " + total);
            }
            String contentType = uploads.types().detect(head(id, total), filename);
            u = new Upload(id, filename, total, rehash(id, total), contentType,
                    clock.instant().truncatedTo(ChronoUnit.MILLIS), id, client, metadata, owner);
            String pipeline = uploads.processing().plan(u, pipeline(metadata));
            job = db.write(tx -> {
                uploads.repository().insert(tx, u);
                repository.insert(tx, new Resumable(id, total, total, filename, metadata, rawMetadata,
                        Resumable.Concat.FINAL, partialIds, Resumable.State.COMPLETED, client, null, now, owner));
                for (Resumable p : parts) {
                    repository.delete(tx, p.id());
                }
                return pipeline == null ? null : uploads.processing().enqueue(tx, u, pipeline);
            });
        } catch (IOException | SQLException | RuntimeException e) {
            try {
                blobs.delete(id);
            } catch (IOException | RuntimeException de) {
                log.warn("could not remove assembled blob {} after a failed concatenation: {}", id, de.toString());
            }
            throw e;
        }
        for (Resumable p : parts) {
            deleteBlobQuietly(p.id());
        }
        uploads.counted(u);
        return new Outcome(new Resumable(id, total, total, filename, metadata, rawMetadata, Resumable.Concat.FINAL,
                partialIds, Resumable.State.COMPLETED, client, null, now, owner), Optional.of(new Stored(u, job)));
    }

    private static ApiException invalidConcat(String message) {
        return ApiException.badRequest("invalid_concat", message);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Termination and expiry.

    /** Removes an upload, finished or not, with its bytes (tus termination). */
    public void terminate(String id, Runnable onReleaseRequested)
            throws SQLException, IOException, InterruptedException {
        require(id);
        try (UploadLocks.Lock ignored = lock(id, onReleaseRequested)) {
            require(id);
            deleteQuietly(id);
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
        for (Resumable r : repository.expired(now(), SWEEP_BATCH)) {
            // Never asks a writer to let go: an append running past the expiry is alive and renews it when it ends.
            Optional<UploadLocks.Lock> lock = locks.tryAcquire(r.id());
            if (lock.isEmpty()) {
                continue;
            }
            try (UploadLocks.Lock ignored = lock.get()) {
                Resumable fresh = repository.find(r.id()).orElse(null);
                if (fresh == null || fresh.expiresAt() == null || !fresh.expiresAt().isBefore(now())
                        || fresh.state() == Resumable.State.EXPIRED) {
                    continue;
                }
                Resumable tombstone = fresh.with(Resumable.State.EXPIRED, fresh.expiresAt());
                db.write(tx -> {
                    repository.update(tx, tombstone);
                    return null;
                });
                digests.remove(r.id());
                store.deleteResumable(r.id());
                // A completion cut between the blob's promotion and its record leaves a committed blob that no
                // record owns, and so does a concatenation by an Assembler cut after it promoted its partials:
                // unfinished uploads and unconsumed partials own no committed blob, so it goes too.
                blobs.delete(r.id());
                swept++;
            }
        }
        repository.pruneTombstones(now().minus(TOMBSTONE_RETENTION));
        if (swept > 0) {
            log.info("Swept {} expired resumable upload(s)", swept);
        }
        return swept;
    }

    /** Row first (the upload disappears at once), then its bytes, wherever they are. */
    private void deleteQuietly(String id) throws SQLException {
        digests.remove(id);
        db.write(tx -> {
            repository.delete(tx, id);
            uploads.repository().deleteIn(tx, id);
            return null;
        });
        deleteBlobQuietly(id);
    }

    private void deleteBlobQuietly(String id) {
        try {
            store.deleteResumable(id);
            blobs.delete(id);
        } catch (IOException | RuntimeException e) {
            log.warn("could not remove the bytes of upload {} (orphaned): {}", id, e.toString());
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    private UploadLocks.Lock lock(String id, Runnable onReleaseRequested) throws InterruptedException {
        return locks.acquire(id, settings.lockWait(), onReleaseRequested).orElseThrow(() -> new ApiException(423,
                "upload_locked", "another request is writing to this upload; retry shortly", Map.of(),
                Duration.ofSeconds(1)));
    }

    private static ApiException offsetMismatch(Resumable r) {
        return new ApiException(409, "offset_mismatch", "the upload is at offset " + r.offset()
                + "; resume from there (ask with HEAD)", Map.of("offset", r.offset()), null);
    }

    private static ApiException exceedsLength(long length) {
        return new ApiException(413, "exceeds_length", "the body goes beyond the upload's length of " + length
                + " bytes", Map.of("length", length), null);
    }

    private static ApiException inconsistentLength(Resumable r, long end) {
        return new ApiException(400, "inconsistent_length", "the upload was declared " + r.length()
                + " bytes long but ends at " + end, Map.of("length", r.length(), "end", end), null);
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }
}
