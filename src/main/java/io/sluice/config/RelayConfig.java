package io.sluice.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One entry of the {@code relay:} section of {@code sluice.yaml}: {@code POST /relay/<name>} forwards the request
 * to the first healthy target, in order. Validated by {@link ConfigLoader}.
 *
 * @param name           {@code [a-z0-9][a-z0-9-]*}, at most 64 characters; the last segment of the route
 * @param targets        http(s) URLs, at least one, tried in this order
 * @param timeout        longest wait for one target's whole answer
 * @param maxFiles       file parts accepted in one multipart request
 * @param maxFileSize    largest file part, in bytes
 * @param maxConnections relayed requests of this route in progress at once; more are answered 503
 */
public record RelayConfig(String name, List<URI> targets, Duration timeout, int maxFiles, long maxFileSize,
                          int maxConnections) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_FILES = 5;
    public static final long DEFAULT_MAX_FILE_SIZE = 10L << 20;
    public static final int DEFAULT_MAX_CONNECTIONS = 50;

    public RelayConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(timeout, "timeout");
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a relay needs at least one target");
        }
    }
}
