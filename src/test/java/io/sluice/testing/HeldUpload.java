package io.sluice.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

/**
 * A raw {@code PUT /api/v1/uploads/{name}} whose body is sent in two steps: the headers (with the full
 * Content-Length) and a first part now, the rest on {@link #finish()}. Between the two the server holds the upload
 * in flight: a slot, a client share and a pooled buffer.
 */
public final class HeldUpload implements AutoCloseable {

    private final RawHttp raw;
    private final byte[] body;
    private int sent;

    private HeldUpload(RawHttp raw, byte[] body) {
        this.raw = raw;
        this.body = body;
    }

    /**
     * @param localAddress loopback address to connect from (a different one is a different client), or null
     * @param firstPart    body bytes sent right away
     */
    public static HeldUpload start(int port, String localAddress, String filename, byte[] body, int firstPart)
            throws IOException {
        return start(port, localAddress, filename, body, firstPart, "");
    }

    /** @param headers extra header lines, each ending in CRLF ({@code "Authorization: Bearer k\r\n"}) */
    public static HeldUpload start(int port, String localAddress, String filename, byte[] body, int firstPart,
                                   String headers) throws IOException {
        RawHttp raw = new RawHttp(localAddress, port, 60_000);
        HeldUpload held = new HeldUpload(raw, body);
        raw.send("PUT /api/v1/uploads/" + filename + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
                + "Content-Type: application/octet-stream\r\nContent-Length: " + body.length + "\r\n\r\n");
        held.sendMore(firstPart);
        return held;
    }

    /** Sends up to {@code n} more body bytes. */
    public HeldUpload sendMore(int n) throws IOException {
        int end = Math.min(body.length, sent + n);
        if (end > sent) {
            byte[] part = new byte[end - sent];
            System.arraycopy(body, sent, part, 0, part.length);
            raw.send(part);
            sent = end;
        }
        return this;
    }

    /**
     * Sends the rest of the body and reads the response. When the server already answered and closed (so the
     * send fails), that early answer is returned instead, which says more than a broken pipe.
     */
    public RawResponse finish() throws IOException {
        try {
            sendMore(body.length - sent);
        } catch (IOException sendFailed) {
            try {
                return raw.readResponse();
            } catch (IOException noAnswer) {
                sendFailed.addSuppressed(noAnswer);
                throw sendFailed;
            }
        }
        return raw.readResponse();
    }

    /** Reads a response without sending more (for an upload refused or cut before its end). */
    public RawResponse response() throws IOException {
        return raw.readResponse();
    }

    public RawHttp raw() {
        return raw;
    }

    @Override
    public void close() throws IOException {
        raw.close();
    }

    /** A single complete raw PUT from {@code localAddress} (null: any), answered on the same connection. */
    public static RawResponse put(int port, String localAddress, String filename, byte[] body) throws IOException {
        try (HeldUpload u = start(port, localAddress, filename, body, body.length)) {
            return u.response();
        }
    }

    /** Reproducible non-text bytes. */
    public static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** For tests that build request text by hand. */
    public static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
