package io.sluice.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Files/s of a staged blob's durable commit on this disk, in two orders, with {@code --writers} threads each
 * committing 100 KiB files (the small-upload row): <b>fsync-first</b> (LocalBlobStore's order: write the staged
 * file, fsync it, rename it into {@code blobs/<xy>/}, fsync that directory) and <b>rename-first</b> (write, rename,
 * fsync the file, fsync the directory: on ext4 the file's fsync commits the journal transaction that already holds
 * the rename, so the directory's fsync should find it committed), and <b>link</b> (LocalBlobStore's order since
 * branch smallfs: write, fsync, hard link to the blob name, fsync the directory, then unlink the staged name, which
 * stays as the commit's marker until the record is made). Rounds rotate the orders; each round's files are deleted
 * (untimed) before the next. Not a test: nothing asserts a time.
 *
 * <p>{@code java -cp target/bench-classes io.sluice.bench.CommitOrderBench <dir> [--files 3000] [--writers 32]
 * [--rounds 3] [--size 102400]}; {@code <dir>} should be on the data disk (e.g. {@code target/commit-order}).
 */
public final class CommitOrderBench {

    private enum Order { FSYNC_FIRST, RENAME_FIRST, LINK }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            throw new IllegalArgumentException("usage: CommitOrderBench <dir> [--files N] [--writers N] [--rounds N]"
                    + " [--size bytes]");
        }
        Path dir = Path.of(args[0]);
        int files = 3000;
        int writers = 32;
        int rounds = 3;
        int size = 100 * 1024;
        for (int i = 1; i + 1 < args.length; i += 2) {
            int v = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--files" -> files = Math.clamp(v, 1, 100_000);
                case "--writers" -> writers = Math.clamp(v, 1, 256);
                case "--rounds" -> rounds = Math.clamp(v, 1, 20);
                case "--size" -> size = Math.clamp(v, 1, 64 << 20);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path tmp = dir.resolve("tmp");
        Path blobs = dir.resolve("blobs");
        Files.createDirectories(tmp);
        for (int s = 0; s < 256; s++) {
            Files.createDirectories(blobs.resolve(String.format("%02x", s)));
        }
        byte[] bytes = new byte[size];
        new Random(14).nextBytes(bytes);
        System.out.printf("| round | order | files/s | ms per file (wall, %d writers) | load avg (1 min) |%n"
                + "|---:|---|---:|---:|---:|%n", writers);
        Map<Order, List<Double>> results = new EnumMap<>(Order.class);
        for (int r = 1; r <= rounds; r++) {
            Order[] all = Order.values();
            for (int o = 0; o < all.length; o++) {
                Order order = all[(o + r) % all.length];
                clear(tmp, blobs);
                runProcessSync();
                double rate = round(order, tmp, blobs, bytes, files, writers);
                results.computeIfAbsent(order, k -> new ArrayList<>()).add(rate);
                System.out.printf("| %d | %s | %.1f | %.2f | %s |%n", r, order, rate, 1000.0 * writers / rate,
                        loadAverage());
            }
        }
        clear(tmp, blobs);
        for (var e : results.entrySet()) {
            double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            System.out.printf("median %s: %.1f files/s (rounds %s)%n", e.getKey(), v[v.length / 2],
                    Arrays.toString(v));
        }
    }

    private static double round(Order order, Path tmp, Path blobs, byte[] bytes, int files, int writers)
            throws Exception {
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(writers)) {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                done.add(pool.submit(() -> {
                    for (int n = next.getAndIncrement(); n < files; n = next.getAndIncrement()) {
                        commit(order, tmp, blobs, bytes, n);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        return files / ((System.nanoTime() - start) / 1e9);
    }

    private static void commit(Order order, Path tmp, Path blobs, byte[] bytes, int n) throws IOException {
        String key = String.format("f%07d%02x", n, n & 0xff);
        Path staged = tmp.resolve(key + ".part");
        Path shard = blobs.resolve(key.substring(key.length() - 2));
        Path target = shard.resolve(key);
        try (FileChannel ch = FileChannel.open(staged, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            switch (order) {
                case FSYNC_FIRST -> {
                    ch.force(true);
                    Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
                }
                case RENAME_FIRST -> {
                    Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
                    ch.force(true);
                }
                case LINK -> {
                    ch.force(true);
                    Files.createLink(target, staged);
                }
            }
        }
        try (FileChannel d = FileChannel.open(shard, StandardOpenOption.READ)) {
            d.force(true);
        }
        if (order == Order.LINK) {
            Files.delete(staged);
        }
    }

    private static void clear(Path... dirs) throws IOException {
        for (Path d : dirs) {
            try (Stream<Path> s = Files.walk(d)) {
                for (Path p : s.filter(Files::isRegularFile).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static void runProcessSync() throws Exception {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }
}
