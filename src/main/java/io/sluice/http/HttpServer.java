package io.sluice.http;

import io.sluice.config.ServerConfig;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.CrossOriginHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;

/**
 * Jetty 12 core handlers on virtual threads: the public connector with its protections, and an optional admin
 * connector for health and metrics that neither the connection cap nor admission ever touch.
 *
 * <p>Both connectors close a connection whose request headers take longer than {@code server.headerTimeout}
 * ({@link HeaderDeadline}); the public one also closes, at accept, connections past
 * {@code server.maxConnectionsPerClient} for their peer address ({@link PerClientConnectionFactory}).
 *
 * <p>Public chain: graceful tracking, busy-connection tracking (for draining), access log + request id, connection
 * cap + trusted hosts, CORS, minimum data rate, {@link Dispatcher} (liveness inline, the rest on a virtual thread),
 * router. Admin chain: access log + request id, dispatcher, admin router.
 */
public final class HttpServer {

    public static final String PUBLIC_CONNECTOR = "public";
    public static final String ADMIN_CONNECTOR = "admin";
    /** Jetty's network read buffer; larger than its 8 KiB default so big uploads take fewer reads. */
    public static final int INPUT_BUFFER_SIZE = 32 * 1024;

    private final Server server;
    private final ServerConnector publicConnector;
    private final ServerConnector adminConnector;
    private final ConnectionCap cap;

    /**
     * @param publicRouter every route, health included
     * @param adminRouter  health and metrics only; used when {@code server.adminPort} is set
     * @param cap          counts connections on the public connector
     * @param retryAfter   sent with connection-cap refusals
     */
    /** @param exposedHeaders response headers of the protocols that browsers may read under CORS */
    /** Binds its own sockets ({@link Listeners#bind}): for a server that has nothing to start before it listens. */
    public HttpServer(ServerConfig config, Router publicRouter, Router adminRouter, ConnectionCap cap,
                      Duration retryAfter, Collection<String> exposedHeaders) throws IOException {
        this(config, Listeners.bind(config), publicRouter, adminRouter, cap, retryAfter, exposedHeaders);
    }

    /** @param listeners the sockets {@link Listeners#bind} bound for this configuration; Jetty owns them from here */
    public HttpServer(ServerConfig config, Listeners listeners, Router publicRouter, Router adminRouter,
                      ConnectionCap cap, Duration retryAfter, Collection<String> exposedHeaders)
            throws IOException {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("sluice-http");
        threads.setVirtualThreadsExecutor(new VirtualThreadPool());
        server = new Server(threads);
        server.setStopTimeout(config.shutdownGrace().toMillis());
        server.setErrorHandler(new JsonErrorHandler(retryAfter));
        server.setRequestLog(AccessLogHandler.unhandledRequests());

        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(config.maxRequestHeaderSize());
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        // Control characters in a path segment reach the route, so a raw PUT named "a%0A.txt" gets the filename
        // policy's 400 invalid_filename rather than Jetty's generic 400. Ambiguous separators stay refused.
        http.setUriCompliance(UriCompliance.DEFAULT.with("sluice", UriCompliance.Violation.SUSPICIOUS_PATH_CHARACTERS));
        HttpConnectionFactory factory = new PerClientConnectionFactory(http, cap);
        factory.setInputBufferSize(INPUT_BUFFER_SIZE);

        this.cap = cap;
        BusyConnections busy = new BusyConnections();
        publicConnector = new ServerConnector(server, factory) {
            @Override
            public CompletableFuture<Void> shutdown() {
                // Jetty would cut every connection's idle timeout to the shutdown idle timeout (1 s) so idle
                // keep-alives close at once; that would also fail an upload whose client paused for a second, at
                // once if the pause had already lasted that long (a 408 the moment the drain began). So Jetty is
                // told to leave the timeouts alone (a negative value), and only connections without a request in
                // progress are cut here; busy ones keep their normal timeout, bounded by the grace, and are cut
                // when their request ends (BusyConnections.release).
                long cut = getShutdownIdleTimeout();
                setShutdownIdleTimeout(-1);
                CompletableFuture<Void> done = super.shutdown();
                setShutdownIdleTimeout(cut);
                for (EndPoint ep : getConnectedEndPoints()) {
                    if (!busy.endPoints.contains(ep)) {
                        ep.setIdleTimeout(cut);
                    }
                }
                return done;
            }
        };
        busy.connector = publicConnector;
        publicConnector.setName(PUBLIC_CONNECTOR);
        publicConnector.setHost(config.host());
        publicConnector.setPort(config.port());
        publicConnector.setIdleTimeout(config.idleTimeout().toMillis());
        publicConnector.addBean(cap);
        publicConnector.addBean(new HeaderDeadline(config.headerTimeout(), publicConnector.getScheduler(),
                cap.headerTimeouts()));
        publicConnector.open(listeners.publicChannel());
        server.addConnector(publicConnector);
        server.addBean(new NetworkConnectionLimit(ConnectionCap.hardLimit(config.maxConnections()), publicConnector));

        Handler publicChain = new Dispatcher(publicRouter, threads.getVirtualThreadsExecutor());
        if (config.minRequestDataRate() > 0) {
            publicChain = new MinimumDataRate(publicChain, config.minRequestDataRate());
        }
        publicChain = new TransferCodings(publicChain);
        if (!config.corsOrigins().isEmpty()) {
            publicChain = cors(publicChain, config, exposedHeaders);
        }
        publicChain = new GuardHandler(publicChain, cap, config.trustedHosts(), retryAfter);
        publicChain = new AccessLogHandler(publicChain);
        busy.setHandler(publicChain);
        publicChain = busy;

        if (config.adminPort() > 0) {
            HttpConfiguration adminHttp = new HttpConfiguration();
            adminHttp.setSendServerVersion(false);
            adminConnector = new ServerConnector(server, new HttpConnectionFactory(adminHttp));
            adminConnector.setName(ADMIN_CONNECTOR);
            adminConnector.setHost(config.host());
            adminConnector.setPort(config.adminPort());
            adminConnector.setIdleTimeout(config.idleTimeout().toMillis());
            adminConnector.addBean(new HeaderDeadline(config.headerTimeout(), adminConnector.getScheduler(),
                    cap.headerTimeouts()));
            adminConnector.open(listeners.adminChannel());
            server.addConnector(adminConnector);
            Handler adminChain = new AccessLogHandler(new Dispatcher(adminRouter, threads.getVirtualThreadsExecutor()));
            server.setHandler(new GracefulHandler(new ByConnector(publicChain, adminChain)));
        } else {
            adminConnector = null;
            server.setHandler(new GracefulHandler(publicChain));
        }
    }

