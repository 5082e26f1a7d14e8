package io.sluice.upload;

import io.sluice.storage.Assembler;
import io.sluice.storage.DiskLedger;
import io.sluice.upload.ResumableFailure.NoPartials;
import io.sluice.upload.ResumableFailure.NotPartial;
import io.sluice.upload.ResumableFailure.RepeatedPartial;
import io.sluice.upload.ResumableFailure.UnfinishedPartial;
import io.sluice.upload.ResumableFailure.UnknownPartial;
import io.sluice.upload.ResumableService.Concatenation;
import io.sluice.upload.ResumableService.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/**
 * Builds a final upload from finished partial uploads, in order, through the direct-upload path (hash and type on
 * the way), or inside the storage when it is an {@link Assembler}; the partials are consumed (removed) when it
 * commits.
 */
final class ResumableConcat {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);

    private final ResumableCore core;
    private final FileRules rules;

    ResumableConcat(ResumableCore core, FileRules rules) {
        this.core = core;
        this.rules = rules;
    }

    Outcome concatenate(Concatenation c, ByteBuffer buffer, ByteBuffer second, DiskLedger.Reservation disk)
            throws IOException, SQLException, InterruptedException {
        List<String> partialIds = c.partialIds();
        if (partialIds.isEmpty()) {
            throw new ResumableException(new NoPartials());
        }
        core.uploads.processing().checkName(ResumableCore.pipeline(c.metadata()));
        if (new HashSet<>(partialIds).size() != partialIds.size()) {
            throw new ResumableException(new RepeatedPartial());
        }
        List<UploadLocks.Lock> held = new ArrayList<>();
        try {
            // Sorted, so that two concatenations over the same partials cannot deadlock.
            for (String id : partialIds.stream().sorted(Comparator.naturalOrder()).toList()) {
                held.add(core.lock(id, () -> {
                }));
            }
            List<Resumable> parts = new ArrayList<>();
            long total = 0;
            for (String id : partialIds) {
                Resumable p = core.find(id).orElse(null);
                if (p == null || core.isExpired(p)) {
                    throw new ResumableException(new UnknownPartial(id));
                }
                if (p.concat() != Resumable.Concat.PARTIAL) {
                    throw new ResumableException(new NotPartial(id));
                }
                if (!p.isComplete()) {
                    throw new ResumableException(new UnfinishedPartial(id, p.offset(), p.length()));
                }
                total += p.length();
                parts.add(p);
            }
            ResumableCore.checkLength(total, c.maxSize());
            Instant now = core.now();
            if (core.stores.hasAssembler()) {
                return assembled(core.stores.assembler().orElseThrow(), parts, total, c, now);
            }
            return copied(parts, c, now, buffer, second, disk);
        } finally {
            held.forEach(UploadLocks.Lock::close);
        }
    }

    /** The bytes of the partials, read back and written as one direct upload. */
    private Outcome copied(List<Resumable> parts, Concatenation c, Instant now, ByteBuffer buffer, ByteBuffer second,
                           DiskLedger.Reservation disk) throws IOException, SQLException {
        List<Stored> done;
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        try (FileSink sink = core.uploads.open(c.filename(), buffer, second, c.maxSize(), disk)) {
            for (Resumable p : parts) {
                try (ReadableByteChannel ch = core.store.openResumable(p.id(), 0, p.length())) {
                    while (ch.read(chunk.clear()) >= 0) {
                        sink.write(chunk.flip());
                    }
                }
            }
            sink.finish(); // detects its type
            rules.checkType(c.metadata(), sink.contentType());
            done = core.uploads.commit(List.of(sink), TokenTypes.strip(c.metadata()), c.client(), c.owner(),
                    ResumableCore.pipeline(c.metadata()), (tx, list) -> {
                        Upload u = list.getFirst();
                        core.repository.insert(tx, finalUpload(u.id(), u.size(), u.filename(), c, now));
                        for (Resumable p : parts) {
                            core.repository.delete(tx, p.id());
                        }
                    });
        }
        for (Resumable p : parts) {
            core.deleteBlobQuietly(p.id());
        }
        Upload u = done.getFirst().upload();
        return new Outcome(finalUpload(u.id(), u.size(), u.filename(), c, now), Optional.of(done.getFirst()));
    }

    /**
     * Concatenation inside the storage ({@link Assembler}: S3's server-side part copy): the final blob is built
     * without its bytes passing through here, then read once, streamed, for its sha256 and type. Same outcome and
     * same single transaction as the byte copy; a refusal (type, pipeline) or failure deletes the final blob and
     * leaves the partials as they were (possibly promoted, which a later attempt and the sweep handle).
     */
    private Outcome assembled(Assembler assembler, List<Resumable> parts, long total, Concatenation c, Instant now)
            throws IOException, SQLException {
        String id = core.uploads.newId();
        List<String> partialIds = parts.stream().map(Resumable::id).toList();
        Upload u;
        QueuedJob job;
        try {
            assembler.assemble(id, partialIds);
            long size = core.blobs.size(id);
            if (size != total) {
                throw new IOException("assembled " + size + " bytes for upload " + id + ", expected " + total);
            }
            String contentType = rules.detect(core.head(id, total), c.filename());
            rules.checkType(c.metadata(), contentType);
            u = new Upload(id, c.filename(), total, core.rehash(id, total), contentType,
                    core.clock.instant().truncatedTo(ChronoUnit.MILLIS), id, c.client(), TokenTypes.strip(c.metadata()),
                    c.owner());
            String pipeline = rules.plan(u, ResumableCore.pipeline(c.metadata()));
            HookCalls.preFinish(core.uploads.hooks(), u, pipeline, () -> { });
            job = core.db.write(tx -> {
                core.uploads.repository().insert(tx, u);
                core.repository.insert(tx, finalUpload(id, total, c.filename(), c, now));
                for (Resumable p : parts) {
                    core.repository.delete(tx, p.id());
                }
                return pipeline == null ? null : core.uploads.processing().enqueue(tx, u, pipeline);
            });
        } catch (IOException | SQLException | RuntimeException e) {
            try {
                core.blobs.delete(id);
            } catch (IOException | RuntimeException de) {
                log.warn("could not remove assembled blob {} after a failed concatenation: {}", id, de.toString());
            }
            throw e;
        }
        for (Resumable p : parts) {
            core.deleteBlobQuietly(p.id());
        }
        core.uploads.counted(u);
        return new Outcome(finalUpload(id, total, c.filename(), c, now), Optional.of(new Stored(u, job)));
    }

    private static Resumable finalUpload(String id, long size, String filename, Concatenation c, Instant now) {
        return new Resumable(id, size, size, filename, c.metadata(), c.rawMetadata(), Resumable.Concat.FINAL,
                c.partialIds(), Resumable.State.COMPLETED, c.client(), null, now, c.owner());
    }
}
