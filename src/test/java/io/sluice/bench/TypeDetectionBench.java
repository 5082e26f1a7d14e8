package io.sluice.bench;

import io.sluice.upload.TypeDetector;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * CPU microseconds per {@link TypeDetector#detect} of a 100 KiB upload's head, per kind of content: what the
 * small-upload benchmark pays per file for type detection. Run it against two jars to compare builds:
 * {@code java -cp target/bench-classes:target/sluice.jar io.sluice.bench.TypeDetectionBench [--seconds 3]}.
 * Single-threaded; each kind warms up for a second, then runs for {@code --seconds} (bounded) and prints the
 * median of five slices. Not a test: nothing asserts a time.
 */
public final class TypeDetectionBench {

    private record Input(String kind, String filename, byte[] bytes) {
    }

    public static void main(String[] args) {
        double seconds = args.length == 2 && args[0].equals("--seconds") ? Double.parseDouble(args[1]) : 3.0;
        if (!(seconds > 0 && seconds <= 60)) {
            throw new IllegalArgumentException("--seconds 0..60");
        }
        TypeDetector detector = new TypeDetector(List.of());
        int size = 100 * 1024;
        Random random = new Random(14);
        byte[] opaque = new byte[size];
        random.nextBytes(opaque);
        List<Input> inputs = List.of(
                new Input("pseudo-random bytes (the tus bench's bodies)", "bench-1.bin", opaque),
                new Input("JPEG head", "photo.jpg", withHead(opaque, new byte[]{(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0})),
                new Input("PNG head", "image.png", withHead(opaque, new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'})),
                new Input("PDF head", "doc.pdf", withHead(opaque, "%PDF-1.7\n%\u00e2\u00e3\n".getBytes(StandardCharsets.ISO_8859_1))),
                new Input("zip head", "archive.zip", withHead(opaque, new byte[]{'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0})),
                new Input("CSV text", "stock.csv", csv(size)));
        System.out.printf("| content | filename | detected | CPU us per detect (median of 5) |%n|---|---|---|---:|%n");
        for (Input in : inputs) {
            ByteBuffer head = ByteBuffer.wrap(in.bytes(), 0, Math.min(in.bytes().length, TypeDetector.HEAD_BYTES));
            String type = detector.detect(head, in.filename());
            run(detector, head, in.filename(), 1.0);
            double[] slices = new double[5];
            for (int i = 0; i < slices.length; i++) {
                slices[i] = run(detector, head, in.filename(), seconds / slices.length);
            }
            Arrays.sort(slices);
            System.out.printf("| %s | %s | %s | %.1f |%n", in.kind(), in.filename(), type, slices[2]);
        }
    }

    /**
     * Detections for about {@code seconds} of this thread's CPU time; returns CPU microseconds per detection (CPU
     * time, not wall time: on a shared machine the thread waits for a core a varying share of the time).
     */
    private static double run(TypeDetector detector, ByteBuffer head, String filename, double seconds) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        long budget = (long) (seconds * 1e9);
        long wallStart = System.nanoTime();
        long start = cpu.getCurrentThreadCpuTime();
        long n = 0;
        while (cpu.getCurrentThreadCpuTime() - start < budget && n < 10_000_000
                && System.nanoTime() - wallStart < 20 * budget) {
            detector.detect(head, filename);
            n++;
        }
        return (cpu.getCurrentThreadCpuTime() - start) / 1e3 / n;
    }

    private static byte[] withHead(byte[] body, byte[] head) {
        byte[] out = body.clone();
        System.arraycopy(head, 0, out, 0, head.length);
        return out;
    }

    private static byte[] csv(int size) {
        StringBuilder b = new StringBuilder("sku,name,stock\n");
        for (int i = 0; b.length() < size; i++) {
            b.append("SKU-").append(i).append(",Widget ").append(i).append(',').append(i % 97).append('\n');
        }
        return Arrays.copyOf(b.toString().getBytes(StandardCharsets.US_ASCII), size);
    }
}
