package io.sluice.storage.s3;

import io.sluice.storage.BlobWriter;
import io.sluice.util.Uninterruptibles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Streams one blob into S3 through part files used in turn: while up to {@link #PARTS_IN_FLIGHT} full parts upload
 * from their files (each on a virtual thread), the request fills the next part into another file; filling one
 * more waits for the oldest upload first. So an upload holds at most {@code PARTS_IN_FLIGHT + 1} parts on local
 * disk, its heap use does not depend on the part size, and a slow bucket slows the client down (back-pressure)
 * instead of letting bytes pile up.
 *
 * <p>Single-threaded like every {@link BlobWriter}; only part uploads run on their own threads, and their
 * outcomes are read after {@link Thread#join}, which orders the memory effects.
 */
final class S3BlobWriter implements BlobWriter {

    private static final Logger log = LoggerFactory.getLogger(S3BlobWriter.class);
    /**
     * Part uploads one blob may have in flight. One already overlaps the client with the bucket; a second hides
     * the bucket's per-part latency (s3proxy and MinIO finish each part on disk before answering), measured in
     * docs/benchmarks.md. Each costs one more part file on local disk, never heap.
     */
    static final int PARTS_IN_FLIGHT = 2;

    /** One part upload on its own virtual thread; its outcome is read only after {@link Thread#join}. */
    private static final class PartUpload {
        final Thread thread;
        CompletedPart result;
        Exception failure;

        PartUpload(String name, PartTask task) {
            this.thread = Thread.ofVirtual().name(name).unstarted(() -> {
                try {
                    result = task.run();
                } catch (Exception e) {
                    failure = e;
                }
            });
        }
    }

    @FunctionalInterface
    private interface PartTask {
        CompletedPart run() throws Exception;
    }

    private final S3BlobStore store;
    private final String object;
    private final String key;
    private final long partSize;
    /** One file per part being uploaded plus the one being filled, used in turn. */
    private final Path[] files = new Path[PARTS_IN_FLIGHT + 1];
    private final List<CompletedPart> parts = new ArrayList<>();
    /** Part uploads in flight, oldest first. */
    private final ArrayDeque<PartUpload> pending = new ArrayDeque<>();
    private FileChannel current;
    private int slot;
    private long inCurrent;
    private String uploadId;
    private int nextPart = 1;
    private long written;
    private boolean done;
    /** Time the request spent waiting for part uploads: how much the bucket, not the client, set the pace. */
    private long waitedNanos;

    S3BlobWriter(S3BlobStore store, String object, String key) {
        this.store = store;
        this.object = object;
        this.key = key;
        this.partSize = store.partSize();
    }

    @Override
    public void write(ByteBuffer buffer) throws IOException {
        if (done) {
            throw new IllegalStateException("writer already finished");
        }
        while (buffer.hasRemaining()) {
            if (current == null) {
                openSlot();
            }
            long room = partSize - inCurrent;
            int limit = buffer.limit();
            if (buffer.remaining() > room) {
                buffer.limit(buffer.position() + (int) room);
            }
            try {
                while (buffer.hasRemaining()) {
                    int n = current.write(buffer);
                    inCurrent += n;
                    written += n;
                }
            } finally {
                buffer.limit(limit);
            }
            if (inCurrent == partSize) {
                shipCurrent();
            }
        }
    }

    @Override
    public long written() {
        return written;
    }

    private void openSlot() throws IOException {
        if (files[slot] == null) {
            files[slot] = store.newSpoolFile(key, slot);
        }
        // The other slot's file may still be uploading; this one's upload was joined before we got here.
        current = FileChannel.open(files[slot], StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        inCurrent = 0;
    }

    /** Starts the upload of the full current part file, once fewer than {@link #PARTS_IN_FLIGHT} are in flight. */
    private void shipCurrent() throws IOException {
        while (pending.size() >= PARTS_IN_FLIGHT) {
            awaitOldest();
        }
        if (nextPart > S3Settings.MAX_PARTS) {
            throw new IOException("blob exceeds " + S3Settings.MAX_PARTS + " parts of " + partSize + " bytes");
        }
        if (uploadId == null) {
            try {
                uploadId = store.s3().createMultipartUpload(b -> b.bucket(store.bucket()).key(object)).uploadId();
            } catch (SdkException e) {
                throw S3BlobStore.io("creating multipart upload " + object, e);
            }
        }
        current.close();
        current = null;
        inCurrent = 0;
        Path file = files[slot];
        int number = nextPart++;
        String id = uploadId;
        PartUpload upload = new PartUpload("s3-part-" + key + "-" + number, () -> uploadPart(id, number, file));
        pending.addLast(upload);
        upload.thread.start();
        // The next slot's file was shipped PARTS_IN_FLIGHT + 1 parts ago, and that upload has been joined.
        slot = (slot + 1) % files.length;
    }

    private CompletedPart uploadPart(String id, int number, Path file) throws IOException {
        long length = Files.size(file);
        try {
            String etag = store.s3().uploadPart(b -> b.bucket(store.bucket()).key(object).uploadId(id)
                    .partNumber(number).contentLength(length), RequestBody.fromFile(file)).eTag();
            return CompletedPart.builder().partNumber(number).eTag(etag).build();
        } catch (SdkException e) {
            throw S3BlobStore.io("uploading part " + number + " of " + object, e);
        }
    }

    /** Waits for the oldest part in flight; its failure becomes this call's. */
    private void awaitOldest() throws IOException {
        PartUpload oldest = pending.removeFirst();
        long t0 = System.nanoTime();
        try {
            oldest.thread.join();
            waitedNanos += System.nanoTime() - t0;
        } catch (InterruptedException e) {
            pending.addFirst(oldest); // still running: close() joins it before aborting
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while a part of " + object + " was uploading");
        }
        if (oldest.failure != null) {
            throw oldest.failure instanceof IOException io ? io : new IOException(oldest.failure);
        }
        parts.add(oldest.result);
    }

    /** Waits for every part in flight. */
    private void awaitAll() throws IOException {
        while (!pending.isEmpty()) {
            awaitOldest();
        }
    }

    @Override
    public void commit() throws IOException {
        if (done) {
            throw new IllegalStateException("writer already finished");
        }
        awaitAll();
        if (current != null) {
            current.close();
            current = null;
        }
        try {
            if (uploadId == null) {
                // Smaller than one part: a single PutObject, and no multipart upload ever existed.
                RequestBody body = inCurrent == 0 ? RequestBody.empty() : RequestBody.fromFile(files[slot]);
                store.s3().putObject(b -> b.bucket(store.bucket()).key(object).contentLength(inCurrent), body);
            } else {
                if (inCurrent > 0) {
                    parts.add(uploadPart(uploadId, nextPart++, files[slot]));
                }
                parts.sort(Comparator.comparingInt(CompletedPart::partNumber));
                store.s3().completeMultipartUpload(b -> b.bucket(store.bucket()).key(object).uploadId(uploadId)
                        .multipartUpload(m -> m.parts(parts)));
            }
        } catch (SdkException e) {
            throw S3BlobStore.io("committing " + object, e);
        }
        done = true;
        store.unstaged();
        removeFiles();
        log.debug("committed {}: {} bytes in {} part(s), {} ms waiting for part uploads", object, written,
                Math.max(1, parts.size()), waitedNanos / 1_000_000);
    }

    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        try {
            if (current != null) {
                current.close();
            }
        } catch (IOException e) {
            log.debug("closing spool file of {}", object, e);
        }
        // A part still uploading would survive an abort made under it (S3 documents this): let them end first.
        for (PartUpload p : pending) {
            Uninterruptibles.join(p.thread);
        }
        pending.clear();
        if (uploadId != null) {
            try {
                store.s3().abortMultipartUpload(b -> b.bucket(store.bucket()).key(object).uploadId(uploadId));
            } catch (SdkException e) {
                log.warn("could not abort multipart upload of {} (swept later, or by a bucket lifecycle rule): {}",
                        object, e.toString());
            }
        }
        store.unstaged();
        removeFiles();
    }

    private void removeFiles() {
        for (Path f : files) {
            if (f == null) {
                continue;
            }
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                log.warn("could not remove spool file {} (it will be swept at next start): {}", f, e.toString());
            }
        }
    }
}
