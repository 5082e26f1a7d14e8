package io.sluice.testing;

import io.sluice.storage.s3.S3Clients;
import io.sluice.storage.s3.S3Settings;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.junit.jupiter.api.Assumptions;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real S3-compatible server for tests: s3proxy in this JVM on a random loopback port, with its filesystem
 * backend in a temporary directory (so parts and objects never sit on the heap). Started once per test JVM on first
 * use and stopped when the JVM exits; each {@link #newBucket} call gives a test a fresh, empty bucket.
 *
 * <p>When s3proxy cannot start, {@link #get} says so loudly on stderr and skips the calling test through JUnit
 * {@link Assumptions}: a missing S3 server never makes a test pass silently.
 */
public final class S3Server {

    public static final String ACCESS_KEY = "sluice-test-access";
    public static final String SECRET_KEY = "sluice-test-secret-key-0123456789";

    private final S3Proxy proxy;
    private final URI endpoint;
    private final Path baseDir;
    private final S3Client admin;
    private final AtomicInteger buckets = new AtomicInteger();

    private S3Server(S3Proxy proxy, URI endpoint, Path baseDir) {
        this.proxy = proxy;
        this.endpoint = endpoint;
        this.baseDir = baseDir;
        this.admin = S3Clients.client(settings("unused", S3Settings.MIN_PART_SIZE));
    }

    /** Lazily started once per JVM; its outcome (server or failure) is kept in the holder's final field. */
    private static final class Holder {
        static final Object INSTANCE = startOrFailure();
    }

    /** The running server, or a skipped test (with a loud message) when s3proxy cannot start here. */
    public static S3Server get() {
        Object outcome = Holder.INSTANCE;
        if (outcome instanceof Throwable t) {
            System.err.println("*** S3 tests SKIPPED: s3proxy could not start in this JVM: " + t);
            Assumptions.abort("s3proxy could not start: " + t);
        }
        return (S3Server) outcome;
    }

    private static Object startOrFailure() {
        try {
            Path dir = Files.createTempDirectory("sluice-s3proxy");
            Properties props = new Properties();
            props.setProperty("jclouds.filesystem.basedir", dir.toString());
            S3Proxy proxy = S3Proxy.builder()
                    .blobStore(BlobStores.create("filesystem-nio2", props))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                    .endpoint(URI.create("http://127.0.0.1:0"))
                    .ignoreUnknownHeaders(true)
                    .stopTimeout(1000)
                    .build();
            proxy.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("s3proxy did not start within 30 s (state " + proxy.getState() + ")");
                }
                Thread.sleep(10);
            }
            S3Server server = new S3Server(proxy, URI.create("http://127.0.0.1:" + proxy.getPort()), dir);
            Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "s3proxy-stop"));
            return server;
        } catch (Throwable t) {
            return t;
        }
    }

    private void stop() {
        try {
            admin.close();
            proxy.stop();
        } catch (Exception ignored) {
            // the JVM is exiting
        }
        try (Stream<Path> files = Files.walk(baseDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp directory; the OS cleans it eventually
        }
    }

    public URI endpoint() {
        return endpoint;
    }

    /** A request to the storage, as a test sends it. */
    @FunctionalInterface
    public interface Exchange<T> {
        HttpResponse<T> send() throws IOException, InterruptedException;
    }

    /**
     * The answer to a request the storage refuses before reading its body (a bad signature, a wrong signed header).
     * s3proxy then answers and closes the connection while the client is still sending, and the client sometimes
     * loses the answer in the reset ("broken pipe", "header parser received no bytes"): 16-29 of 150 refused 180 KB
     * PUTs here, none of 150 with a 100-byte body, and {@code Expect: 100-continue} did not change it. The length is
     * signed, so a test cannot shorten the body; a lost answer is asked again (bounded), and an answer, once read, is
     * what the test checks.
     */
    public static <T> HttpResponse<T> refusal(Exchange<T> exchange) throws IOException, InterruptedException {
        IOException lost = null;
        for (int attempt = 0; attempt < 8; attempt++) {
            try {
                return exchange.send();
            } catch (IOException e) {
                lost = e;
            }
        }
        throw lost;
    }

    /** An admin client for inspecting buckets (what a test checks was left behind). */
    public S3Client client() {
        return admin;
    }

    /** A new empty bucket with a unique name. */
    public String newBucket() {
        String name = "b" + ProcessHandle.current().pid() + "-" + buckets.incrementAndGet() + "-"
                + Long.toHexString(System.nanoTime() & 0xffffff);
        admin.createBucket(b -> b.bucket(name));
        return name;
    }

    /** Settings for {@code bucket} on this server (path-style, static credentials, no prefix, streamed downloads). */
    public S3Settings settings(String bucket, long partSize) {
        return new S3Settings(endpoint, S3Settings.DEFAULT_REGION, bucket, ACCESS_KEY, SECRET_KEY, true, "",
                partSize, S3Settings.Downloads.STREAM, S3Settings.DEFAULT_PRESIGN_EXPIRY);
    }

    /** Configuration keys for a {@code TestServer} storing into {@code bucket}, followed by {@code more} keys. */
    public String[] serverSettings(String bucket, String... more) {
        List<String> out = new ArrayList<>(List.of(
                "storage.type", "s3",
                "storage.s3.endpoint", endpoint.toString(),
                "storage.s3.bucket", bucket,
                "storage.s3.accessKey", ACCESS_KEY,
                "storage.s3.secretKey", SECRET_KEY,
                "storage.s3.pathStyle", "true"));
        out.addAll(List.of(more));
        return out.toArray(String[]::new);
    }

    /** Every object key in {@code bucket}. */
    public List<String> objects(String bucket) {
        return admin.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream().map(S3Object::key).toList();
    }

    /** The keys of every unfinished multipart upload in {@code bucket}. */
    public List<String> multipartUploads(String bucket) {
        return admin.listMultipartUploads(b -> b.bucket(bucket)).uploads().stream().map(MultipartUpload::key)
                .toList();
    }
}
