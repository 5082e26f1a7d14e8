package io.sluice.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sluice.testing.Json;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * The application a test's Sluice asks: a JDK HTTP server on loopback answering {@code /create} and {@code /finish}
 * with what the test sets, recording every call (its signature header and body).
 */
final class HookApp implements AutoCloseable {

    /** One answer: its status and body, sent after {@code delayMillis}. */
    record Reply(int status, String body, long delayMillis) {
        static Reply allow() {
            return json("{\"allow\": true}");
        }

        static Reply json(String body) {
            return new Reply(200, body, 0);
        }

        static Reply refuse(int status, String message) {
            return json("{\"allow\": false, \"status\": " + status + ", \"message\": \"" + message + "\"}");
        }
    }

    /** A call as the application received it. */
    record Call(String hook, String hookHeader, String signature, byte[] body, JsonNode json) {
    }

    private final HttpServer http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    volatile Function<JsonNode, Reply> preCreate = j -> Reply.allow();
    volatile Function<JsonNode, Reply> preFinish = j -> Reply.allow();

    HookApp() throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.setExecutor(executor);
        http.createContext("/create", ex -> answer(ex, "preCreate"));
        http.createContext("/finish", ex -> answer(ex, "preFinish"));
        http.start();
    }

    private void answer(HttpExchange ex, String hook) throws IOException {
        try (ex) {
            byte[] body = ex.getRequestBody().readAllBytes();
            JsonNode json = Json.parse(new String(body, StandardCharsets.UTF_8));
            calls.add(new Call(hook, ex.getRequestHeaders().getFirst("Sluice-Hook"),
                    ex.getRequestHeaders().getFirst("Sluice-Signature"), body, json));
            Reply r = (hook.equals("preCreate") ? preCreate : preFinish).apply(json);
            if (r.delayMillis() > 0) {
                try {
                    Thread.sleep(r.delayMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
            byte[] out = r.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(r.status(), out.length);
            ex.getResponseBody().write(out);
        } catch (IOException e) {
            // Sluice gave up waiting (a timeout test): nothing to answer to.
        }
    }

    /** The URL of a hook; the query stands for a token the application puts there (never shown by Sluice). */
    String url(String path) {
        return "http://127.0.0.1:" + http.getAddress().getPort() + path + "?token=app-token-in-query";
    }

    int port() {
        return http.getAddress().getPort();
    }

    List<Call> calls(String hook) {
        return calls.stream().filter(c -> c.hook().equals(hook)).toList();
    }

    /** Checks {@code Sluice-Signature} the way README "Events: webhooks" tells receivers to. */
    static boolean verifies(String secret, Call call) {
        String[] parts = call.signature().split(",");
        String t = parts[0].substring(2);
        String v1 = parts[1].substring(3);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((t + ".").getBytes(StandardCharsets.US_ASCII));
            byte[] expected = mac.doFinal(call.body());
            return MessageDigest.isEqual(HexFormat.of().formatHex(expected).getBytes(StandardCharsets.US_ASCII),
                    v1.getBytes(StandardCharsets.US_ASCII))
                    && Math.abs(System.currentTimeMillis() / 1000 - Long.parseLong(t)) < 300;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}
