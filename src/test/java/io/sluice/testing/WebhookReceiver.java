package io.sluice.testing;

import com.sun.net.httpserver.HttpServer;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one webhook receiver of the tests, on loopback (the JDK's HTTP server): answers 500 to the first
 * {@link #failNext} requests and 204 afterwards, keeps every request it got, and checks signatures the way the
 * README tells receivers to.
 */
public final class WebhookReceiver implements AutoCloseable {

    /** One request as it arrived; header names are lower case. */
    public record Received(Map<String, String> headers, String body, int answered) {

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** Whether the {@code Sluice-Signature} header is the HMAC of this body under {@code secret}, and fresh. */
        public boolean signedWith(String secret) throws Exception {
            String h = header("Sluice-Signature");
            if (h == null || !h.matches("t=\\d+,v1=[0-9a-f]{64}")) {
                return false;
            }
            String t = h.substring(2, h.indexOf(','));
            String v1 = h.substring(h.indexOf("v1=") + 3);
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            byte[] expected = mac.doFinal((t + "." + body).getBytes(StandardCharsets.UTF_8));
            return MessageDigest.isEqual(expected, HexFormat.of().parseHex(v1))
                    && Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(t)) < 300;
        }
    }

    /** Requests still to be answered 500; tests set it to 0 to let deliveries through. */
    public final AtomicInteger failNext = new AtomicInteger();
    public final List<Received> received = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    /** @param failFirst how many requests to answer 500 before answering 204 */
    public WebhookReceiver(int failFirst) throws IOException {
        failNext.set(failFirst);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            Map<String, String> headers = new HashMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v.getFirst()));
            int status = failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0 ? 500 : 204;
            received.add(new Received(headers, body, status));
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    /** The requests answered 2xx, in arrival order. */
    public List<Received> accepted() {
        return received.stream().filter(r -> r.answered() / 100 == 2).toList();
    }

    /** A loopback URL nothing listens on. */
    public static String deadUrl() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + s.getLocalPort() + "/down";
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
