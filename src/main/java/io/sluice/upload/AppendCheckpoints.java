package io.sluice.upload;

import io.sluice.storage.ResumableWriter;
import io.sluice.util.Uninterruptibles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.SQLException;

/**
 * Records the offset of a long append while it runs, so a crash in the middle of a multi-gigabyte PATCH costs at
 * most {@link ResumableService.Settings#checkpointBytes()} of it. The fsync runs beside the writes, not between
 * them.
 */
final class AppendCheckpoints implements StreamPipeline.HandOffHook, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ResumableService.class);

    private final ResumableCore core;
    private final Resumable r;
    private final ResumableWriter writer;
    private final boolean enabled;
    private long next;
    private Thread running;
    /** The upload's offset as last recorded: where it starts, then each checkpoint's. */
    private volatile long recorded;

    AppendCheckpoints(ResumableCore core, Resumable r, ResumableWriter writer, boolean enabled) {
        this.core = core;
        this.r = r;
        this.writer = writer;
        this.enabled = enabled;
        this.next = core.settings.checkpointBytes();
        this.recorded = r.offset();
    }

    /** The offset in the database now; read after {@link #await}. */
    long recorded() {
        return recorded;
    }

    /** Called once the append itself recorded {@code offset}. */
    void recorded(long offset) {
        recorded = offset;
    }

    @Override
    public void beforeHandOff(ByteBuffer full, long drainedSoFar) {
        if (!enabled || drainedSoFar < next || (running != null && running.isAlive())) {
            return;
        }
        next = drainedSoFar + core.settings.checkpointBytes();
        long offset = r.offset() + drainedSoFar;
        running = Thread.ofVirtual().name("sluice-checkpoint-" + r.id()).start(() -> {
            try {
                writer.sync();
                core.record(r.withOffset(offset));
                recorded = offset;
                writer.acknowledged(offset);
            } catch (IOException | SQLException | RuntimeException e) {
                log.warn("checkpoint of upload {} at {} failed: {}", r.id(), offset, e.toString());
            }
        });
    }

    @Override
    public void close() {
        await();
    }

    /** Waits for a checkpoint still running: the writer must not close under it. */
    void await() {
        Thread t = running;
        if (t == null) {
            return;
        }
        Uninterruptibles.join(t);
    }
}
