package io.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A raw socket for requests no well-behaved client would send: oversized headers, bodies that stop half-way,
 * senders that trickle. Reads the response as text until the server closes or the timeout passes.
 */
public final class RawHttp implements AutoCloseable {

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    public RawHttp(int port, int readTimeoutMillis) throws IOException {
        this(null, port, readTimeoutMillis);
    }

    /**
     * Connects from a chosen loopback address ({@code 127.0.0.2}, ...) so the server sees a different client, for
     * per-client limits; null lets the system choose.
     */
    public RawHttp(String localAddress, int port, int readTimeoutMillis) throws IOException {
        socket = new Socket();
        if (localAddress != null) {
            socket.bind(new InetSocketAddress(localAddress, 0));
        }
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(readTimeoutMillis);
        out = socket.getOutputStream();
        in = socket.getInputStream();
    }

    public RawHttp send(String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return this;
    }

    public RawHttp send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Reads exactly one response, leaving the connection usable for the next request (keep-alive). */
    public RawResponse readResponse() throws IOException {
        return RawResponse.read(in);
    }

    /** Everything the server sends until it closes the connection or the read times out. */
    public String readAll() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        try {
            int n;
            while ((n = in.read(b)) >= 0) {
                buf.write(b, 0, n);
            }
        } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
            // timeout or reset: return what arrived
        }
        return buf.toString(StandardCharsets.ISO_8859_1);
    }

    /** True when the server closed the connection (EOF or reset) within the read timeout. */
    public boolean closedByServer() {
        try {
            byte[] b = new byte[8192];
            while (true) {
                int n = in.read(b);
                if (n < 0) {
                    return true;
                }
            }
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    public Socket socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
