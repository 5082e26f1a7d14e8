package io.sluice.upload;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.api.ApiException;
import io.sluice.config.LimitsConfig;
import io.sluice.db.Database;
import io.sluice.hooks.UploadHooks;
import io.sluice.storage.BlobStore;
import io.sluice.storage.DiskLedger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The upload use cases, independent of the protocol that carries the bytes: direct, presigned and resumable uploads
 * all stage and commit through here.
 *
 * <p>Contract: {@link #open} stages a file; {@link #commit} makes a set of staged files durable and recorded
 * together, or none of them. A {@link FileSink} that is closed without being committed leaves nothing behind.
 * Callers own admission: they hold a ticket whose buffer they pass to {@link #open}.
 */
public final class UploadService {

    private static final Logger log = LoggerFactory.getLogger(UploadService.class);

    private final BlobStore store;
    private final Database db;
    private final UploadRepository repository;
    private final IdGenerator ids;
    private final FilenamePolicy names;
    private final TypeDetector types;
    private final LimitsConfig limits;
    private final UploadProcessing processing;
    private final Clock clock;
    private final Counter stored;
    private final Usage usage;
    private final TokenLimits tokenLimits;
    private final Counter storedBytes;
    private final UploadHooks hooks;

    /** Without background jobs: nothing is enqueued, and a request naming a pipeline is refused. */
    public UploadService(BlobStore store, Database db, UploadRepository repository, IdGenerator ids,
                         FilenamePolicy names, TypeDetector types, LimitsConfig limits,
                         Clock clock, MeterRegistry metrics) {
        this(store, db, repository, ids, names, types, limits, UploadProcessing.NONE, clock, metrics);
    }

    /** @param processing chooses, prechecks and enqueues the job of each stored upload */
    public UploadService(BlobStore store, Database db, UploadRepository repository, IdGenerator ids,
                         FilenamePolicy names, TypeDetector types, LimitsConfig limits,
                         UploadProcessing processing, Clock clock, MeterRegistry metrics) {
        this(store, db, repository, ids, names, types, limits, processing, UploadHooks.NONE, clock, metrics);
    }

    /** @param hooks the application's preCreate / preFinish hooks, asked by every upload path */
    public UploadService(BlobStore store, Database db, UploadRepository repository, IdGenerator ids,
                         FilenamePolicy names, TypeDetector types, LimitsConfig limits,
                         UploadProcessing processing, UploadHooks hooks, Clock clock, MeterRegistry metrics) {
        this.hooks = hooks;
        this.store = store;
        this.db = db;
        this.repository = repository;
        this.ids = ids;
        this.names = names;
        this.types = types;
        this.limits = limits;
        this.processing = processing;
        this.clock = clock;
        this.usage = new Usage(db);
        this.tokenLimits = new TokenLimits(db, clock);
        this.stored = Counter.builder("sluice.uploads.stored").description("uploads committed").register(metrics);
        this.storedBytes = Counter.builder("sluice.uploads.stored.bytes").baseUnit("bytes")
                .description("bytes of committed uploads").register(metrics);
    }

    /** What API keys' quotas count. */
    public Usage usage() {
        return usage;
    }

    /** What upload tokens' {@code maxUploads} and {@code allowedTypes} claims check. */
    public TokenLimits tokenLimits() {
        return tokenLimits;
    }

    public LimitsConfig limits() {
        return limits;
    }

    /**
     * The display name a client-supplied filename becomes; refuses impossible names with 400
     * {@code invalid_filename}. Callers check this before admission, so a bad name never costs a slot.
     */
    public String sanitize(String rawFilename) {
        return names.sanitize(rawFilename);
    }

    /**
     * Stages one file named {@code filename} (a result of {@link #sanitize}), streaming through the two pooled
     * buffers of the caller's ticket (one fills while the other is hashed and written), every buffer covered by
     * the ticket's disk reservation before it is written.
     *
     * @param maxFileSize the caller's file size limit (an API key's own, or {@code limits.maxFileSize})
     * @param before      bytes earlier files of the same request wrote under {@code disk}
     */
    public FileSink open(String filename, ByteBuffer buffer, ByteBuffer second, long maxFileSize,
                         DiskLedger.Reservation disk, long before) throws IOException {
        String id = ids.next();
        return new FileSink(id, filename, store.create(id), buffer, second, maxFileSize, types, disk, before);
    }

    /** As {@link #open}, the only file of its request. */
    public FileSink open(String filename, ByteBuffer buffer, ByteBuffer second, long maxFileSize,
                         DiskLedger.Reservation disk) throws IOException {
        return open(filename, buffer, second, maxFileSize, disk, 0);
    }

    /** As {@link #open}, under an id chosen earlier (a presigned upload's). */
    FileSink openAs(String id, String filename, ByteBuffer buffer, ByteBuffer second, DiskLedger.Reservation disk)
            throws IOException {
        return new FileSink(id, filename, store.create(id), buffer, second, limits.maxFileSize(), types, disk, 0);
    }

    /** The application's hooks, for every upload path (see {@link HookCalls}). */
    public UploadHooks hooks() {
        return hooks;
    }

    /** The background jobs of stored uploads: pipeline choice, precheck, enqueue. */
    public UploadProcessing processing() {
        return processing;
    }

    /**
     * Makes every sink durable and records them in one transaction, with the job of each upload's default
     * pipeline. On any failure nothing stays visible: blobs already committed are deleted again.
     *
     * @param sinks finished sinks from {@link #open}, in request order
     */
    public List<Upload> commit(List<FileSink> sinks, Map<String, String> metadata, String client)
            throws IOException, SQLException {
        return uploadsOf(commit(sinks, metadata, client, null, null, (tx, uploads) -> {
        }));
    }

    /** Work that must commit, or roll back, together with the upload records. */
    @FunctionalInterface
    public interface AlsoInTransaction {
        void run(Connection tx, List<Upload> uploads) throws SQLException;
    }

    /** As {@link #commit(List, Map, String)}, running {@code also} inside the same transaction. */
    public List<Upload> commit(List<FileSink> sinks, Map<String, String> metadata, String client,
                               AlsoInTransaction also) throws IOException, SQLException {
        return uploadsOf(commit(sinks, metadata, client, null, null, also));
    }

    private static List<Upload> uploadsOf(List<Stored> stored) {
        return stored.stream().map(Stored::upload).toList();
    }

    /**
     * Makes every sink durable and records them in one transaction, together with {@code also} and the job of
     * each upload. Order: the pipeline name is checked; the application's preFinish hook is asked about each
     * staged file (a refusal leaves them staged, for the caller's sinks to remove); the blobs are committed; each upload's pipeline is chosen
     * and its precheck run on the committed bytes ({@link UploadProcessing#plan}); then one transaction records the
     * uploads, runs {@code also} and enqueues the jobs. A refusal at any step (an {@link ApiException}
     * such as 415 {@code pipeline_type_mismatch} or a precheck's 422) deletes the committed blobs again and records
     * nothing.
     *
     * @param owner    the API key the uploads belong to (null in open mode)
     * @param pipeline the pipeline the client named for every file, or null for each file's default
     */
    public List<Stored> commit(List<FileSink> sinks, Map<String, String> metadata, String client, String owner,
                               String pipeline, AlsoInTransaction also) throws IOException, SQLException {
        processing.checkName(pipeline);
        List<Upload> uploads = new ArrayList<>(sinks.size());
        for (FileSink sink : sinks) {
            sink.finish();
        }
        HookCalls.preFinish(hooks, sinks, metadata, pipeline, owner, client);
        List<String> committed = new ArrayList<>(sinks.size());
        List<Stored> results = new ArrayList<>(sinks.size());
        try {
            for (FileSink sink : sinks) {
                // Listed before commit(): a commit that fails after its rename (the directory fsync) has already
                // made the blob visible. Deleting a key that was never renamed is a harmless no-op.
                committed.add(sink.id());
                sink.writer().commit();
                uploads.add(new Upload(sink.id(), sink.filename(), sink.size(), sink.sha256Hex(),
                        sink.contentType(), clock.instant().truncatedTo(ChronoUnit.MILLIS), sink.id(), client,
                        sink.hooked().metadata(metadata), owner));
            }
            List<String> pipelines = new ArrayList<>(uploads.size());
            for (int i = 0; i < uploads.size(); i++) {
                pipelines.add(processing.plan(uploads.get(i), sinks.get(i).hooked().pipeline(pipeline)));
            }
            db.write(tx -> {
                for (Upload u : uploads) {
                    repository.insert(tx, u);
                }
                also.run(tx, uploads);
                for (int i = 0; i < uploads.size(); i++) {
                    Upload u = uploads.get(i);
                    String chosen = pipelines.get(i);
                    results.add(new Stored(u, chosen == null ? null : processing.enqueue(tx, u, chosen)));
                }
                return null;
            });
        } catch (IOException | SQLException | RuntimeException e) {
            for (String key : committed) {
                try {
                    store.delete(key);
                } catch (IOException | RuntimeException de) {
                    log.error("could not remove blob {} after a failed commit; it is orphaned", key, de);
                }
            }
            throw e;
        }
        for (Upload u : uploads) {
            counted(u);
        }
        return List.copyOf(results);
    }

    /** Records an upload that was committed by another path (a finished resumable upload). */
    void counted(Upload u) {
        stored.increment();
        storedBytes.increment(u.size());
    }

    UploadRepository repository() {
        return repository;
    }

    TypeDetector types() {
        return types;
    }

    /** A fresh id for an upload (resumable uploads get theirs at creation). */
    String newId() {
        return ids.next();
    }

    public Optional<Upload> find(String id) throws SQLException {
        return IdGenerator.looksLikeId(id) ? repository.find(id) : Optional.empty();
    }

    public List<Upload> list(String before, int limit) throws SQLException {
        return repository.listBefore(before, limit);
    }

    /** As {@link #list}, only the uploads of API key {@code owner}. */
    public List<Upload> listOwned(String owner, String before, int limit) throws SQLException {
        return repository.listOwnedBefore(owner, before, limit);
    }

    /** One page of a search of the uploads (see {@link UploadQuery}). */
    public List<Upload> search(UploadQuery query, int limit) throws SQLException {
        return repository.search(query, limit);
    }

    /** The latest job of each of these uploads that has one. */
    public Map<String, QueuedJob> latestJobs(List<String> uploadIds) throws SQLException {
        return repository.latestJobs(uploadIds);
    }

    /** Removes the record first (so the upload disappears at once), then its bytes. */
    public boolean delete(String id) throws SQLException, IOException {
        if (!IdGenerator.looksLikeId(id)) {
            return false;
        }
        Optional<Upload> removed = repository.delete(id);
        if (removed.isPresent()) {
            store.delete(removed.get().storageKey());
            return true;
        }
        return false;
    }

    public ReadableByteChannel openContent(Upload upload, long offset, long length) throws IOException {
        return store.openRange(upload.storageKey(), offset, length);
    }
}
