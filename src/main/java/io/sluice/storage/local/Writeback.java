package io.sluice.storage.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Starts the disk write of a file's bytes while it is still being received, so that the {@code fdatasync} that
 * acknowledges it waits only for the tail (as RocksDB's {@code bytes_per_sync}): Linux
 * {@code sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)} after every {@link #INTERVAL} bytes, reached
 * through the FFM API. It queues the range's dirty pages for write-back and returns; it makes nothing durable, the
 * final {@code force} still does.
 *
 * <p>The file descriptor: a {@link java.nio.channels.FileChannel} does not expose its own, and reaching into the
 * JDK's {@code FileDescriptor} needs {@code --add-opens}. {@code sync_file_range} acts on the file's page cache, not
 * on the descriptor's position or mode, so a second descriptor opened here with {@code open(path, O_RDONLY |
 * O_CLOEXEC)} serves as well. It is opened only once a file grows past {@link #INTERVAL} (a small file costs
 * nothing) and closed with the writer; it stays valid across the rename of a committed file.
 *
 * <p>Used for blobs being received (committed and resumable) and for job outputs being written, whose publish
 * fsyncs them whole ({@code FileContext}).
 *
 * <p>Where any of this is missing (not Linux, no symbol, native access refused) {@link #available()} is false, the
 * reason is logged once, and writers work as before: every byte still reaches the disk at the final sync.
 */
public final class Writeback {

    private static final Logger log = LoggerFactory.getLogger(Writeback.class);
    /**
     * Bytes written between two write-back requests: large enough to make few calls, small enough for the tail.
     * 256 KiB (one upload buffer) and waiting for older ranges were measured for 5 MiB PATCHes and not kept
     * (docs/benchmarks.md, "Issue 14, branch {@code chunked}").
     */
    public static final long INTERVAL = 1L << 20;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SYNC_FILE_RANGE_WRITE = 2;

    /** The three native calls, or empty when unavailable. */
    private final Optional<Calls> calls;
    /** A failing call is logged once per store, then the write-back requests stop. */
    private final AtomicBoolean failedOnce = new AtomicBoolean();
    /** Write-back requests made (for tests: that the Linux path really ran). */
    private final AtomicLong requests = new AtomicLong();

    private record Calls(MethodHandle open, MethodHandle syncFileRange, MethodHandle close) {
    }

    private Writeback(Optional<Calls> calls) {
        this.calls = calls;
    }

    /** Linux's {@code sync_file_range} when this platform has it; otherwise the fallback, with the reason logged. */
    public static Writeback linux() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux")) {
            log.info("early write-back of received bytes is off: sync_file_range is Linux-only (this is {})", os);
            return disabled();
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT),
                    Linker.Option.firstVariadicArg(2));
            MethodHandle sync = linker.downcallHandle(libc.find("sync_file_range").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return new Writeback(Optional.of(new Calls(open, sync, close)));
        } catch (RuntimeException | Error e) {
            // IllegalCallerException when native access is refused, NoSuchElementException without the symbol.
            log.warn("early write-back of received bytes is off: sync_file_range is not reachable ({})", e.toString());
            return disabled();
        }
    }

    /** No early write-back: the final sync writes everything (other platforms, and tests of that path). */
    public static Writeback disabled() {
        return new Writeback(Optional.empty());
    }

    public boolean available() {
        return calls.isPresent();
    }

    public long requests() {
        return requests.get();
    }

    /** Follows one file being written; {@code start} is where the writes begin (an append's offset). */
    public Tracker track(Path file, long start) {
        return new Tracker(file, start);
    }

    /** One file's write-back requests; not thread-safe (one writer per file), closed with the writer. */
    public final class Tracker implements AutoCloseable {
        private final Path file;
        /** Bytes before this were handed to write-back already (or were there before this writer). */
        private long requested;
        private int fd = -1;
        private boolean off;

        private Tracker(Path file, long start) {
            this.file = file;
            this.requested = start;
            this.off = calls.isEmpty();
        }

        /** The file now holds bytes up to {@code end}: start writing back what is new once it is worth a call. */
        public void written(long end) {
            if (off || end - requested < INTERVAL) {
                return;
            }
            Calls c = calls.orElseThrow();
            try {
                if (fd < 0) {
                    try (Arena arena = Arena.ofConfined()) {
                        fd = (int) c.open().invokeExact(arena.allocateFrom(file.toString()), O_RDONLY | O_CLOEXEC, 0);
                    }
                    if (fd < 0) {
                        fail("open " + file + " returned " + fd);
                        return;
                    }
                }
                int rc = (int) c.syncFileRange().invokeExact(fd, requested, end - requested, SYNC_FILE_RANGE_WRITE);
                if (rc != 0) {
                    fail("sync_file_range returned " + rc);
                    return;
                }
                requested = end;
                requests.incrementAndGet();
            } catch (Throwable e) {
                fail(e.toString());
            }
        }

        private void fail(String why) {
            off = true;
            if (failedOnce.compareAndSet(false, true)) {
                log.warn("early write-back failed ({}); received bytes are written at the final sync only", why);
            }
        }

        @Override
        public void close() {
            if (fd >= 0) {
                try {
                    int ignored = (int) calls.orElseThrow().close().invokeExact(fd);
                } catch (Throwable e) {
                    log.debug("closing the write-back descriptor of {}", file, e);
                }
                fd = -1;
            }
        }
    }
}
