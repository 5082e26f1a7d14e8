package io.sluice.storage.s3;

import io.sluice.storage.BlobWriter;
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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Streams one blob into S3 through two part files used in turn: while part N uploads from one file (on a virtual
 * thread), the request fills part N+1 into the other; filling a third part waits for part N's upload first. So an
 * upload holds at most two parts on local disk and one part request in flight, its heap use does not depend on the
 * part size, and a slow bucket slows the client down (back-pressure) instead of letting bytes pile up.
 *
 * <p>Single-threaded like every {@link BlobWriter}; only the part upload runs on its own thread, and its outcome is
 * read after {@link Thread#join}, which orders the memory effects.
 */
final class S3BlobWriter implements BlobWriter {

    private static final Logger log = LoggerFactory.getLogger(S3BlobWriter.class);

    private final S3BlobStore store;
    private final String object;
    private final String key;
    private final long partSize;
    private final Path[] files = new Path[2];
    private final List<CompletedPart> parts = new ArrayList<>();
    private FileChannel current;
    private int slot;
    private long inCurrent;
    private String uploadId;
    private int nextPart = 1;
    private Thread pending;
    /** Written by the part thread before it ends; read only after joining it. */
    private CompletedPart pendingResult;
    private Exception pendingFailure;
    private long written;
    private boolean done;

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

    /** Starts the upload of the full current part file, after the previous one has finished. */
    private void shipCurrent() throws IOException {
        awaitPending();
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
        pending = Thread.ofVirtual().name("s3-part-" + key + "-" + number).start(() -> {
            try {
                pendingResult = uploadPart(id, number, file);
            } catch (Exception e) {
                pendingFailure = e;
            }
        });
        slot ^= 1;
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

    /** Waits for the part in flight, if any; its failure becomes this call's. */
    private void awaitPending() throws IOException {
        if (pending == null) {
            return;
        }
        try {
            pending.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while a part of " + object + " was uploading");
        }
        pending = null;
        if (pendingFailure != null) {
            Exception failure = pendingFailure;
            pendingFailure = null;
            throw failure instanceof IOException io ? io : new IOException(failure);
        }
        parts.add(pendingResult);
        pendingResult = null;
    }

    @Override
    public void commit() throws IOException {
        if (done) {
            throw new IllegalStateException("writer already finished");
        }
        awaitPending();
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
        // A part still uploading would survive an abort made under it (S3 documents this): let it end first.
        if (pending != null) {
            boolean interrupted = false;
            while (true) {
                try {
                    pending.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
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
