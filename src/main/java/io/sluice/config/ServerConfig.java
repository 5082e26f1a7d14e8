package io.sluice.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * HTTP server settings.
 *
 * @param adminPort          second connector for health and metrics only; {@code 0} means none
 * @param minRequestDataRate bytes per second below which a request body upload is cut; {@code 0} disables
 * @param corsOrigins        exact origins allowed for CORS, or {@code *}; empty disables CORS
 * @param trustedHosts       accepted Host header names; empty accepts any
 * @param staticDir          directory served at {@code /} for GET and HEAD requests no route answers; null = off
 * @param headerTimeout      time a request's header block may take to arrive (from connection open for the first
 *                           request, from the request's first byte for later ones on a kept-alive connection)
 * @param maxConnectionsPerClient open connections one peer address may hold; {@code 0} disables
 */
public record ServerConfig(
        String host,
        int port,
        int adminPort,
        int maxConnections,
        Duration idleTimeout,
        long minRequestDataRate,
        Duration shutdownGrace,
        List<String> corsOrigins,
        List<String> trustedHosts,
        int maxRequestHeaderSize,
        Path staticDir,
        Duration headerTimeout,
        int maxConnectionsPerClient) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    public static final int DEFAULT_ADMIN_PORT = 0;
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    public static final long DEFAULT_MIN_REQUEST_DATA_RATE = 1024;
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_REQUEST_HEADER_SIZE = 16 * 1024;
    /** Go's ReadHeaderTimeout and nginx's client_header_timeout are commonly set to 5..60 s; a real client needs ms. */
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    /** An eighth of the default connection limit: a browser opens 6, a busy NAT or CI runner a few dozen. */
    public static final int DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 128;

    public ServerConfig {
        corsOrigins = List.copyOf(corsOrigins);
        trustedHosts = List.copyOf(trustedHosts);
    }
}
