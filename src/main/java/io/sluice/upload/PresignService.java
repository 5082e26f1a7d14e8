package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Principal;
import io.sluice.db.Database;
import io.sluice.hooks.Allowed;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.BlobStore;
import io.sluice.storage.DiskLedger;
import io.sluice.storage.Presigner;
import io.sluice.util.DerivedKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Presigned direct uploads: a client asks for a URL ({@link #presign}), sends the bytes there, and the upload is
 * recorded with its job exactly like a direct upload (same id rules, sha256, type rules, pipeline precheck, one
 * transaction for record and job).
 *
 * <ul>
 *   <li>When the store has a {@link Presigner} (S3), the URL is the store's own; the bytes never pass through Sluice,
 *       and the upload is recorded by {@link #complete} (called by the client, or by a storage event).</li>
 *   <li>Otherwise the URL is {@code PUT /api/v1/presigned/{id}?expires=&signature=} on Sluice itself, signed with
 *       HMAC-SHA256 over method, id, size, content type and expiry; that PUT streams through the direct-upload
 *       path and records the upload itself ({@link #receive}).</li>
 * </ul>
 *
 * <p>Guarantees: a row's blob is only touched under the row's lock, which works across processes, so two PUTs, a
 * PUT and a completion, or a completion and the sweeper never race; completion is idempotent (a repeat returns
 * the same upload and job, never a second job); a refused upload leaves no blob, no upload record and no job (the
 * presigned row stays pending until it expires, so the client may try again).
 */
public final class PresignService {

    private static final Logger log = LoggerFactory.getLogger(PresignService.class);
    /** How long a PUT or completion holds a row; only a crashed holder's lock ever runs out. */
    static final Duration LOCK_LEASE = Duration.ofHours(1);
    /** Completed rows answer repeated completions this long; the upload record itself stays. */
    public static final Duration COMPLETED_RETENTION = Duration.ofDays(7);
    public static final String PUT_PATH = "/api/v1/presigned/";
    private static final int SWEEP_BATCH = 200;
    /**
     * The HKDF label of the URL-signing key. A new version invalidates every URL signed with the old key (they last
     * at most {@code presign.expiry}).
     */
    static final String KEY_INFO = "sluice presign v1";

    private final ComposedStore store;
    private final Database db;
    private final UploadService uploads;
    private final PresignedUploads repository;
    /** The HMAC key of Sluice-signed URLs, derived from {@code presign.secret} for this purpose only. */
    private final byte[] key;
    private final Duration expiry;
    private final Clock clock;
    private final Function<String, Optional<String>> jobState;

    /** What the client asks for. */
    public record Request(String filename, Long size, String contentType, String pipeline) {
    }

    /** What the client must send, and where. */
    public record Presigned(String uploadId, URI url, String method, Map<String, String> headers,
                            Instant expiresAt) {
    }

    /**
     * @param secret   {@code presign.secret}; Sluice-signed URLs are signed with a key derived from it
     * @param expiry   how long a URL is valid
     * @param jobState a job's current state by id, for the answer to a repeated completion
     */
    public PresignService(ComposedStore store, Database db, UploadService uploads, String secret, Duration expiry,
                          Clock clock, Function<String, Optional<String>> jobState) {
        this.store = Objects.requireNonNull(store, "store");
        this.db = Objects.requireNonNull(db, "db");
        this.uploads = Objects.requireNonNull(uploads, "uploads");
        this.repository = new PresignedUploads(db);
        this.key = DerivedKeys.derive(secret, KEY_INFO);
        this.expiry = Objects.requireNonNull(expiry, "expiry");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.jobState = Objects.requireNonNull(jobState, "jobState");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Presign.

    /**
     * Checks the declaration and returns where to send the bytes.
     *
     * @param base the scheme and authority Sluice is reached at, for a Sluice-signed URL
     * @throws ApiException 400 {@code invalid_filename} / {@code invalid_size} / {@code invalid_content_type} /
     *                      {@code unknown_pipeline}; 413 {@code file_too_large}; 415 {@code type_not_allowed}
     */
    public Presigned presign(Request r, URI base, String client, String address, Principal caller)
            throws IOException, SQLException {
        String filename = uploads.sanitize(r.filename());
        if (r.size() == null || r.size() < 1) {
            throw ErrorCode.INVALID_SIZE.error("size must be the file's length in bytes, >= 1");
        }
        long max = caller.maxFileSize(uploads.limits().maxFileSize());
        if (r.size() > max) {
            throw FileSink.fileTooLarge(max);
        }
        // The declared size is exact, so the quota is checked here, once, like a tus creation with its length.
        uploads.usage().remaining(caller.owner(), caller.quotaBytes(), r.size());
        String contentType = uploads.types().declared(r.contentType());
        // The declared type is what completion checks the bytes against, so a token's types are checked on it.
        TokenLimits.checkType(caller, contentType);
        String pipeline = caller.pipeline(r.pipeline() == null || r.pipeline().isBlank() ? null : r.pipeline().strip());
        uploads.processing().checkName(pipeline);
        Allowed hook = HookCalls.preCreate(uploads.hooks(), filename, r.size(), contentType, Map.of(),
                pipeline, caller.owner(), client, address);
        uploads.tokenLimits().count(caller, 1);
        Instant now = now();
        Instant expiresAt = now.plus(expiry).truncatedTo(ChronoUnit.SECONDS);
        String id = uploads.newId();
        Presigned answer;
        PresignedUpload.Storage storage;
        if (store.hasPresigner()) {
            Presigner presigner = store.presigner().orElseThrow();
            storage = PresignedUpload.Storage.PRESIGNER;
            Presigner.PresignedRequest p = presigner.presignPut(id, r.size(), contentType,
                    Duration.between(now, expiresAt));
            answer = new Presigned(id, p.url(), p.method(), p.headers(), p.expiresAt());
            expiresAt = p.expiresAt();
        } else {
            storage = PresignedUpload.Storage.LOCAL;
            long expires = expiresAt.getEpochSecond();
            URI url = URI.create(base.getScheme() + "://" + base.getRawAuthority() + PUT_PATH + id + "?expires="
                    + expires + "&signature=" + sign("PUT", id, r.size(), contentType, expires));
            answer = new Presigned(id, url, "PUT", Map.of("Content-Type", contentType), expiresAt);
        }
        // As a PUT's: the token's claim (the request itself has no metadata), the hook's keys merged over it.
        Map<String, String> metadata = hook.metadata(caller.metadata(Map.of()));
        repository.insert(new PresignedUpload(id, hook.filename(filename), r.size(), contentType,
                hook.pipeline(pipeline), storage,
                PresignedUpload.State.PENDING, client, null, null, null, expiresAt, now, null, caller.owner(),
                metadata));
        return answer;
    }

    /** HMAC-SHA256, hex, over the parts a URL must not be able to change. */
    String sign(String method, String id, long size, String contentType, long expires) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            String canonical = method + "\n" + id + "\n" + size + "\n" + contentType + "\n" + expires;
            return HexFormat.of().formatHex(mac.doFinal(canonical.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The Sluice-signed PUT.

    /**
     * Checks a Sluice-signed URL: expiry first (an expired URL is refused whatever else it says, also once its
     * upload was swept), then the signature (a changed id, expiry or signature is {@code presign_invalid}), then
     * that the upload still waits for its bytes.
     *
     * @throws ApiException 403 {@code presign_expired} / {@code presign_invalid}; 409 {@code already_completed}
     */
    public PresignedUpload authorize(String id, String expires, String signature) throws SQLException {
        long expiresAt;
        try {
            expiresAt = Long.parseLong(expires == null ? "" : expires);
        } catch (NumberFormatException e) {
            throw invalid();
        }
        if (expiresAt <= now().getEpochSecond()) {
            Instant at = Instant.ofEpochSecond(expiresAt);
            throw ErrorCode.PRESIGN_EXPIRED.error("the presigned URL expired at " + at,
                    Map.of("expiresAt", at.toString()));
        }
        PresignedUpload row = IdGenerator.looksLikeId(id) ? repository.find(id).orElse(null) : null;
        if (row == null || signature == null || row.storage() != PresignedUpload.Storage.LOCAL
                || expiresAt != row.expiresAt().getEpochSecond()) {
            throw invalid();
        }
        byte[] expected = sign("PUT", row.id(), row.size(), row.contentType(), expiresAt)
                .getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, signature.toLowerCase(Locale.ROOT)
                .getBytes(StandardCharsets.US_ASCII))) {
            throw invalid();
        }
        if (row.state() == PresignedUpload.State.COMPLETED) {
            throw ErrorCode.ALREADY_COMPLETED.error("upload " + id + " was already completed",
                    Map.of("uploadId", id));
        }
        return row;
    }

    private static ApiException invalid() {
        return ErrorCode.PRESIGN_INVALID.error("the presigned URL is not valid (its id, expiry or "
                + "signature was changed)");
    }

    /** Reads the request body into {@code sink}; returns how many bytes arrived. */
    @FunctionalInterface
    public interface Body {
        long readInto(FileSink sink) throws IOException;
    }

    /**
     * Stores the body of an {@link #authorize authorized} PUT under the row's id and records it: exactly
     * {@code size} bytes, of the declared type.
     *
     * @param body reads at most {@code size} bytes, failing with 413 {@code size_mismatch} beyond them
     * @throws ApiException 400 {@code size_mismatch}; 415 {@code type_mismatch} / {@code type_not_allowed};
     *                      423 {@code upload_locked} while another request works on it; the pipeline's refusals
     */
    public Stored receive(PresignedUpload row, String client, ByteBuffer buffer, ByteBuffer second,
                          DiskLedger.Reservation disk, Body body) throws IOException, SQLException {
        String owner = lock(row.id());
        try (FileSink sink = uploads.openAs(row.id(), row.filename(), buffer, second, disk)) {
            long received = body.readInto(sink);
            if (received != row.size()) {
                throw sizeMismatch(received, row.size());
            }
            sink.finish();
            requireConforms(sink.contentType(), row);
            HookCalls.preFinish(uploads.hooks(), List.of(sink), row.metadata(), row.pipeline(), row.owner(),
                    client);
            sink.writer().commit();
            Upload u = new Upload(row.id(), row.filename(), row.size(), sink.sha256Hex(), sink.contentType(),
                    now().truncatedTo(ChronoUnit.MILLIS), row.id(), client, row.metadata(), row.owner());
            return record(row, u, owner);
        } finally {
            repository.unlock(row.id(), owner);
        }
    }

    static ApiException sizeMismatch(long received, long declared) {
        return ErrorCode.SIZE_MISMATCH.error(received > declared ? 413 : 400, "the body has "
                + (received > declared ? "more than " + declared : received) + " bytes; " + declared
                + " were declared", Map.of("declaredSize", declared));
    }

    private void requireConforms(String detected, PresignedUpload row) {
        if (!uploads.types().conforms(detected, row.contentType())) {
            throw ErrorCode.TYPE_MISMATCH.error("the content is " + detected + ", not the declared "
                    + row.contentType(), Map.of("detectedType", detected, "declaredType", row.contentType()));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Completion (client call or storage event).

    /** The outcome of a completion: the upload with its job, and whether this call recorded it. */
    public record Completion(Stored stored, boolean recordedNow) {
    }

    /**
     * Records the upload whose bytes are in the store: checks the blob's size and type, records the upload and
     * enqueues its job in one transaction. A completed upload returns its record and job again.
     *
     * @throws ApiException 404 {@code not_found}; 410 {@code upload_expired}; 409 {@code not_uploaded} (no bytes
     *                      yet); 423 {@code upload_locked} (a PUT or another completion is under way); 400/413
     *                      {@code size_mismatch} and 415 {@code type_mismatch} / {@code type_not_allowed} (the
     *                      object is deleted, the upload stays pending)
     */
    public Completion complete(String id, Principal caller) throws IOException, SQLException {
        PresignedUpload row = require(id);
        if (!caller.canSee(row.owner())) {
            throw ApiException.notFound("presigned upload " + id);
        }
        if (row.state() == PresignedUpload.State.COMPLETED) {
            return new Completion(completed(row), false);
        }
        if (row.isExpired(now())) {
            throw ErrorCode.UPLOAD_EXPIRED.error("presigned upload " + id + " expired at "
                    + row.expiresAt());
        }
        if (store.blobs().size(id) < 0) {
            throw notUploaded(id);
        }
        String owner;
        try {
            owner = lock(id);
        } catch (ApiException locked) {
            // Completed meanwhile by another call: the same answer as a repeat.
            PresignedUpload now = require(id);
            if (now.state() == PresignedUpload.State.COMPLETED) {
                return new Completion(completed(now), false);
            }
            throw locked;
        }
        try {
            long size = store.blobs().size(id);
            if (size < 0) {
                throw notUploaded(id);
            }
            Upload u;
            try {
                if (size != row.size()) {
                    throw sizeMismatch(size, row.size());
                }
                String detected = uploads.types().detect(head(id, size), row.filename());
                requireConforms(detected, row);
                u = new Upload(id, row.filename(), size, sha256(id, size), detected,
                        now().truncatedTo(ChronoUnit.MILLIS), id, row.client(), row.metadata(), row.owner());
            } catch (ApiException e) {
                deleteBlobQuietly(id);
                throw e;
            }
            HookCalls.preFinish(uploads.hooks(), u, row.pipeline(), () -> deleteBlobQuietly(id));
            return new Completion(record(row, u, owner), true);
        } finally {
            repository.unlock(id, owner);
        }
    }

    private static ApiException notUploaded(String id) {
        return ErrorCode.NOT_UPLOADED.error("the bytes of upload " + id + " have not arrived yet",
                Map.of("uploadId", id));
    }

    private PresignedUpload require(String id) throws SQLException {
        return (IdGenerator.looksLikeId(id) ? repository.find(id) : Optional.<PresignedUpload>empty())
                .orElseThrow(() -> ApiException.notFound("presigned upload " + id));
    }

    /** A completed row's upload and job; 404 when the upload was deleted since. */
    private Stored completed(PresignedUpload row) throws SQLException {
        Upload u = uploads.find(row.id()).orElseThrow(() -> ApiException.notFound("upload " + row.id()));
        QueuedJob job = row.jobId() == null ? null
                : QueuedJob.of(row.jobId(), jobState.apply(row.jobId()).orElse("pruned"));
        return new Stored(u, job);
    }

    /** Whether {@code id} is a presigned upload (pending or completed). */
    public boolean exists(String id) throws SQLException {
        return IdGenerator.looksLikeId(id) && repository.find(id).isPresent();
    }

    /**
     * Plans the pipeline (its precheck sees the stored bytes), then in one transaction: the upload record, its job,
     * and the row completed (fenced by {@code owner}'s lock). A refusal deletes the blob.
     */
    private Stored record(PresignedUpload row, Upload u, String owner) throws IOException, SQLException {
        String pipeline;
        try {
            pipeline = uploads.processing().plan(u, row.pipeline());
        } catch (IOException | RuntimeException e) {
            deleteBlobQuietly(u.id());
            throw e;
        }
        QueuedJob job;
        try {
            job = db.write(tx -> {
                uploads.repository().insert(tx, u);
                QueuedJob j = pipeline == null ? null : uploads.processing().enqueue(tx, u, pipeline);
                if (!repository.complete(tx, row.id(), owner, j == null ? null : j.id(), now())) {
                    throw new LockLost(row.id());
                }
                return j;
            });
        } catch (LockLost e) {
            // Our lock ran out and another request took the row (and the key): roll back, leave its blob alone.
            throw ErrorCode.UPLOAD_LOCKED.error("upload " + row.id() + " is being completed by another "
                    + "request");
        } catch (SQLException | RuntimeException e) {
            deleteBlobQuietly(u.id());
            throw e;
        }
        uploads.counted(u);
        return new Stored(u, job);
    }

    /** Thrown inside the recording transaction to roll it back when the row's lock was lost. */
    private static final class LockLost extends RuntimeException {
        LockLost(String id) {
            super("lost the lock of presigned upload " + id, null, false, false);
        }
    }

    private String lock(String id) throws SQLException {
        String owner = "p-" + ProcessHandle.current().pid() + "-" + Long.toHexString(ThreadLocalRandom.current()
                .nextLong());
        Instant now = now();
        if (!repository.tryLock(id, owner, now, now.plus(LOCK_LEASE))) {
            PresignedUpload row = repository.find(id).orElseThrow(() -> ApiException.notFound("upload " + id));
            if (row.state() == PresignedUpload.State.COMPLETED) {
                throw ErrorCode.ALREADY_COMPLETED.error("upload " + id + " was already completed",
                        Map.of("uploadId", id));
            }
            throw ErrorCode.UPLOAD_LOCKED.error("another request is sending or completing upload " + id);
        }
        return owner;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Expiry.

    /**
     * Removes pending uploads whose URL expired, with any bytes that arrived (an S3 PUT never completed), and
     * completed rows past {@link #COMPLETED_RETENTION}. A row being sent or completed is skipped this round.
     */
    public int sweepExpired() throws SQLException {
        int swept = 0;
        for (PresignedUpload row : repository.expired(now(), SWEEP_BATCH)) {
            String owner = "sweep-" + ProcessHandle.current().pid();
            Instant now = now();
            if (!repository.tryLock(row.id(), owner, now, now.plus(LOCK_LEASE))) {
                continue;
            }
            deleteBlobQuietly(row.id());
            if (repository.deleteLocked(row.id(), owner)) {
                swept++;
            }
        }
        repository.pruneCompleted(now().minus(COMPLETED_RETENTION));
        if (swept > 0) {
            log.info("Swept {} expired presigned upload(s)", swept);
        }
        return swept;
    }

    // ---------------------------------------------------------------------------------------------------------

    private ByteBuffer head(String key, long length) throws IOException {
        return BlobReads.head(store.blobs(), key, length);
    }

    private String sha256(String key, long length) throws IOException {
        return BlobReads.sha256(store.blobs(), key, length);
    }

    private void deleteBlobQuietly(String id) {
        try {
            store.blobs().delete(id);
        } catch (IOException | RuntimeException e) {
            log.warn("could not remove the bytes of presigned upload {} (orphaned): {}", id, e.toString());
        }
    }

    private Instant now() {
        return clock.instant();
    }
}
