package io.sluice.bench;

import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;
import io.sluice.storage.s3.S3Clients;
import io.sluice.storage.s3.S3Settings;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.fmt2;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;
import static io.sluice.bench.BenchSupport.mbPerSecond;
import static io.sluice.bench.BenchSupport.median;
import static io.sluice.bench.BenchSupport.procStatusBytes;

/**
 * S3 upload throughput through Sluice ({@code storage.type: s3}, raw PUT answered 201 after
 * CompleteMultipartUpload) beside the plain AWS SDK writing the same bytes to the same endpoint and bucket: one
 * PutObject of the whole file, and a sequential multipart upload with Sluice's part size. Rounds interleave the
 * three (rotating which goes first); each upload's object is deleted before the next one. Reported: MB/s per round,
 * medians, Sluice's ratio to each SDK path, and the Sluice server's peak RSS (VmHWM). One uncounted upload of
 * {@code --warmup-size} (64 MiB) per path comes first.
 *
 * <p>Not a test: run by {@code bench/run s3}, which starts s3proxy (filesystem backend) and Sluice as separate
 * processes. Arguments: {@code --sluice-url URL --sluice-pid PID --endpoint URL --bucket B --access-key A
 * --secret-key S --dir DIR [--rounds 3] [--size 256MiB] [--part-size 8MiB] [--warmup-size 64MiB]
 * [--summary FILE]}.
 */
public final class S3Bench {

    private S3Bench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        URI sluice = URI.create(args.require("sluice-url"));
        long sluicePid = Long.parseLong(args.require("sluice-pid"));
        String bucket = args.require("bucket");
        int rounds = args.integer("rounds", 3);
        long size = args.size("size", 256L << 20);
        long partSize = args.size("part-size", S3Settings.DEFAULT_PART_SIZE);
        Report report = new Report(args.get("summary", null));
        S3Settings settings = new S3Settings(URI.create(args.require("endpoint")), S3Settings.DEFAULT_REGION, bucket,
                args.require("access-key"), args.require("secret-key"), true, "", partSize,
                S3Settings.Downloads.STREAM, S3Settings.DEFAULT_PRESIGN_EXPIRY);

