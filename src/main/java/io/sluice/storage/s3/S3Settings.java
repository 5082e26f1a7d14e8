package io.sluice.storage.s3;

import java.net.URI;
import java.time.Duration;

/**
 * Where and how blobs live in an S3-compatible bucket ({@code storage.type: s3}). Validated by the config loader;
 * consumers never re-validate.
 *
 * @param endpoint      the service URL ({@code http://127.0.0.1:9000}); null for AWS's own endpoint of the region
 * @param region        signing region; S3-compatible servers mostly accept any ({@code us-east-1})
 * @param bucket        an existing bucket; Sluice never creates or deletes buckets
 * @param accessKey     static access key; empty with {@code secretKey} empty = the SDK's default credential chain
 *                      (environment, profile, instance role)
 * @param secretKey     static secret key; a credential, never printed
 * @param pathStyle     {@code http://host/bucket/key} instead of {@code http://bucket.host/key} (MinIO, s3proxy)
 * @param prefix        prepended to every object key, empty or ending with {@code /}, so one bucket can hold
 *                      several Sluice installations
 * @param partSize      bytes per multipart part; S3 needs at least {@link #MIN_PART_SIZE} except for the last
 * @param downloads     how the download endpoints serve a blob
 * @param presignExpiry lifetime of a presigned download redirect
 */
public record S3Settings(URI endpoint, String region, String bucket, String accessKey, String secretKey,
                         boolean pathStyle, String prefix, long partSize, Downloads downloads,
                         Duration presignExpiry) {

    public static final String DEFAULT_REGION = "us-east-1";
    public static final long DEFAULT_PART_SIZE = 8L * 1024 * 1024;
    /** S3's smallest part (all but the last); below it CompleteMultipartUpload fails with EntityTooSmall. */
    public static final long MIN_PART_SIZE = 5L * 1024 * 1024;
    /** S3's largest part. */
    public static final long MAX_PART_SIZE = 5L * 1024 * 1024 * 1024;
    /** S3 allows at most this many parts per multipart upload. */
    public static final int MAX_PARTS = 10_000;
    public static final Duration DEFAULT_PRESIGN_EXPIRY = Duration.ofMinutes(15);
    /** SigV4 presigned URLs live at most seven days. */
    public static final Duration MAX_PRESIGN_EXPIRY = Duration.ofDays(7);

    /** How {@code GET} of a finished upload's content is answered. */
    public enum Downloads {
        /** Sluice streams the bytes (ranges included) from storage. */
        STREAM,
        /** Sluice answers 302 to a presigned GET, so the bytes go from storage to the client directly. */
        REDIRECT
    }

    public S3Settings {
        prefix = prefix == null ? "" : prefix;
        accessKey = accessKey == null ? "" : accessKey;
        secretKey = secretKey == null ? "" : secretKey;
    }

    /** True when static credentials are configured (otherwise the SDK's default chain is used). */
    public boolean staticCredentials() {
        return !accessKey.isEmpty();
    }

    /** The object key of the committed blob {@code key}. */
    public String blobObject(String key) {
        return prefix + "blobs/" + key;
    }

    /** The object-key prefix under which this installation's committed blobs live. */
    public String blobPrefix() {
        return prefix + "blobs/";
    }

    /** Never prints the secret key. */
    @Override
    public String toString() {
        return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + ", accessKey="
                + (accessKey.isEmpty() ? "(default chain)" : accessKey) + ", secretKey="
                + (secretKey.isEmpty() ? "" : "(set)") + ", pathStyle=" + pathStyle + ", prefix=" + prefix
                + ", partSize=" + partSize + ", downloads=" + downloads + ", presignExpiry=" + presignExpiry + "]";
    }
}