    private static Handler cors(Handler next, ServerConfig config, Collection<String> exposedHeaders) {
        CrossOriginHandler cors = new CrossOriginHandler();
        Set<String> origins = new HashSet<>();
        for (String o : config.corsOrigins()) {
            // Jetty takes regular expressions; our configuration takes literal origins or "*".
            origins.add(o.equals("*") ? "*" : Pattern.quote(o));
        }
        cors.setAllowedOriginPatterns(origins);
        cors.setAllowedMethods(Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"));
        // "*" does not cover Authorization (Fetch standard): browsers sending an API key need it named.
        cors.setAllowedHeaders(Set.of("*", "Authorization"));
        Set<String> exposed = new HashSet<>(Set.of("X-Request-Id", "Retry-After", "ETag", "Content-Range",
                "Content-Disposition", "Location"));
        exposed.addAll(exposedHeaders);
        cors.setExposedHeaders(exposed);
        cors.setAllowCredentials(!config.corsOrigins().contains("*"));
        cors.setPreflightMaxAge(Duration.ofHours(1));
        cors.setHandler(next);
        return cors;
    }

    public void start() throws Exception {
        server.start();
    }

    /** Stops accepting, waits up to {@code server.shutdownGrace} for requests in flight, then aborts the rest. */
    public void stop() throws Exception {
        server.stop();
    }

    public int port() {
        return publicConnector.getLocalPort();
    }

    public int adminPort() {
        return adminConnector == null ? -1 : adminConnector.getLocalPort();
    }

    public ConnectionCap connectionCap() {
        return cap;
    }

    /**
     * Applies {@code server.maxConnectionsPerClient} where Jetty creates a connection: one past its address's share
     * becomes a {@link Refused} connection that closes on open, before the HTTP parser or the connection cap see
     * it. Closing rather than answering 503: an answer needs the request, and the client decides how slowly that
     * arrives; meanwhile it would hold a socket of {@link NetworkConnectionLimit}'s budget.
     */
    private static final class PerClientConnectionFactory extends HttpConnectionFactory {
        private final ConnectionCap cap;

        PerClientConnectionFactory(HttpConfiguration config, ConnectionCap cap) {
            super(config);
            this.cap = cap;
        }

        @Override
        public Connection newConnection(Connector connector, EndPoint endPoint) {
            InetAddress address = endPoint.getRemoteSocketAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
            if (!cap.acquire(address)) {
                return new Refused(endPoint, connector.getExecutor());
            }
            Connection connection = super.newConnection(connector, endPoint);
            connection.addEventListener(new Connection.Listener() {
                @Override
                public void onClosed(Connection c) {
                    cap.release(address);
                }
            });
            return connection;
        }
    }

    private static final class Refused extends AbstractConnection {
        Refused(EndPoint endPoint, Executor executor) {
            super(endPoint, executor);
        }

        @Override
        public void onOpen() {
            super.onOpen();
            getEndPoint().close();
        }

        @Override
        public void onFillable() {
            getEndPoint().close();
        }
    }

    /** Tracks the public connections that have a request in progress, for {@link ServerConnector#shutdown()}. */
    private static final class BusyConnections extends Handler.Wrapper {
        final Set<EndPoint> endPoints = ConcurrentHashMap.newKeySet();
        ServerConnector connector;

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            EndPoint ep = request.getConnectionMetaData().getConnection().getEndPoint();
            endPoints.add(ep);
            boolean handled = false;
            try {
                handled = super.handle(request, response, new Callback.Nested(callback) {
                    @Override
                    public void completed() {
                        release(ep);
                    }
                });
                return handled;
            } finally {
                if (!handled) {
                    release(ep);
                }
            }
        }

        private void release(EndPoint ep) {
            endPoints.remove(ep);
            if (connector.isShutdown()) {
                // Now idle: it must not hold the stop for a whole idle timeout.
                ep.setIdleTimeout(connector.getShutdownIdleTimeout());
            }
        }
    }

    /** Dispatches on the connector a request arrived on. */
    private static final class ByConnector extends Handler.Abstract {
        private final Handler publicChain;
        private final Handler adminChain;

        ByConnector(Handler publicChain, Handler adminChain) {
            this.publicChain = publicChain;
            this.adminChain = adminChain;
            addBean(publicChain);
            addBean(adminChain);
        }

        @Override
        public InvocationType getInvocationType() {
            return Invocable.combine(publicChain.getInvocationType(), adminChain.getInvocationType());
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            ConnectionMetaData meta = request.getConnectionMetaData();
            boolean admin = ADMIN_CONNECTOR.equals(meta.getConnector().getName());
            return (admin ? adminChain : publicChain).handle(request, response, callback);
        }

        @Override
        public void setServer(Server server) {
            super.setServer(server);
            publicChain.setServer(server);
            adminChain.setServer(server);
        }
    }
}
