package io.sluice.http;

import io.sluice.config.ServerConfig;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;

/**
 * The listening sockets, bound before anything else starts (issue 16): a port already in use is then refused
 * before the database opens, secrets are generated or anything is written to the data directory, and before there
 * is anything to drain. {@link HttpServer} hands them to Jetty ({@code ServerConnector.open(channel)}), which
 * accepts on them once it starts; until then connections wait in the backlog.
 *
 * <p>Closing is idempotent: a start that fails after this closes them, and so does Jetty when it stops.
 */
public final class Listeners implements AutoCloseable {

    private final ServerSocketChannel publicChannel;
    private final ServerSocketChannel adminChannel;

    private Listeners(ServerSocketChannel publicChannel, ServerSocketChannel adminChannel) {
        this.publicChannel = publicChannel;
        this.adminChannel = adminChannel;
    }

    /**
     * Binds {@code server.port}, and {@code server.adminPort} when set, on {@code server.host}.
     *
     * @throws PortInUseException naming the port and the key that chooses it
     */
    public static Listeners bind(ServerConfig config) throws IOException {
        ServerSocketChannel pub = open(config.host(), config.port(), "server.port", "--port");
        if (config.adminPort() <= 0) {
            return new Listeners(pub, null);
        }
        try {
            return new Listeners(pub, open(config.host(), config.adminPort(), "server.adminPort", "--admin-port"));
        } catch (IOException | RuntimeException e) {
            pub.close();
            throw e;
        }
    }

    /** As Jetty's {@code ServerConnector.openAcceptChannel}: address reuse on, default backlog, blocking. */
    private static ServerSocketChannel open(String host, int port, String key, String option) throws IOException {
        ServerSocketChannel channel = ServerSocketChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port), 0);
            return channel;
        } catch (BindException e) {
            channel.close();
            throw new PortInUseException(host, port, key, option, e);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    ServerSocketChannel publicChannel() {
        return publicChannel;
    }

    /** Null when there is no admin port. */
    ServerSocketChannel adminChannel() {
        return adminChannel;
    }

    @Override
    public void close() {
        for (ServerSocketChannel c : new ServerSocketChannel[]{publicChannel, adminChannel}) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException e) {
                    // nothing was accepted on it; the process is failing anyway
                }
            }
        }
    }

    /** A port that cannot be bound: one line naming it and the configuration key (and option) that chooses it. */
    public static final class PortInUseException extends BindException {
        private final int port;
        private final String key;

        PortInUseException(String host, int port, String key, String option, BindException cause) {
            super("port " + port + " on " + host + " is not available (" + cause.getMessage() + "): set " + key
                    + " (" + option + ") to a free port, or stop the process using it");
            initCause(cause);
            this.port = port;
            this.key = key;
        }

        public int port() {
            return port;
        }

        /** {@code server.port} or {@code server.adminPort}. */
        public String key() {
            return key;
        }
    }
}
