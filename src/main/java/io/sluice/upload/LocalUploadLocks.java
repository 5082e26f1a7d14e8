package io.sluice.upload;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@link UploadLocks} within one process: enough while one node owns the data directory. */
public final class LocalUploadLocks implements UploadLocks {

    private final ConcurrentHashMap<String, Holder> holders = new ConcurrentHashMap<>();

    private final class Holder implements Lock {
        private final String id;
        private final Runnable onReleaseRequested;
        private final AtomicBoolean asked = new AtomicBoolean();
        private final CountDownLatch released = new CountDownLatch(1);

        Holder(String id, Runnable onReleaseRequested) {
            this.id = id;
            this.onReleaseRequested = onReleaseRequested;
        }

        void askToRelease() {
            if (asked.compareAndSet(false, true)) {
                onReleaseRequested.run();
            }
        }

        @Override
        public void close() {
            if (released.getCount() > 0) {
                holders.remove(id, this);
                released.countDown();
            }
        }
    }

    @Override
    public Optional<Lock> acquire(String uploadId, Duration wait, Runnable onReleaseRequested)
            throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        Holder mine = new Holder(uploadId, onReleaseRequested);
        while (true) {
            Holder current = holders.putIfAbsent(uploadId, mine);
            if (current == null) {
                return Optional.of(mine);
            }
            current.askToRelease();
            long left = deadline - System.nanoTime();
            if (left <= 0 || !current.released.await(left, TimeUnit.NANOSECONDS)) {
                return Optional.empty();
            }
        }
    }

    @Override
    public Optional<Lock> tryAcquire(String uploadId, Runnable onReleaseRequested) {
        Holder mine = new Holder(uploadId, onReleaseRequested);
        return holders.putIfAbsent(uploadId, mine) == null ? Optional.of(mine) : Optional.empty();
    }

    @Override
    public int held() {
        return holders.size();
    }
}
