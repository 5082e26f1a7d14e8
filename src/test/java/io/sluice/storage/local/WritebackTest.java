package io.sluice.storage.local;

import io.sluice.storage.BlobWriter;
import io.sluice.storage.ResumableStore;
import io.sluice.storage.ResumableWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Early write-back ({@link Writeback}) changes when bytes reach the disk, never which: a blob written in pieces,
 * staged and committed or appended in several requests, holds exactly the bytes sent, with {@code sync_file_range}
 * and on the fallback path without it.
 */
class WritebackTest {

    /** Several write-back intervals, and a tail that is not a multiple of one. */
    private static final int SIZE = (int) (3 * Writeback.INTERVAL + 12_345);

    @TempDir
    Path dir;

    @Test
    void theFallbackPathStoresIdenticalBytes() throws Exception {
        Writeback off = Writeback.disabled();
        assertThat(off.available()).isFalse();
        roundTrip(new LocalBlobStore(dir.resolve("fallback"), off));
        assertThat(off.requests()).isZero();
    }

    @Test
    void syncFileRangeStoresIdenticalBytes() throws Exception {
        Writeback linux = Writeback.linux();
        Assumptions.assumeTrue(linux.available(),
                "sync_file_range is not reachable here (not Linux, or native access refused): only the fallback ran");
        roundTrip(new LocalBlobStore(dir.resolve("linux"), linux));
        // 3 intervals staged, and across the appends at least one per whole interval each request wrote.
        assertThat(linux.requests()).isGreaterThanOrEqualTo(4);
    }

    private static void roundTrip(LocalBlobStore store) throws Exception {
        byte[] data = new byte[SIZE];
        new Random(42).nextBytes(data);

        // Staged and committed (PUT, POST), written in uneven pieces.
        String key = "writeback-put-1";
        try (BlobWriter w = store.create(key)) {
            for (int at = 0; at < SIZE; ) {
                int n = Math.min(SIZE - at, 300_001);
                w.write(ByteBuffer.wrap(data, at, n));
                at += n;
            }
            w.commit();
        }
        assertThat(Files.readAllBytes(store.pathOf(key))).isEqualTo(data);

        // Appended in three requests (tus PATCHes), the second starting mid-interval, then promoted.
        String resumable = "writeback-tus-1";
        ResumableStore growing = store.composed().resumable();
        growing.createResumable(resumable);
        int[] cuts = {0, (int) (Writeback.INTERVAL / 2) + 7, 2 * (int) Writeback.INTERVAL + 3, SIZE};
        for (int i = 0; i + 1 < cuts.length; i++) {
            try (ResumableWriter w = growing.openAppend(resumable, cuts[i])) {
                for (int at = cuts[i]; at < cuts[i + 1]; ) {
                    int n = Math.min(cuts[i + 1] - at, 65_536);
                    w.write(ByteBuffer.wrap(data, at, n));
                    at += n;
                }
                w.sync();
            }
            assertThat(growing.resumableLength(resumable)).isEqualTo(cuts[i + 1]);
        }
        growing.promote(resumable);
        assertThat(Files.readAllBytes(store.pathOf(resumable))).isEqualTo(data);
        assertThat(store.stagedCount()).isZero();
    }
}
