package io.sluice.upload;

import io.sluice.upload.ResumableFailure.EmptyFile;
import io.sluice.upload.ResumableFailure.OffsetMismatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Finishing a resumable upload, crash-atomic and idempotent ({@link FinishStep}): the final offset is recorded
 * before the blob moves (by the append, {@link ResumableAppend}), the upload record, its job and the state change
 * commit in one transaction that only an active upload can pass, and a finish a crash interrupted is completed at
 * start-up, by the periodic sweep, or by the next {@code HEAD} or {@code PATCH}, whichever comes first.
 */
final class ResumableFinish {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);
    private static final int RECOVERY_BATCH = 500;

    private final ResumableCore core;
    private final FileRules rules;

    ResumableFinish(ResumableCore core, FileRules rules) {
        this.core = core;
        this.rules = rules;
    }

    /**
     * Makes a finished upload an {@link Upload}: promote its blob, compute what the record needs, and commit the
     * record with the state change. A partial upload only changes state: it waits for its concatenation.
     *
     * @param sha256 the digest of all its bytes, or null to recompute it from storage
     * @throws ResumableException {@link EmptyFile}, or the refusal of the finished file (the upload is gone)
     */
    Optional<Stored> finish(Resumable r, MessageDigest sha256) throws IOException, SQLException {
        core.forgetDigest(r.id());
        if (r.concat() == Resumable.Concat.PARTIAL) {
            core.update(r.with(Resumable.State.COMPLETED, r.expiresAt()));
            return Optional.empty();
        }
        if (r.length() == 0) {
            core.deleteQuietly(r.id());
            throw new ResumableException(new EmptyFile(r.filename()));
        }
        core.store.promote(r.id());
        core.reached(FinishStep.PROMOTED, r);
        Upload u;
        String pipeline;
        try {
            String contentType = rules.detect(core.head(r.id(), r.length()), r.filename());
            // The token's types, on the whole file (the first append judged only its first bytes, if any).
            rules.checkType(r.metadata(), contentType);
            String sha = sha256 != null ? HexFormat.of().formatHex(sha256.digest()) : core.rehash(r.id(), r.length());
            u = new Upload(r.id(), r.filename(), r.length(), sha, contentType,
                    core.clock.instant().truncatedTo(ChronoUnit.MILLIS), r.id(), r.client(),
                    TokenTypes.strip(r.metadata()), r.owner());
            // Like a refused type: the pipeline can only judge a file whose bytes are all there.
            pipeline = rules.plan(u, ResumableCore.pipeline(r.metadata()));
        } catch (ResumableException e) {
            core.deleteQuietly(r.id());
            throw e;
        }
        HookCalls.preFinish(core.uploads.hooks(), u, pipeline, () -> core.deleteQuietly(r.id()));
        core.reached(FinishStep.PLANNED, r);
        return commit(r, u, pipeline);
    }

    /**
     * The one transaction of a finish. The state change goes first and guards the rest: only the one finish that
     * moves the row to 'completed' writes the record and the job, so a repeated finish (recovery racing a PATCH on
     * another node) adds none.
     */
    private Optional<Stored> commit(Resumable r, Upload u, String pipeline) throws SQLException {
        Resumable done = r.with(Resumable.State.COMPLETED, null);
        Optional<Stored> stored = core.db.write(tx -> {
            if (!core.repository.complete(tx, done)) {
                return Optional.<Stored>empty();
            }
            core.uploads.repository().insert(tx, u);
            return Optional.of(new Stored(u, pipeline == null ? null
                    : core.uploads.processing().enqueue(tx, u, pipeline)));
        });
        if (stored.isEmpty()) {
            log.info("upload {} was finished by another request meanwhile", r.id());
            return core.uploads.repository().find(r.id()).map(found -> new Stored(found, null));
        }
        core.reached(FinishStep.COMMITTED, r);
        core.uploads.counted(u);
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
     * @throws ResumableException the refusal of the finished file (the upload is gone)
     */
    Optional<Stored> resume(Resumable r, boolean probeStorage) throws IOException, SQLException {
        if (r.state() != Resumable.State.FINISHING) {
            if (!probeStorage || r.state() != Resumable.State.ACTIVE || r.concat() != Resumable.Concat.NONE
                    || r.lengthDeferred() || r.offset() == r.length() || core.blobs.size(r.id()) != r.length()
                    || core.store.resumableLength(r.id()) >= 0) {
                return Optional.empty();
            }
        }
        Resumable done = r.withOffset(r.length());
        log.info("completing upload {} whose finish was interrupted", r.id());
        return finish(done, null);
    }

    /**
     * The resumable blob is gone while the row says unfinished below its length: an older version's completion was
     * interrupted between the promotion of the blob and the database commit (this version records the final offset
     * first, see {@link FinishStep}). Finish it now; the client's offset is then stale.
     *
     * @return the failure to answer the append with: its offset is stale
     */
    ResumableException recoverMissingBlob(Resumable r, NoSuchFileException e) throws IOException, SQLException {
        if (!r.lengthDeferred() && core.blobs.size(r.id()) == r.length()) {
            log.info("completing upload {} whose completion was interrupted", r.id());
            Resumable done = r.withOffset(r.length());
            finish(done, null);
            return new ResumableException(new OffsetMismatch(done.offset()));
        }
        throw new IOException("the bytes of upload " + r.id() + " are missing", e);
    }

    /**
     * Completes every finish a crash interrupted (see {@link #resume}), so that a finished upload is listed
     * without waiting for its client: at start-up, before the server listens, and with the periodic sweep (for a
     * node that crashed and stays down while others share its database). An upload another request holds is left
     * to that request.
     *
     * @return how many were completed; failures are logged (a start-up must not fail for them: the next
     *         {@code HEAD}, {@code PATCH} or sweep tries again)
     */
    int recoverInterrupted() {
        List<Resumable> pending;
        try {
            pending = core.repository.finishing(RECOVERY_BATCH);
        } catch (SQLException e) {
            log.warn("could not look for uploads whose finish was interrupted: {}", e.toString());
            return 0;
        }
        int recovered = 0;
        for (Resumable r : pending) {
            Optional<UploadLocks.Lock> lock = core.locks.tryAcquire(r.id());
            if (lock.isEmpty()) {
                continue;
            }
            try (UploadLocks.Lock ignored = lock.get()) {
                Resumable fresh = core.repository.find(r.id()).orElse(null);
                if (fresh != null && resume(fresh, false).isPresent()) {
                    recovered++;
                }
            } catch (ResumableException refused) {
                log.info("the interrupted upload {} was refused when finished ({}) and removed", r.id(),
                        refused.failure());
            } catch (IOException | SQLException | RuntimeException e) {
                log.warn("could not complete the interrupted finish of upload {}: {}", r.id(), e.toString());
            }
        }
        if (recovered > 0) {
            log.info("Completed {} upload(s) whose finish a crash had interrupted", recovered);
        }
        return recovered;
    }
}
