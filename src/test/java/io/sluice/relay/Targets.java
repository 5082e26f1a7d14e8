package io.sluice.relay;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/** Loopback targets for relay and forward tests: live receivers, a closed port, a port that hangs up. */
public final class Targets {

    private Targets() {
    }

    /** A JDK HTTP server on loopback answering every POST with {@code status} and a body of what it got. */
    public static final class Live implements AutoCloseable {
        private final HttpServer server;
        public final AtomicInteger hits = new AtomicInteger();
        public volatile byte[] lastBody = new byte[0];
        public volatile String lastContentType;
        public volatile com.sun.net.httpserver.Headers lastHeaders;

        /** Answers {@code status} with body {@code "<label>:" + request body}, as text/plain. */
        public Live(String label, int status) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", ex -> {
                hits.incrementAndGet();
                try (InputStream in = ex.getRequestBody()) {
                    lastBody = in.readAllBytes();
                }
                lastContentType = ex.getRequestHeaders().getFirst("Content-Type");
                lastHeaders = ex.getRequestHeaders();
                byte[] prefix = (label + ":").getBytes();
                byte[] out = new byte[prefix.length + lastBody.length];
                System.arraycopy(prefix, 0, out, 0, prefix.length);
                System.arraycopy(lastBody, 0, out, prefix.length, lastBody.length);
                ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                ex.sendResponseHeaders(status, out.length);
                ex.getResponseBody().write(out);
                ex.close();
            });
            server.start();
        }

        public String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/in";
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    /** Holds every request until {@link #open()}, then answers 200 "gate". Counts requests as they arrive. */
    public static final class Gate implements AutoCloseable {
        private final HttpServer server;
        private final java.util.concurrent.ExecutorService threads =
                java.util.concurrent.Executors.newCachedThreadPool();
        private final java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(1);
        public final java.util.concurrent.Semaphore arrived = new java.util.concurrent.Semaphore(0);

        public Gate() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(threads);
            server.createContext("/", ex -> {
                try (InputStream in = ex.getRequestBody()) {
                    in.readAllBytes();
                }
                arrived.release();
                try {
                    open.await(60, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                byte[] out = "gate".getBytes();
                try {
                    ex.sendResponseHeaders(200, out.length);
                    ex.getResponseBody().write(out);
                } catch (IOException e) {
                    // the relay gave up on us (its timeout): expected
                }
                ex.close();
            });
            server.start();
        }

        public String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/gate";
        }

        public void open() {
            open.countDown();
        }

        @Override
        public void close() {
            open();
            server.stop(0);
            threads.shutdownNow();
        }
    }

    /** A port nothing listens on: bound, then released (connections are refused). */
    public static String deadUrl() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + s.getLocalPort() + "/dead";
        }
    }

    /** Accepts connections and closes them at once, counting them: a dead service whose tries can be counted. */
    public static final class HangUp implements AutoCloseable {
        private final ServerSocket socket;
        public final AtomicInteger connections = new AtomicInteger();
        private final Thread acceptor;

        public HangUp() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofPlatform().daemon().name("hangup-target").start(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        connections.incrementAndGet();
                        s.setSoLinger(true, 0); // reset: the client sees the failure at once
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        public String url() {
            return "http://127.0.0.1:" + socket.getLocalPort() + "/hangup";
        }

        @Override
        public void close() throws IOException {
            socket.close();
            try {
                acceptor.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
