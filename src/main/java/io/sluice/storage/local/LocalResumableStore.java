package io.sluice.storage.local;

import io.sluice.storage.LocalPaths;
import io.sluice.storage.ResumableStore;
import io.sluice.storage.ResumableWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Resumable blobs as files that grow in place at {@code <root>/<xy>/<key>} (the same sharding as committed blobs),
 * promoted to their committed name by a rename on the same filesystem. An append is handed to the disk's write-back
 * as it arrives (as {@link LocalBlobStore}'s writes are), so the acknowledging fdatasync waits only for the tail.
 */
final class LocalResumableStore implements ResumableStore {

    private static final Logger log = LoggerFactory.getLogger(LocalResumableStore.class);

    private final Path root;
    private final LocalPaths blobs;
    private final Writeback writeback;

    /**
     * @param root  where resumable blobs grow (created, durably)
     * @param blobs where a promoted blob goes: the committed store, on the same filesystem
     */
    LocalResumableStore(Path root, LocalPaths blobs, Writeback writeback) throws IOException {
        this.root = root;
        this.blobs = Objects.requireNonNull(blobs, "blobs");
        this.writeback = Objects.requireNonNull(writeback, "writeback");
        DurableFiles.createDirectories(root);
    }

    @Override
    public void createResumable(String key) throws IOException {
        Path p = resumablePathOf(key);
        DurableFiles.createDirectories(p.getParent());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        DurableFiles.fsyncDirectory(p.getParent());
    }

    @Override
    public ResumableWriter openAppend(String key, long offset) throws IOException {
        Path file = resumablePathOf(key);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
        try {
            long size = ch.size();
            if (size < offset) {
                throw new IOException("resumable blob " + key + " holds " + size + " bytes, fewer than offset " + offset);
            }
            if (size > offset) {
                // An append that was never acknowledged (crash, failed checksum): its bytes do not count.
                ch.truncate(offset);
            }
            ch.position(offset);
            return new Appender(ch, offset, writeback.track(file, offset));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public long resumableLength(String key) throws IOException {
        return DurableFiles.sizeOrMissing(resumablePathOf(key));
    }

    @Override
    public ReadableByteChannel openResumable(String key, long offset, long length) throws IOException {
        return DurableFiles.openBounded(resumablePathOf(key), offset, length);
    }

    @Override
    public void promote(String key) throws IOException {
        Path from = resumablePathOf(key);
        Path to = blobs.pathOf(key);
        if (!Files.exists(from)) {
            if (Files.exists(to)) {
                return;
            }
            throw new NoSuchFileException(key);
        }
        DurableFiles.createDirectories(to.getParent());
        try (FileChannel ch = FileChannel.open(from, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("resumable and blob directories must be on one filesystem", e);
        }
        DurableFiles.fsyncDirectory(to.getParent());
        DurableFiles.fsyncDirectory(from.getParent());
    }

    @Override
    public boolean deleteResumable(String key) throws IOException {
        return DurableFiles.delete(resumablePathOf(key));
    }

    private Path resumablePathOf(String key) {
        return root.resolve(LocalBlobStore.shard(key)).resolve(key);
    }

    private static final class Appender implements ResumableWriter {
        private final FileChannel channel;
        private final long start;
        private final Writeback.Tracker writeback;
        private volatile long written;

        Appender(FileChannel channel, long start, Writeback.Tracker writeback) {
            this.channel = channel;
            this.start = start;
            this.writeback = writeback;
        }

        @Override
        public void write(ByteBuffer buffer) throws IOException {
            long n = 0;
            while (buffer.hasRemaining()) {
                n += channel.write(buffer);
            }
            written += n;
            writeback.written(start + written);
        }

        @Override
        public long written() {
            return written;
        }

        @Override
        public void sync() throws IOException {
            // fdatasync: the data and the file length, which is all a reader of this blob needs.
            channel.force(false);
        }

        @Override
        public void truncate(long offset) throws IOException {
            if (channel.size() > offset) {
                channel.truncate(offset);
            }
        }

        @Override
        public void close() {
            writeback.close();
            try {
                channel.close();
            } catch (IOException e) {
                log.debug("closing resumable blob", e);
            }
        }
    }
}
