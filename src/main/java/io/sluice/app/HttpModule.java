package io.sluice.app;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.config.SluiceConfig;
import io.sluice.http.ConnectionCap;
import io.sluice.http.HttpServer;
import io.sluice.http.Listeners;
import io.sluice.http.Router;
import io.sluice.tus.TusApi;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP server on the ports bound before start-up ({@link Listeners}), serving the routes the other modules
 * registered on its {@link Routing}. Created after every module that registers routes, so that it starts after their
 * start-up work (a resumable finish a crash interrupted is recovered before the first request).
 */
public final class HttpModule implements Module {

    private static final Logger log = LoggerFactory.getLogger(HttpModule.class);
    /** After Jetty stops, how long to wait for aborted handlers to finish removing their staged files. */
    private static final long HANDLER_CLEANUP_WAIT_MILLIS = 5_000;

    /**
     * What modules register on before the server exists: the public port's router, the admin port's (health and
     * metrics, unguarded), and the connection cap (health reports its count).
     */
    public record Routing(Router publicRouter, Router adminRouter, ConnectionCap cap) {

        public static Routing create(SluiceConfig config, MeterRegistry metrics) {
            return new Routing(new Router(Request::getRemoteAddr, config.admission().retryAfter()),
                    new Router(Request::getRemoteAddr, config.admission().retryAfter()),
                    new ConnectionCap(config.server().maxConnections(), config.server().maxConnectionsPerClient(),
                            metrics));
        }

        /** {@code "METHOD /pattern"} of every route, the public port's then the admin port's. */
        public List<String> routes() {
            List<String> all = new ArrayList<>(publicRouter.routes());
            all.addAll(adminRouter.routes());
            return List.copyOf(all);
        }
    }

    private final Routing routing;
    private final HttpServer http;
    private volatile Thread stopping;

    public HttpModule(SluiceConfig config, Listeners listeners, Routing routing) throws IOException {
        this.routing = routing;
        http = new HttpServer(config.server(), listeners, routing.publicRouter(), routing.adminRouter(),
                routing.cap(), config.admission().retryAfter(), TusApi.HEADERS);
    }

    public int port() {
        return http.port();
    }

    public int adminPort() {
        return http.adminPort();
    }

    @Override
    public String name() {
        return "http";
    }

    @Override
    public void start() throws Exception {
        http.start();
    }

    /** Stops accepting and gives requests in flight {@code server.shutdownGrace}, while the other modules drain. */
    @Override
    public void drain() {
        stopping = Thread.ofPlatform().name("sluice-http-stop").start(() -> {
            try {
                http.stop();
            } catch (Exception e) {
                log.warn("HTTP server did not stop cleanly: {}", e.toString());
            }
        });
    }

    @Override
    public void stop() {
        Modules.join(stopping);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HANDLER_CLEANUP_WAIT_MILLIS);
        while (routing.publicRouter().inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
    }
}