        Path source = Path.of(args.require("dir")).resolve("s3-source.bin");
        writeSource(source, size);
        double[] viaSluice = new double[rounds];
        double[] sdkPut = new double[rounds];
        double[] sdkMultipart = new double[rounds];
        try (S3Client s3 = S3Clients.client(settings);
             RawHttpClient.Watchdog watchdog = new RawHttpClient.Watchdog();
             RawHttpClient http = new RawHttpClient(sluice, watchdog);
             FileChannel body = FileChannel.open(source, StandardOpenOption.READ)) {
            // One uncounted upload per path first: each path's code is JIT-compiled before it is measured.
            long warm = Math.min(size, args.size("warmup-size", 64L << 20));
            sluiceUpload(http, body, warm, -1);
            sdkPut(s3, bucket, source, warm, -1);
            sdkMultipart(s3, bucket, source, warm, partSize, -1);
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < 3; i++) {
                    int which = (r + i) % 3;
                    switch (which) {
                        case 0 -> viaSluice[r] = sluiceUpload(http, body, size, r);
                        case 1 -> sdkPut[r] = sdkPut(s3, bucket, source, size, r);
                        default -> sdkMultipart[r] = sdkMultipart(s3, bucket, source, size, partSize, r);
                    }
                }
                log("round " + (r + 1) + ": Sluice " + fmt(viaSluice[r]) + " MB/s, SDK PutObject " + fmt(sdkPut[r])
                        + " MB/s, SDK multipart " + fmt(sdkMultipart[r]) + " MB/s");
            }
        } finally {
            Files.deleteIfExists(source);
        }
        double s = median(viaSluice);
        double p = median(sdkPut);
        double m = median(sdkMultipart);
        report.line("");
        report.line("### S3 uploads: " + rounds + " interleaved round(s) of " + formatBytes(size) + ", part size "
                + formatBytes(partSize));
        report.line("");
        report.line("| path | median MB/s | rounds (MB/s) |");
        report.line("|------|------------:|---------------|");
        report.line("| Sluice raw PUT -> S3 multipart (201 after CompleteMultipartUpload) | " + fmt(s) + " | "
                + join(viaSluice) + " |");
        report.line("| AWS SDK PutObject (one request) | " + fmt(p) + " | " + join(sdkPut) + " |");
        report.line("| AWS SDK multipart, sequential " + formatBytes(partSize) + " parts | " + fmt(m) + " | "
                + join(sdkMultipart) + " |");
        report.line("");
        report.line("Sluice / SDK PutObject: **" + fmt2(s / p) + "x**; Sluice / SDK multipart: **" + fmt2(s / m)
                + "x**. Sluice server peak RSS (VmHWM): " + formatBytes(procStatusBytes(sluicePid, "VmHWM")) + ".");
    }

    private static String join(double[] values) {
        List<String> out = new ArrayList<>();
        for (double v : values) {
            out.add(fmt(v));
        }
        return String.join(", ", out);
    }

    /** Incompressible bytes, written once per run. */
    private static void writeSource(Path file, long size) throws IOException {
        SplittableRandom random = new SplittableRandom(42);
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long left = size;
            while (left > 0) {
                buf.clear();
                while (buf.remaining() >= 8) {
                    buf.putLong(random.nextLong());
                }
                buf.flip();
                buf.limit((int) Math.min(buf.limit(), left));
                while (buf.hasRemaining()) {
                    left -= out.write(buf);
                }
            }
        }
    }

    private static double sluiceUpload(RawHttpClient http, FileChannel body, long size, int round) throws IOException {
        long t0 = System.nanoTime();
        RawHttpClient.Response r = http.send("PUT", "/api/v1/uploads/s3-bench-" + round + ".bin",
                Map.of("Content-Type", "application/octet-stream"), body, 0, size, Duration.ofMinutes(30));
        long nanos = System.nanoTime() - t0;
        if (r.status() != 201) {
            throw new IOException("Sluice answered " + r.status() + ": " + r.body());
        }
        String id = BenchSupport.jsonString(r.body(), "id");
        RawHttpClient.Response d = http.send("DELETE", "/api/v1/uploads/" + id, Map.of(), null, 0, 0,
                Duration.ofMinutes(1));
        if (d.status() != 204) {
            throw new IOException("DELETE answered " + d.status() + ": " + d.body());
        }
        return mbPerSecond(size, nanos);
    }

    private static double sdkPut(S3Client s3, String bucket, Path source, long size, int round) {
        String key = "sdk-put-" + round;
        long t0 = System.nanoTime();
        s3.putObject(b -> b.bucket(bucket).key(key).contentLength(size),
                RequestBody.fromContentProvider(() -> slice(source, 0, size), size, "application/octet-stream"));
        long nanos = System.nanoTime() - t0;
        s3.deleteObject(b -> b.bucket(bucket).key(key));
        return mbPerSecond(size, nanos);
    }

    private static double sdkMultipart(S3Client s3, String bucket, Path source, long size, long partSize, int round) {
        String key = "sdk-multipart-" + round;
        long t0 = System.nanoTime();
        String uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
        List<CompletedPart> parts = new ArrayList<>();
        for (long offset = 0, n = 1; offset < size; offset += partSize, n++) {
            long from = offset;
            long length = Math.min(partSize, size - offset);
            int number = (int) n;
            String etag = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                            .contentLength(length),
                    RequestBody.fromContentProvider(() -> slice(source, from, length), length,
                            "application/octet-stream")).eTag();
            parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
        }
        s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)
                .multipartUpload(m -> m.parts(parts)));
        long nanos = System.nanoTime() - t0;
        s3.deleteObject(b -> b.bucket(bucket).key(key));
        return mbPerSecond(size, nanos);
    }

    /** {@code length} bytes of {@code file} from {@code offset}, as a fresh stream (the SDK may retry). */
    private static InputStream slice(Path file, long offset, long length) {
        try {
            InputStream in = Files.newInputStream(file);
            in.skipNBytes(offset);
            return new FilterInputStream(in) {
                private long left = length;

                @Override
                public int read() throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int b = super.read();
                    if (b >= 0) {
                        left--;
                    }
                    return b;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (left <= 0) {
                        return -1;
                    }
                    int n = super.read(b, off, (int) Math.min(len, left));
                    if (n > 0) {
                        left -= n;
                    }
                    return n;
                }
            };
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
