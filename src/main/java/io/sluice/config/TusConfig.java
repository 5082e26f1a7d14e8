package io.sluice.config;

import java.time.Duration;

/**
 * Resumable uploads (tus 1.0 and the IETF draft).
 *
 * @param basePath        where uploads live, starting and ending with {@code /} ({@code /files/})
 * @param expiry          an unfinished upload is swept this long after its last append
 * @param maxMetadataSize largest {@code Upload-Metadata} header
 */
public record TusConfig(String basePath, Duration expiry, int maxMetadataSize) {

    public static final String DEFAULT_BASE_PATH = "/files/";
    public static final Duration DEFAULT_EXPIRY = Duration.ofHours(24);
    public static final int DEFAULT_MAX_METADATA_SIZE = 4 * 1024;
    /** How long a request waits for another request's lock on the same upload before answering 423. */
    public static final Duration LOCK_WAIT = Duration.ofSeconds(3);
    /** A long append records its offset each time this many more bytes are durable. */
    public static final long CHECKPOINT_BYTES = 64L * 1024 * 1024;

    /** The sweeper runs a few times per expiry period, between once a second and every five minutes. */
    public Duration sweepInterval() {
        Duration quarter = expiry.dividedBy(4);
        Duration min = Duration.ofSeconds(1);
        Duration max = Duration.ofMinutes(5);
        return quarter.compareTo(min) < 0 ? min : quarter.compareTo(max) > 0 ? max : quarter;
    }
}
