package io.sluice.bench;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A minimal HTTP/1.1 client over one keep-alive connection, for the tus benchmark: it sends a request body straight
 * from a file region with {@link FileChannel#transferTo} ({@code sendfile} on Linux: no copy through the client's
 * memory), so the client costs both servers the same and as little CPU as possible.
 *
 * <p>Responses: status, headers (names lower-cased), and a body of {@code Content-Length} or chunked framing, read
 * whole (tus answers have empty or tiny bodies). Every request is bounded: a watchdog closes the connection when
 * the request has not been answered within its timeout, which fails the blocked read or write.
 *
 * <p>Not thread-safe: one connection per thread.
 */
final class RawHttpClient implements Closeable {

    /** One answer; {@code headers} keyed by lower-case name. */
    record Response(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** Closes connections whose request ran past its timeout; shared by every client of one benchmark. */
    static final class Watchdog implements Closeable {
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "http-watchdog");
            t.setDaemon(true);
            return t;
        });

        ScheduledFuture<?> arm(Duration timeout, Runnable onExpiry) {
            return timer.schedule(onExpiry, timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            timer.shutdownNow();
        }
    }

    private static final int MAX_HEAD = 64 * 1024;

    private final InetSocketAddress address;
    private final String hostHeader;
    private final Watchdog watchdog;
    private final ByteBuffer in = ByteBuffer.allocate(MAX_HEAD);
    private SocketChannel channel;
    private volatile boolean timedOut;

    RawHttpClient(URI base, Watchdog watchdog) {
        this.address = new InetSocketAddress(base.getHost(), base.getPort());
        this.hostHeader = base.getHost() + ":" + base.getPort();
        this.watchdog = watchdog;
    }

    /**
     * Sends one request and reads its answer.
     *
     * @param headers extra headers, name to value ({@code Host} and {@code Content-Length} are added)
     * @param body    where the body comes from, or null for none
     * @param offset  first byte of the body in {@code body}
     * @param length  body length (0 without a body)
     */
    Response send(String method, String path, Map<String, String> headers, FileChannel body, long offset, long length,
                  Duration timeout) throws IOException {
        return send(method, path, headers, null, body, offset, length, null, timeout);
    }

    /**
     * As {@link #send(String, String, Map, FileChannel, long, long, Duration)}, the body framed by {@code prefix} and
     * {@code suffix} (either may be null), e.g. a multipart part's headers and closing boundary around a file.
     */
    Response send(String method, String path, Map<String, String> headers, byte[] prefix, FileChannel body,
                  long offset, long length, byte[] suffix, Duration timeout) throws IOException {
        byte[] pre = prefix == null ? new byte[0] : prefix;
        byte[] post = suffix == null ? new byte[0] : suffix;
        if (channel == null || !channel.isOpen()) {
            connect();
        }
        SocketChannel ch = channel;
        timedOut = false;
        ScheduledFuture<?> alarm = watchdog.arm(timeout, () -> {
            timedOut = true;
            closeQuietly(ch);
        });
        try {
            StringBuilder head = new StringBuilder(256).append(method).append(' ').append(path)
                    .append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\n");
            for (Map.Entry<String, String> h : headers.entrySet()) {
                head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
            }
            if (body != null || !method.equals("GET") && !method.equals("HEAD")) {
                head.append("Content-Length: ").append(pre.length + length + post.length).append("\r\n");
            }
            head.append("\r\n");
            byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer h = ByteBuffer.allocate(headBytes.length + pre.length).put(headBytes).put(pre).flip();
            while (h.hasRemaining()) {
                ch.write(h);
            }
            long sent = 0;
            while (sent < length) {
                long n = body.transferTo(offset + sent, length - sent, ch);
                if (n <= 0 && !ch.isOpen()) {
                    throw new IOException("connection closed while sending the body");
                }
                sent += n;
            }
            ByteBuffer t = ByteBuffer.wrap(post);
            while (t.hasRemaining()) {
                ch.write(t);
            }
            Response r = readResponse(ch, method.equals("HEAD"));
            if ("close".equalsIgnoreCase(r.header("connection"))) {
                close();
            }
            return r;
        } catch (IOException e) {
            close();
            throw timedOut ? new IOException(method + " " + path + " not answered within " + timeout, e) : e;
        } finally {
            alarm.cancel(false);
        }
    }

    private void connect() throws IOException {
        in.clear().flip();
        channel = SocketChannel.open();
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.connect(address);
    }

    private Response readResponse(SocketChannel ch, boolean headRequest) throws IOException {
        String statusLine = line(ch);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP status line: '" + statusLine + "'");
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = line(ch); !l.isEmpty(); l = line(ch)) {
            int colon = l.indexOf(':');
            if (colon > 0) {
                headers.put(l.substring(0, colon).strip().toLowerCase(Locale.ROOT), l.substring(colon + 1).strip());
            }
        }
        String body = "";
        if (headRequest || status == 204 || status == 304 || status / 100 == 1) {
            return new Response(status, headers, body);
        }
        String te = headers.get("transfer-encoding");
        String cl = headers.get("content-length");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            StringBuilder sb = new StringBuilder();
            while (true) {
                String sizeLine = line(ch);
                int semi = sizeLine.indexOf(';');
                long size = Long.parseLong((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).strip(), 16);
                if (size == 0) {
                    while (!line(ch).isEmpty()) {
                        // trailers: none expected, skipped
                    }
                    break;
                }
                sb.append(bytes(ch, size));
                line(ch);
            }
            body = sb.toString();
        } else if (cl != null) {
            body = bytes(ch, Long.parseLong(cl.strip()));
        } else {
            throw new IOException("a response without framing (status " + status + ") is not supported");
        }
        return new Response(status, headers, body);
    }

    /** One CRLF-terminated line, without the CRLF. */
    private String line(SocketChannel ch) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            while (in.hasRemaining()) {
                char c = (char) (in.get() & 0xff);
                if (c == '\n') {
                    int len = sb.length();
                    return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
                }
                if (sb.length() >= MAX_HEAD) {
                    throw new IOException("response line longer than " + MAX_HEAD + " bytes");
                }
                sb.append(c);
            }
            fill(ch);
        }
    }

    private String bytes(SocketChannel ch, long n) throws IOException {
        if (n > MAX_HEAD) {
            throw new IOException("response body of " + n + " bytes is larger than this client reads");
        }
        byte[] out = new byte[(int) n];
        int got = 0;
        while (got < n) {
            if (!in.hasRemaining()) {
                fill(ch);
            }
            int k = Math.min(in.remaining(), out.length - got);
            in.get(out, got, k);
            got += k;
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private void fill(SocketChannel ch) throws IOException {
        in.clear();
        int n = ch.read(in);
        in.flip();
        if (n < 0) {
            throw new EOFException("the server closed the connection");
        }
    }

    @Override
    public void close() {
        if (channel != null) {
            closeQuietly(channel);
            channel = null;
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
    }
}
