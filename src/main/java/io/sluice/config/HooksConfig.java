package io.sluice.config;

import java.time.Duration;

/**
 * Upload hooks ({@code io.sluice.hooks}): URLs of the application that Sluice asks before an upload is created and
 * before a stored upload is listed.
 *
 * @param preCreate URL called before an upload is created; empty: none
 * @param preFinish URL called once an upload's bytes are all stored, before it is listed and its job queued; empty:
 *                  none
 * @param timeout   how long one call may take (connect included) before it counts as failed
 * @param failOpen  true: a failed call (timeout, error, malformed answer) lets the upload through; false (default):
 *                  it is refused {@code 503 hook_unavailable}
 */
public record HooksConfig(String preCreate, String preFinish, Duration timeout, boolean failOpen) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration MIN_TIMEOUT = Duration.ofMillis(100);
    /** A hook answers while a client waits for its request: longer than this is a design error, not a setting. */
    public static final Duration MAX_TIMEOUT = Duration.ofSeconds(60);

    public static HooksConfig defaults() {
        return new HooksConfig("", "", DEFAULT_TIMEOUT, false);
    }

    /** Whether any hook is configured. */
    public boolean any() {
        return !preCreate.isEmpty() || !preFinish.isEmpty();
    }
}
