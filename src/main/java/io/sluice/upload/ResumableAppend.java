package io.sluice.upload;

import io.sluice.storage.DiskLedger;
import io.sluice.storage.ResumableWriter;
import io.sluice.upload.ResumableFailure.BeyondLength;
import io.sluice.upload.ResumableFailure.ChecksumMismatch;
import io.sluice.upload.ResumableFailure.FinalImmutable;
import io.sluice.upload.ResumableFailure.InconsistentLength;
import io.sluice.upload.ResumableFailure.LengthAlreadySet;
import io.sluice.upload.ResumableFailure.LengthBelowOffset;
import io.sluice.upload.ResumableFailure.OffsetMismatch;
import io.sluice.upload.ResumableService.Append;
import io.sluice.upload.ResumableService.Body;
import io.sluice.upload.ResumableService.Completion;
import io.sluice.upload.ResumableService.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.util.Optional;

/**
 * One append to a resumable upload, under its lock: the offset check, the early type check, the write with its
 * checkpoints, and, when the append reaches the end, the first durable steps of the finish ({@link FinishStep}
 * {@code WRITTEN} to {@code RECORDED}) before {@link ResumableFinish} takes over.
 */
final class ResumableAppend {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);

    private final ResumableCore core;
    private final FileRules rules;
    private final ResumableFinish finish;

    ResumableAppend(ResumableCore core, FileRules rules, ResumableFinish finish) {
        this.core = core;
        this.rules = rules;
        this.finish = finish;
    }

    Outcome append(Append a, Body body, ByteBuffer buffer, ByteBuffer second, DiskLedger.Reservation disk,
                   Runnable onReleaseRequested) throws IOException, SQLException, InterruptedException {
        try (UploadLocks.Lock ignored = core.lock(a.id(), onReleaseRequested)) {
            Resumable r = core.require(a.id());
            if (r.concat() == Resumable.Concat.FINAL) {
                throw new ResumableException(new FinalImmutable());
            }
            // Not probing storage: a PATCH learns of an older version's promoted blob from openAppend
            // (recoverMissingBlob).
            Optional<Stored> resumed = finish.resume(r, false);
            if (resumed.isPresent()) {
                r = core.require(a.id());
            }
            if (a.expectedOffset() != r.offset()) {
                throw new ResumableException(new OffsetMismatch(r.offset()));
            }
            r = applyNewLength(r, a.newLength(), a.maxSize());
            if (r.isComplete()) {
                // Nothing to add; an empty append at the end is a harmless repeat of the final one.
                long extra = body.read(0, bytes -> {
                });
                if (extra > 0) {
                    throw new ResumableException(new BeyondLength(r.length()));
                }
                // An empty final append completes an upload whose finish a crash interrupted: its answer carries the
                // record and the job it got now, as the lost answer to the original final append would have.
                return new Outcome(r, resumed);
            }
            core.appends.increment();
            HeadCheck head = new HeadCheck(r);
            try {
                return appendLocked(r, a, body, buffer, second, disk, head);
            } catch (ResumableException e) {
                if (head.refused(e)) {
                    // Refused for good: no later append could change the first bytes, so nothing is kept to resume.
                    // The writer is closed by now (appendLocked's resources), the lock is still ours.
                    log.info("upload {} refused at offset {} for its type ({}); removed", r.id(), r.offset(),
                            e.failure());
                    core.deleteQuietly(r.id());
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
        private ResumableException refusal;

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
                String type = rules.detect(head.flip(), r.filename());
                rules.checkType(r.metadata(), type);
            } catch (ResumableException e) {
                refusal = e;
                throw e;
            } finally {
                head = null;
            }
        }

        /** The bytes below {@code offset} that earlier appends stored (all durable: the offset is recorded). */
        private void readStored(ByteBuffer into, long offset) throws IOException {
            ByteBuffer part = into.duplicate().limit((int) offset);
            try (ReadableByteChannel ch = core.store.openResumable(r.id(), 0, offset)) {
                while (part.hasRemaining() && ch.read(part) >= 0) {
                    // fill
                }
            }
            if (part.hasRemaining()) {
                throw new IOException("upload " + r.id() + " holds fewer than its " + offset + " recorded bytes");
            }
            into.position((int) offset);
        }

        boolean refused(ResumableException e) {
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
        MessageDigest sha256 = r.concat() == Resumable.Concat.PARTIAL ? null : core.takeDigest(r.id(), start);
        ResumableWriter writer;
        try {
            writer = core.store.openAppend(r.id(), start);
        } catch (NoSuchFileException e) {
            throw finish.recoverMissingBlob(r, e);
        }
        AppendCheckpoints checkpoints = new AppendCheckpoints(core, r, writer, a.checksum() == null);
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
                    received = body.read(room, pipeline::write);
                } catch (IOException | RuntimeException e) {
                    // The network failed us (disconnect, too slow, a newer request took over): what arrived is a
                    // valid prefix and is kept, unless the append carried a checksum that can no longer be
                    // verified.
                    if (body.interrupted(e) && checksum == null) {
                        pipeline.finish();
                        checkpoints.await();
                        saveProgress(r, start + pipeline.accepted(), writer, sha256, checkpoints);
                    }
                    throw e;
                }
                pipeline.finish();
                checkpoints.await();
                if (checksum != null && !MessageDigest.isEqual(checksum.digest(), a.checksum().expected())) {
                    throw new ResumableException(new ChecksumMismatch(a.checksum().algorithm(), start));
                }
                end = start + received;
                if (a.completion() == Completion.NOW) {
                    if (r.lengthDeferred()) {
                        r = r.withLength(end);
                    } else if (end != r.length()) {
                        throw new ResumableException(new InconsistentLength(r.length(), end));
                    }
                }
                // NOT_YET means more follow even at the declared length: the IETF draft completes an upload only
                // when the client says so (the offset may equal the length while the upload is still incomplete).
                finishing = !r.lengthDeferred() && end == r.length() && a.completion() != Completion.NOT_YET;
                promotes = finishing && r.concat() != Resumable.Concat.PARTIAL && r.length() > 0;
                if (promotes) {
                    core.reached(FinishStep.WRITTEN, r);
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
                return finishing(r, end, received, promotes, sha256);
            }
            return committed(r, end, received, writer, sha256);
        }
    }

    /**
     * The append reached the end: the last durable steps of the append ({@link FinishStep#SYNCED},
     * {@link FinishStep#RECORDED}), then the finish.
     */
    private Outcome finishing(Resumable r, long end, long received, boolean promotes, MessageDigest sha256)
            throws IOException, SQLException {
        Resumable last = r.withOffset(end);
        if (promotes) {
            core.reached(FinishStep.SYNCED, r);
            // Offset = length (and the length, if this request declared it) is committed before the blob moves:
            // from here on every byte is counted, and a crash at any later step leaves an upload that recovery
            // finishes (ResumableFinish.resume) instead of one whose bytes HEAD no longer counts. Its own state,
            // not offset = length: an IETF upload may sit at its length unfinished (?0).
            Resumable pending = last.with(Resumable.State.FINISHING, null);
            core.update(pending);
            last = pending;
            core.reached(FinishStep.RECORDED, r);
        }
        Optional<Stored> upload = finish.finish(last, sha256);
        core.appendedBytes.increment(received);
        return new Outcome(r.withOffset(end).with(Resumable.State.COMPLETED,
                r.concat() == Resumable.Concat.PARTIAL ? r.expiresAt() : null), upload);
    }

    /** An append that did not end the upload: its bytes are durable, now its offset is recorded. */
    private Outcome committed(Resumable r, long end, long received, ResumableWriter writer, MessageDigest sha256)
            throws SQLException {
        Resumable saved = core.record(r.withOffset(end));
        writer.acknowledged(end);
        if (sha256 != null) {
            core.putDigest(r.id(), end, sha256);
        }
        core.appendedBytes.increment(received);
        return new Outcome(saved);
    }

    private void saveProgress(Resumable r, long end, ResumableWriter writer, MessageDigest sha256,
                              AppendCheckpoints checkpoints) {
        try {
            writer.sync();
            core.record(r.withOffset(end));
            checkpoints.recorded(end);
            writer.acknowledged(end);
            if (sha256 != null) {
                core.putDigest(r.id(), end, sha256);
            }
            core.appendedBytes.increment(end - r.offset());
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

    private static Resumable applyNewLength(Resumable r, long newLength, long maxSize) {
        if (newLength == Resumable.DEFERRED || newLength == r.length()) {
            return r;
        }
        if (!r.lengthDeferred()) {
            throw new ResumableException(new LengthAlreadySet(r.length(), newLength));
        }
        ResumableCore.checkLength(newLength, maxSize);
        if (newLength < r.offset()) {
            throw new ResumableException(new LengthBelowOffset(newLength, r.offset()));
        }
        // Recorded with the append's new offset (or its completion), not before: an append refused for its body
        // (too long, checksum mismatch) must not leave its declaration behind, or the client's corrected retry
        // would meet LengthAlreadySet.
        return r.withLength(newLength);
    }
}
