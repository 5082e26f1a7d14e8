package io.sluice.storage.s3;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.storage.Assembler;
import io.sluice.storage.ComposedStore;
import io.sluice.storage.ResumableStore;
import io.sluice.storage.ResumableWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;
import software.amazon.awssdk.services.s3.model.Part;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Resumable blobs in an S3 bucket: one multipart upload per blob, plus readable "chunk" objects for the bytes a
 * recorded offset may still point into. Any node (another instance over the same bucket, no shared memory) can
 * resume, promote or delete what this one started: the whole state is in the bucket.
 *
 * <p>Layout, for blob {@code key} with part size {@code P} (fixed per blob, from {@link S3Settings#partSize()} at
 * creation and stored with it):
 * <ul>
 *   <li>the multipart upload on {@code <prefix>blobs/<key>}, the committed blob's own object key, so completing it
 *       is the promotion. Part {@code n} always holds bytes {@code [(n-1)P, nP)}.</li>
 *   <li>{@code <prefix>resumable/<key>/info}: the upload id and {@code P} (small JSON, written once).</li>
 *   <li>{@code <prefix>resumable/<key>/chunk-<n>}: a plain object holding a prefix of part {@code n}'s bytes
 *       (tusd's incomplete-part object, but one per part number and not deleted when the part fills).</li>
 * </ul>
 *
 * <p>Writing: bytes go to a spool file (at most {@code P} bytes, in the data directory's {@code tmp}, removed on
 * close). {@link ResumableWriter#sync} PUTs the spool as the current chunk. When the spool reaches {@code P} bytes
 * the full chunk is PUT and copied server-side into part {@code n} ({@code UploadPartCopy}), so every byte crosses
 * the network from Sluice once.
 *
 * <p>Why nothing acknowledged can be lost (the crash contract). The caller records an offset {@code R} only after a
 * sync, and then opens the next writer at the recorded {@code R}, which may be smaller than what is stored. Parts of
 * an unfinished multipart upload cannot be read back, so rebuilding {@code [0, R)} needs: parts {@code 1..m-1}
 * (where part {@code m} contains byte {@code R}) complete and correct, and bytes {@code [(m-1)P, R)} readable.
 * <ol>
 *   <li>A chunk is only ever replaced (atomic PUT) by content whose prefix up to the recorded offset is the same:
 *       a writer opened at {@code R} starts its spool with the first {@code R-(m-1)P} bytes of chunk {@code m}, read
 *       back from that chunk (and cuts the chunk to them, as a file is truncated). So chunk {@code m} always holds
 *       at least the acknowledged bytes of part {@code m}.</li>
 *   <li>A chunk is deleted only when it cannot be needed: by {@link #openAppend} at {@code R} for every chunk except
 *       chunk {@code ceil(R/P)} (lower ones are fully acknowledged and already copied into their parts; higher ones
 *       hold only bytes beyond {@code R}, which do not count), and by {@link ResumableWriter#acknowledged} for
 *       chunks below {@code ceil(R/P)} of a newly recorded {@code R}. A chunk a recorded offset points into is
 *       therefore never deleted before a larger offset is recorded.</li>
 *   <li>A writer opened at {@code R} never touches a part below {@code m}, and every part {@code n < m} was copied
 *       from its full chunk before the sync that allowed {@code R >= nP} to be recorded. Parts at or above {@code m}
 *       left by a crashed writer are stale; they are overwritten by part number or left out of the completion.</li>
 *   <li>Because {@link #openAppend} removes every chunk above {@code ceil(R/P)}, the highest chunk is always the one
 *       the last writer wrote last: {@link #promote} derives the length from it and completes parts
 *       {@code 1..last}, copying the last chunk (of any size) as the last part.</li>
 * </ol>
 * Between a sync and the next recorded offset the acknowledged window holds each byte twice (chunk and part); the
 * caller's {@link ResumableWriter#acknowledged} trims it, so a long append keeps about one checkpoint's worth.
 *
 * <p>{@link #openAppend} verifies what it rebuilds from (the multipart upload is open, chunk {@code m} holds the
 * bytes below {@code R}); the parts below are verified by {@link #promote}, which refuses to complete a blob with a
 * missing or short part.
 *
 * <p>Limits: reading an unfinished blob ({@link #openResumable}) works only for the bytes still in chunks; whole
 * blobs are read after {@link #promote} (concatenation promotes its partials and {@link #assemble}s them). Blobs
 * have at most {@link S3Settings#MAX_PARTS} parts, so at most {@code P * 10,000} bytes.
 *
 * <p>Thread-safe; one writer per key at a time is the caller's duty.
 */
public final class S3ResumableStore implements ResumableStore, Assembler {

    private static final Logger log = LoggerFactory.getLogger(S3ResumableStore.class);
    /** Keys are generated by Sluice; anything else is refused so a key can never reach another object. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_-]{8,64}");
    private static final String CHUNK = "chunk-";
    /** Spool files of writers and assemblies; a crash leaves them, {@link #sweepSpools} removes them. */
    static final String SPOOL_SUFFIX = ".s3spool";
    private static final long MAX_COPY = S3Settings.MAX_PART_SIZE;

    private final S3Client s3;
    private final S3Settings settings;
    private final String bucket;
    private final Path spoolDir;
    private final ObjectMapper json = new ObjectMapper();

    /** What {@code resumable/<key>/info} holds: fixed at creation, so every node agrees on the part size. */
    record Info(String uploadId, long partSize) {
    }

    /**
     * @param s3       a client for the bucket (not closed by this store)
     * @param spoolDir local directory for writers' spool files (the data directory's {@code tmp})
     */
    /** Resumable blobs over {@code blobs}' client and settings, spooling beside its part files. */
    public static S3ResumableStore over(S3BlobStore blobs) throws IOException {
        return new S3ResumableStore(blobs.client(), blobs.settings(), blobs.spoolDirectory());
    }

    /**
     * The whole S3 store for {@code storage.type: s3}: committed blobs, presigning and listing from {@code blobs},
     * resumable blobs and assembly from this store over the same client and bucket. Every piece of state is in the
     * bucket, so any node can resume what another started. Closing it closes {@code blobs}, which owns the SDK
     * clients.
     */
    public ComposedStore composedWith(S3BlobStore blobs) {
        return ComposedStore.of(blobs, this).withAssembler(this).withPresigner(blobs).withKeyListing(blobs)
                .closedBy(blobs);
    }

    public S3ResumableStore(S3Client s3, S3Settings settings, Path spoolDir) throws IOException {
        if (settings.partSize() < S3Settings.MIN_PART_SIZE || settings.partSize() > S3Settings.MAX_PART_SIZE) {
            throw new IllegalArgumentException("part size " + settings.partSize() + " is outside S3's limits");
        }
        this.s3 = s3;
        this.settings = settings;
        this.bucket = settings.bucket();
        this.spoolDir = spoolDir;
        Files.createDirectories(spoolDir);
    }

    // ---------------------------------------------------------------------------------------------------------
    // ResumableStore.

    @Override
    public void createResumable(String key) throws IOException {
        String object = blobObject(key);
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(object)).uploadId();
        } catch (SdkException e) {
            throw io("create multipart upload " + object, e);
        }
        try {
            byte[] info = json.writeValueAsBytes(new Info(uploadId, settings.partSize()));
            s3.putObject(b -> b.bucket(bucket).key(infoObject(key)).contentType("application/json"),
                    RequestBody.fromBytes(info));
        } catch (IOException | SdkException e) {
            abortQuietly(object, uploadId);
            throw e instanceof SdkException se ? io("write " + infoObject(key), se) : (IOException) e;
        }
    }

    @Override
    public ResumableWriter openAppend(String key, long offset) throws IOException {
        Info info = info(key).orElseThrow(() -> new NoSuchFileException(key));
        requireUpload(key, info);
        long p = info.partSize();
        int current = Math.toIntExact(offset / p) + 1;
        long have = offset - (current - 1) * p;
        int keep = offset == 0 ? 0 : Math.toIntExact(Math.ceilDiv(offset, p));
        TreeMap<Integer, Long> chunks = chunks(key);
        if (offset > 0) {
            Long size = chunks.get(keep);
            long needed = have > 0 ? have : p;
            if (size == null || size < needed) {
                throw new IOException("resumable blob " + key + " holds fewer than offset " + offset
                        + " bytes (chunk " + keep + " has " + (size == null ? "no object" : size + " bytes") + ")");
            }
        }
        Spool spool = Spool.create(spoolDir, key);
        try {
            if (have > 0) {
                spool.fill(chunkBytes(key, current, have), have);
                if (chunks.get(current) > have) {
                    // Cut off the unacknowledged rest, as a file would be truncated: same prefix, atomic PUT.
                    s3.putObject(b -> b.bucket(bucket).key(chunkObject(key, current)).contentLength(have),
                            spool.body());
                }
            }
            // Everything but chunk `keep` is either fully acknowledged (below) or never acknowledged (above).
            for (int n : chunks.keySet()) {
                if (n != keep) {
                    deleteObject(chunkObject(key, n));
                }
            }
            return new Appender(key, info, current, spool, have, keep);
        } catch (IOException | RuntimeException e) {
            spool.close();
            throw rethrow("open " + key + " at " + offset, e);
        }
    }

    @Override
    public long resumableLength(String key) throws IOException {
        Optional<Info> info = info(key);
        if (info.isEmpty()) {
            return -1;
        }
        TreeMap<Integer, Long> chunks = chunks(key);
        if (chunks.isEmpty()) {
            return 0;
        }
        return (chunks.lastKey() - 1) * info.get().partSize() + chunks.lastEntry().getValue();
    }

    /**
     * Reads from the chunk objects, which hold the acknowledged window of an unfinished blob (S3 cannot read the
     * parts of an unfinished multipart upload); a range below it fails. A blob already promoted (by an
     * interrupted assembly) is read from its committed object.
     */
    @Override
    public ReadableByteChannel openResumable(String key, long offset, long length) throws IOException {
        Optional<Info> info = info(key);
        if (info.isEmpty()) {
            if (committedSize(key) < 0) {
                throw new NoSuchFileException(key);
            }
            return range(blobObject(key), offset, length);
        }
        long p = info.get().partSize();
        TreeMap<Integer, Long> chunks = chunks(key);
        List<Segment> segments = new ArrayList<>();
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            int n = Math.toIntExact(pos / p) + 1;
            Long size = chunks.get(n);
            long inChunk = pos - (n - 1) * p;
            if (size == null || size <= inChunk) {
                throw new IOException("bytes from " + pos + " of unfinished upload " + key
                        + " are only in S3 multipart parts, which cannot be read before completion");
            }
            long take = Math.min(end - pos, size - inChunk);
            segments.add(new Segment(chunkObject(key, n), inChunk, take));
            pos += take;
        }
        return new SegmentChannel(segments);
    }

    @Override
    public void promote(String key) throws IOException {
        Optional<Info> found = info(key);
        if (found.isEmpty()) {
            if (committedSize(key) >= 0) {
                return;
            }
            throw new NoSuchFileException(key);
        }
        Info info = found.get();
        String object = blobObject(key);
        try {
            if (!uploadOpen(key, info)) {
                if (committedSize(key) >= 0) {
                    // Completed before a crash cut the clean-up short.
                    removeResumableObjects(key);
                    return;
                }
                throw new IOException("the multipart upload of resumable blob " + key + " is gone");
            }
            TreeMap<Integer, Long> chunks = chunks(key);
            List<Part> parts = listParts(object, info.uploadId());
            if (chunks.isEmpty()) {
                throw new IOException("resumable blob " + key + " holds no bytes");
            }
            int last = chunks.lastKey();
            Map<Integer, Part> byNumber = new HashMap<>();
            parts.forEach(part -> byNumber.put(part.partNumber(), part));
            List<CompletedPart> complete = new ArrayList<>(last);
            for (int n = 1; n < last; n++) {
                Part part = byNumber.get(n);
                if (part == null || part.size() != info.partSize()) {
                    throw new IOException("resumable blob " + key + " lacks full part " + n);
                }
                complete.add(CompletedPart.builder().partNumber(n).eTag(part.eTag()).build());
            }
            // The last chunk is copied again whatever its size: cheap, server-side, and never a stale part.
            complete.add(CompletedPart.builder().partNumber(last)
                    .eTag(copyPart(chunkObject(key, last), object, info.uploadId(), last)).build());
            s3.completeMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(info.uploadId())
                    .multipartUpload(m -> m.parts(complete)));
            removeResumableObjects(key);
        } catch (SdkException e) {
            throw io("promote " + key, e);
        }
    }

    @Override
    public boolean deleteResumable(String key) throws IOException {
        Optional<Info> info = info(key);
        String object = blobObject(key);
        try {
            // Every multipart upload on the key, not only the recorded one: a crash inside createResumable can
            // leave one that no info object names.
            for (MultipartUpload u : s3.listMultipartUploadsPaginator(b -> b.bucket(bucket).prefix(object)).uploads()) {
                if (u.key().equals(object)) {
                    abortQuietly(object, u.uploadId());
                }
            }
            removeResumableObjects(key);
        } catch (SdkException e) {
            throw io("delete resumable blob " + key, e);
        }
        return info.isPresent();
    }

    /**
     * Whether the multipart upload on {@code object} (a committed blob's object key) belongs to a resumable blob:
     * a sweep of stale multipart uploads must leave those alone, since an upload resumed for days keeps the one it
     * was created with and its expiry is the caller's ({@code tus.expiry}).
     */
    public static boolean isResumable(S3Client s3, S3Settings settings, String object) {
        String blobs = settings.blobPrefix();
        if (!object.startsWith(blobs)) {
            return false;
        }
        String key = object.substring(blobs.length());
        if (!KEY.matcher(key).matches()) {
            return false;
        }
        try {
            s3.headObject(b -> b.bucket(settings.bucket()).key(settings.prefix() + "resumable/" + key + "/info"));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    /** Removes spool files a crashed process left in the spool directory; returns how many. */
    public int sweepSpools() throws IOException {
        int removed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(spoolDir, "*" + SPOOL_SUFFIX)) {
            for (Path p : ds) {
                if (Files.deleteIfExists(p)) {
                    removed++;
                }
            }
        }
        return removed;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Assembler: concatenation by server-side part copy.

    /**
     * Promotes each source (idempotent) and builds {@code key} from them with {@code UploadPartCopy}. A piece too
     * small to be a part on its own (S3 wants 5 MiB for all but the last) is downloaded into a spool of at most
     * one part and uploaded together with what follows, so any sizes work; large sources never cross the network.
     */
    @Override
    public void assemble(String key, List<String> sources) throws IOException {
        List<Long> sizes = new ArrayList<>(sources.size());
        for (String source : sources) {
            promote(source);
            long size = committedSize(source);
            if (size < 0) {
                throw new NoSuchFileException(source);
            }
            sizes.add(size);
        }
        String object = blobObject(key);
        String uploadId;
        try {
            uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(object)).uploadId();
        } catch (SdkException e) {
            throw io("create multipart upload " + object, e);
        }
        long partSize = settings.partSize();
        try (Spool spool = Spool.create(spoolDir, key)) {
            List<CompletedPart> parts = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                String from = blobObject(sources.get(i));
                boolean lastSource = i == sources.size() - 1;
                long size = sizes.get(i);
                long pos = 0;
                while (pos < size) {
                    long remaining = size - pos;
                    if (spool.length() == 0 && (remaining >= S3Settings.MIN_PART_SIZE || lastSource)) {
                        // Even ranges of at most 5 GiB: each is a valid part (>= 2.5 GiB when split).
                        long pieces = Math.ceilDiv(remaining, MAX_COPY);
                        for (long k = 0; k < pieces; k++) {
                            long a = pos + remaining * k / pieces;
                            long b = pos + remaining * (k + 1) / pieces;
                            int number = parts.size() + 1;
                            parts.add(CompletedPart.builder().partNumber(number)
                                    .eTag(copyRange(from, a, b, size, object, uploadId, number)).build());
                        }
                        pos = size;
                    } else {
                        long take = Math.min(remaining, partSize - spool.length());
                        String range = "bytes=" + pos + "-" + (pos + take - 1);
                        try (InputStream in = s3.getObject(r -> r.bucket(bucket).key(from).range(range))) {
                            spool.append(in, take);
                        }
                        pos += take;
                        if (spool.length() == partSize) {
                            parts.add(uploadSpool(spool, object, uploadId, parts.size() + 1));
                        }
                    }
                }
            }
            if (spool.length() > 0) {
                parts.add(uploadSpool(spool, object, uploadId, parts.size() + 1));
            }
            s3.completeMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(parts)));
        } catch (IOException | RuntimeException e) {
            abortQuietly(object, uploadId);
            throw rethrow("assemble " + key, e);
        }
    }

    private CompletedPart uploadSpool(Spool spool, String object, String uploadId, int number) throws IOException {
        long length = spool.length();
        String etag = s3.uploadPart(b -> b.bucket(bucket).key(object).uploadId(uploadId).partNumber(number)
                .contentLength(length), spool.body()).eTag();
        spool.reset();
        return CompletedPart.builder().partNumber(number).eTag(etag).build();
    }

    private String copyRange(String from, long a, long b, long size, String object, String uploadId, int number) {
        return s3.uploadPartCopy(r -> {
            r.sourceBucket(bucket).sourceKey(from).destinationBucket(bucket).destinationKey(object)
                    .uploadId(uploadId).partNumber(number);
            if (a != 0 || b != size) {
                r.copySourceRange("bytes=" + a + "-" + (b - 1));
            }
        }).copyPartResult().eTag();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Appends through a spool of at most one part; see the class comment for what each step keeps. */
    private final class Appender implements ResumableWriter {
        private final String key;
        private final Info info;
        private final Spool spool;
        /** Serialises write and sync: a checkpoint's sync runs on another thread. */
        private final Object lock = new Object();
        private final Object ackLock = new Object();
        /** The part the spool belongs to. */
        private int part;
        /** Bytes of the spool already in chunk {@link #part}. */
        private long durable;
        /** Chunks below this number are gone. */
        private int deletedBelow;
        private volatile long written;

        Appender(String key, Info info, int part, Spool spool, long durable, int deletedBelow) {
            this.key = key;
            this.info = info;
            this.part = part;
            this.spool = spool;
            this.durable = durable;
            this.deletedBelow = deletedBelow;
        }

        @Override
        public void write(ByteBuffer buffer) throws IOException {
            synchronized (lock) {
                long p = info.partSize();
                while (buffer.hasRemaining()) {
                    int take = (int) Math.min(buffer.remaining(), p - spool.length());
                    ByteBuffer slice = buffer.slice(buffer.position(), take);
                    spool.append(slice);
                    buffer.position(buffer.position() + take);
                    written += take;
                    if (spool.length() == p) {
                        seal();
                    }
                }
            }
        }

        /** The spool holds a whole part: keep it readable as a chunk, copy it into its part, start the next. */
        private void seal() throws IOException {
            try {
                if (durable < spool.length()) {
                    putChunk();
                }
                copyPart(chunkObject(key, part), blobObject(key), info.uploadId(), part);
            } catch (SdkException e) {
                throw io("upload part " + part + " of " + key, e);
            }
            part++;
            spool.reset();
            durable = 0;
        }

        private void putChunk() {
            long length = spool.length();
            s3.putObject(b -> b.bucket(bucket).key(chunkObject(key, part)).contentLength(length), spool.body());
            durable = length;
        }

        @Override
        public long written() {
            return written;
        }

        @Override
        public void sync() throws IOException {
            synchronized (lock) {
                if (durable < spool.length()) {
                    try {
                        putChunk();
                    } catch (SdkException e) {
                        throw io("write chunk " + part + " of " + key, e);
                    }
                }
            }
        }

        @Override
        public void acknowledged(long offset) {
            int below = Math.toIntExact(Math.ceilDiv(offset, info.partSize()));
            synchronized (ackLock) {
                try {
                    for (; deletedBelow < below; deletedBelow++) {
                        if (deletedBelow > 0) {
                            deleteObject(chunkObject(key, deletedBelow));
                        }
                    }
                } catch (SdkException e) {
                    log.warn("could not remove acknowledged chunks of {} (promote removes them): {}", key, e.toString());
                }
            }
        }

        @Override
        public void close() {
            synchronized (lock) {
                spool.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Bucket helpers.

    private Optional<Info> info(String key) throws IOException {
        try {
            byte[] bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(infoObject(key))).asByteArray();
            return Optional.of(json.readValue(bytes, Info.class));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw io("read " + infoObject(key), e);
        } catch (SdkException e) {
            throw io("read " + infoObject(key), e);
        }
    }

    /**
     * Fails unless the blob's multipart upload is still open: {@link NoSuchFileException} when it was completed
     * (a promotion the caller did not record; it finishes the upload), an {@link IOException} when it is lost.
     */
    private void requireUpload(String key, Info info) throws IOException {
        if (!uploadOpen(key, info)) {
            if (committedSize(key) >= 0) {
                throw new NoSuchFileException(key + " (already promoted)");
            }
            throw new IOException("the multipart upload of resumable blob " + key + " is gone");
        }
    }

    /**
     * Whether the blob's multipart upload is still open. Asked through ListMultipartUploads rather than ListParts:
     * S3 answers ListParts of a completed upload with NoSuchUpload, but S3-compatible servers (s3proxy) answer
     * with an empty list.
     */
    private boolean uploadOpen(String key, Info info) throws IOException {
        String object = blobObject(key);
        try {
            for (MultipartUpload u : s3.listMultipartUploadsPaginator(b -> b.bucket(bucket).prefix(object)).uploads()) {
                if (u.key().equals(object) && u.uploadId().equals(info.uploadId())) {
                    return true;
                }
            }
            return false;
        } catch (SdkException e) {
            throw io("list multipart uploads of " + key, e);
        }
    }

    private List<Part> listParts(String object, String uploadId) {
        List<Part> parts = new ArrayList<>();
        s3.listPartsPaginator(b -> b.bucket(bucket).key(object).uploadId(uploadId)).parts().forEach(parts::add);
        return parts;
    }

    /** Chunk number to size. */
    private TreeMap<Integer, Long> chunks(String key) throws IOException {
        String prefix = resumableDir(key) + CHUNK;
        TreeMap<Integer, Long> out = new TreeMap<>();
        try {
            for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
                out.put(Integer.parseInt(o.key().substring(prefix.length())), o.size());
            }
        } catch (SdkException e) {
            throw io("list chunks of " + key, e);
        } catch (NumberFormatException e) {
            throw new IOException("unexpected object under " + prefix, e);
        }
        return out;
    }

    private InputStream chunkBytes(String key, int n, long length) {
        return s3.getObject(b -> b.bucket(bucket).key(chunkObject(key, n)).range("bytes=0-" + (length - 1)));
    }

    private String copyPart(String from, String object, String uploadId, int number) {
        return s3.uploadPartCopy(r -> r.sourceBucket(bucket).sourceKey(from).destinationBucket(bucket)
                .destinationKey(object).uploadId(uploadId).partNumber(number)).copyPartResult().eTag();
    }

    /** Size of the committed object of {@code key}, or -1. */
    private long committedSize(String key) throws IOException {
        try {
            return s3.headObject(b -> b.bucket(bucket).key(blobObject(key))).contentLength();
        } catch (NoSuchKeyException e) {
            return -1;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return -1;
            }
            throw io("head " + blobObject(key), e);
        } catch (SdkException e) {
            throw io("head " + blobObject(key), e);
        }
    }

    /** Chunks first, the info object last: while it exists the blob counts as resumable. */
    private void removeResumableObjects(String key) throws IOException {
        for (int n : chunks(key).keySet()) {
            deleteObject(chunkObject(key, n));
        }
        deleteObject(infoObject(key));
    }

    private void deleteObject(String object) {
        s3.deleteObject(b -> b.bucket(bucket).key(object));
    }

    private void abortQuietly(String object, String uploadId) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(bucket).key(object).uploadId(uploadId));
        } catch (NoSuchUploadException e) {
            // already gone
        } catch (SdkException e) {
            log.warn("could not abort multipart upload {} of {}: {}", uploadId, object, e.toString());
        }
    }

    private ReadableByteChannel range(String object, long offset, long length) throws IOException {
        return new SegmentChannel(List.of(new Segment(object, offset, length)));
    }

    private String blobObject(String key) {
        check(key);
        return settings.blobObject(key);
    }

    private String resumableDir(String key) {
        check(key);
        return settings.prefix() + "resumable/" + key + "/";
    }

    private String infoObject(String key) {
        return resumableDir(key) + "info";
    }

    private String chunkObject(String key, int n) {
        return resumableDir(key) + CHUNK + String.format("%05d", n);
    }

    private static void check(String key) {
        if (!KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("invalid blob key");
        }
    }

    /** The exception to throw for {@code e}: S3 failures become IOExceptions, other runtime failures stay. */
    private static IOException rethrow(String what, Exception e) {
        if (e instanceof SdkException se) {
            return io(what, se);
        }
        if (e instanceof RuntimeException re) {
            throw re;
        }
        return (IOException) e;
    }

    private static IOException io(String what, SdkException e) {
        return new IOException("S3: could not " + what + ": " + e.getMessage(), e);
    }

    // ---------------------------------------------------------------------------------------------------------

    private record Segment(String object, long offset, long length) {
    }

    /** Reads object ranges one after another, opening each GET when the previous one ends. */
    private final class SegmentChannel implements ReadableByteChannel {
        private final List<Segment> segments;
        private int next;
        private ReadableByteChannel current;
        private boolean open = true;

        SegmentChannel(List<Segment> segments) {
            this.segments = segments;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            while (true) {
                if (current == null) {
                    if (next == segments.size()) {
                        return -1;
                    }
                    Segment s = segments.get(next++);
                    if (s.length() == 0) {
                        continue;
                    }
                    try {
                        current = Channels.newChannel(s3.getObject(b -> b.bucket(bucket).key(s.object())
                                .range("bytes=" + s.offset() + "-" + (s.offset() + s.length() - 1))));
                    } catch (NoSuchKeyException e) {
                        throw new NoSuchFileException(s.object());
                    } catch (SdkException e) {
                        throw io("read " + s.object(), e);
                    }
                }
                int n = current.read(dst);
                if (n >= 0) {
                    return n;
                }
                current.close();
                current = null;
            }
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() throws IOException {
            open = false;
            if (current != null) {
                current.close();
            }
        }
    }

    /**
     * At most one part on local disk: the only copy of bytes not yet in S3. Deleted on close (and swept at start
     * after a crash), so nothing stays behind.
     */
    static final class Spool implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private long length;

        private Spool(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        static Spool create(Path dir, String key) throws IOException {
            Path path = Files.createTempFile(dir, key + ".", SPOOL_SUFFIX);
            try {
                return new Spool(path, FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE));
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(path);
                throw e;
            }
        }

        long length() {
            return length;
        }

        void append(ByteBuffer src) throws IOException {
            while (src.hasRemaining()) {
                length += channel.write(src, length);
            }
        }

        /** Appends exactly {@code n} bytes of {@code in}, then closes it. */
        void fill(InputStream in, long n) throws IOException {
            try (in) {
                append(in, n);
            }
        }

        void append(InputStream in, long n) throws IOException {
            byte[] chunk = new byte[64 * 1024];
            long left = n;
            while (left > 0) {
                int r = in.read(chunk, 0, (int) Math.min(chunk.length, left));
                if (r < 0) {
                    throw new IOException("S3 returned " + (n - left) + " of " + n + " bytes");
                }
                append(ByteBuffer.wrap(chunk, 0, r));
                left -= r;
            }
        }

        /** The spool's bytes as a request body (re-readable, for the SDK's signing and retries). */
        RequestBody body() {
            long n = length;
            return RequestBody.fromContentProvider(() -> new SpoolInput(channel, n), n, "application/octet-stream");
        }

        void reset() throws IOException {
            channel.truncate(0);
            length = 0;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                log.debug("closing spool {}", path, e);
            }
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                log.warn("could not remove spool {} (swept at next start): {}", path, e.toString());
            }
        }
    }

    /** Positional reads of the first {@code end} bytes of a spool; does not move or close the channel. */
    private static final class SpoolInput extends InputStream {
        private final FileChannel channel;
        private final long end;
        private long pos;

        SpoolInput(FileChannel channel, long end) {
            this.channel = channel;
            this.end = end;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= end) {
                return -1;
            }
            int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
            if (n > 0) {
                pos += n;
            }
            return n;
        }
    }
}
