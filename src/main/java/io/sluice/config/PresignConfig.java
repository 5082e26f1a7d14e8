package io.sluice.config;

import java.time.Duration;

/**
 * Presigned direct uploads ({@code POST /api/v1/uploads/presign}).
 *
 * @param expiry     how long a presigned URL is valid; an upload not completed by then is swept with its bytes
 * @param secret     HMAC-SHA256 key of Sluice-signed URLs (local storage); empty: generated once into the data
 *                   directory
 * @param eventToken the bearer token the storage event endpoint requires; empty: the endpoint refuses every call
 */
public record PresignConfig(Duration expiry, String secret, String eventToken) {

    public static final Duration DEFAULT_EXPIRY = Duration.ofMinutes(15);
    /** S3 refuses presigned URLs valid for longer than a week; the same bound keeps local URLs comparable. */
    public static final Duration MAX_EXPIRY = Duration.ofDays(7);
    /** Where a generated secret is kept, in the data directory. */
    public static final String SECRET_FILE = "presign-secret";

    /** Expired uploads are looked for a few times per expiry period, between once a second and once a minute. */
    public Duration sweepInterval() {
        Duration quarter = expiry.dividedBy(4);
        Duration min = Duration.ofSeconds(1);
        Duration max = Duration.ofMinutes(1);
        return quarter.compareTo(min) < 0 ? min : quarter.compareTo(max) > 0 ? max : quarter;
    }
}
