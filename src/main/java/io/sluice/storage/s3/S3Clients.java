package io.sluice.storage.s3;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.time.Duration;

/**
 * Builds the SDK clients for one {@link S3Settings}; shared by every S3 component (blobs, resumable uploads,
 * presigning) so that they all talk to the bucket the same way.
 *
 * <p>Choices, each for S3-compatible servers as much as for AWS:
 * <ul>
 *   <li>the URL-connection HTTP client: no Netty, Apache or CRT on the classpath, and it streams request bodies
 *       from a {@code ContentStreamProvider} without buffering them;</li>
 *   <li>checksums only where the API requires them ({@code WHEN_REQUIRED}): the SDK's default since 2.30 sends
 *       CRC32 trailers in aws-chunked bodies, which several S3-compatible servers refuse; the bytes are covered by
 *       SigV4 payload hashing over plain HTTP and by TLS over HTTPS, and Sluice keeps its own sha256;</li>
 *   <li>static credentials when configured, else the SDK's default chain.</li>
 * </ul>
 */
public final class S3Clients {

    /** Time to open a TCP connection to the endpoint. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Longest silence on an open connection (a part upload in progress is not silent). */
    public static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(60);

    private S3Clients() {
    }

    /** A new synchronous client; the caller closes it. */
    public static S3Client client(S3Settings s) {
        SdkHttpClient http = UrlConnectionHttpClient.builder()
                .connectionTimeout(CONNECT_TIMEOUT)
                .socketTimeout(SOCKET_TIMEOUT)
                .build();
        var builder = S3Client.builder()
                .httpClient(http)
                .region(Region.of(s.region()))
                .credentialsProvider(credentials(s))
                .forcePathStyle(s.pathStyle())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        if (s.endpoint() != null) {
            builder.endpointOverride(s.endpoint());
        }
        return builder.build();
    }

    /** A new presigner (no network use: it only signs); the caller closes it. */
    public static S3Presigner presigner(S3Settings s) {
        var builder = S3Presigner.builder()
                .region(Region.of(s.region()))
                .credentialsProvider(credentials(s))
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(s.pathStyle()).build());
        if (s.endpoint() != null) {
            builder.endpointOverride(s.endpoint());
        }
        return builder.build();
    }

    private static AwsCredentialsProvider credentials(S3Settings s) {
        if (s.staticCredentials()) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(s.accessKey(), s.secretKey()));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
