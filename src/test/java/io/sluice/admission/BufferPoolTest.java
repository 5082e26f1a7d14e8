package io.sluice.admission;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BufferPoolTest {

    private static final int KIB = 1024;

    @Test
    void capacityComesFromTheBudget() {
        assertThat(new BufferPool(64 * KIB, 1024 * KIB).capacity()).isEqualTo(16);
        assertThat(new BufferPool(64 * KIB, 1000 * KIB).capacity()).as("rounded down").isEqualTo(15);
        assertThat(new BufferPool(64 * KIB, 64 * KIB).capacity()).isEqualTo(1);
        assertThat(new BufferPool(64 * KIB, 1).capacity()).as("never zero").isEqualTo(1);
        assertThat(new BufferPool(16 * KIB, Long.MAX_VALUE).capacity()).isEqualTo(Integer.MAX_VALUE);
        assertThatThrownBy(() -> new BufferPool(0, 1024)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void buffersAreAllocatedLazily() {
        // A budget of 64 GiB must not allocate anything up front.
        BufferPool pool = new BufferPool(256 * KIB, 64L << 30);
        assertThat(pool.allocatedBytes()).isZero();
        assertThat(pool.outstanding()).isZero();
        ByteBuffer b = pool.tryAcquire();
        assertThat(b.isDirect()).isTrue();
        assertThat(b.capacity()).isEqualTo(256 * KIB);
        assertThat(b.position()).isZero();
        assertThat(b.remaining()).isEqualTo(256 * KIB);
        assertThat(pool.allocatedBytes()).isEqualTo(256 * KIB);
        assertThat(pool.idleBytes()).isZero();
        pool.release(b);
        assertThat(pool.idleBytes()).isEqualTo(256 * KIB);
    }

    @Test
    void releasedBuffersAreReusedCleared() {
        BufferPool pool = new BufferPool(16 * KIB, 64 * KIB);
        ByteBuffer first = pool.tryAcquire();
        first.put(new byte[100]).flip();
        pool.release(first);
        ByteBuffer again = pool.tryAcquire();
        assertThat(again).isSameAs(first);
        assertThat(again.position()).isZero();
        assertThat(again.limit()).isEqualTo(16 * KIB);
        assertThat(pool.allocatedBytes()).isEqualTo(16 * KIB);
    }

    @Test
    void neverMoreThanCapacityOut() {
        BufferPool pool = new BufferPool(16 * KIB, 3 * 16 * KIB);
        ByteBuffer a = pool.tryAcquire();
        ByteBuffer b = pool.tryAcquire();
        ByteBuffer c = pool.tryAcquire();
        assertThat(List.of(a, b, c)).doesNotContainNull();
        assertThat(pool.tryAcquire()).isNull();
        assertThat(pool.outstanding()).isEqualTo(3);
        pool.release(b);
        assertThat(pool.tryAcquire()).isSameAs(b);
        assertThat(pool.tryAcquire()).isNull();
        pool.release(a);
        pool.release(b);
        pool.release(c);
        assertThat(pool.outstanding()).isZero();
        assertThat(pool.allocatedBytes()).isEqualTo(3 * 16 * KIB);
    }

    @Test
    void concurrentUseNeverExceedsCapacityNorHandsOutOneBufferTwice() throws Exception {
        int capacity = 4;
        BufferPool pool = new BufferPool(16 * KIB, capacity * 16L * KIB);
        Set<ByteBuffer> out = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        AtomicInteger maxSeen = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        int threads = 16;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            all.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 5_000; i++) {
                    ByteBuffer b = pool.tryAcquire();
                    if (b == null) {
                        continue;
                    }
                    if (!out.add(b)) {
                        violations.incrementAndGet();
                    }
                    maxSeen.accumulateAndGet(pool.outstanding(), Math::max);
                    out.remove(b);
                    pool.release(b);
                }
            }));
        }
        start.countDown();
        for (Thread t : all) {
            t.join();
        }
        assertThat(violations).hasValue(0);
        assertThat(maxSeen.get()).isLessThanOrEqualTo(capacity);
        assertThat(pool.outstanding()).isZero();
        assertThat(pool.allocatedBytes()).isLessThanOrEqualTo(capacity * 16L * KIB);
    }
}
