package io.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds multipart/form-data bodies by hand, so tests control every byte (including malformed ones). */
public final class Multipart {

    private final String boundary;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public Multipart() {
        this("sluiceTestBoundary7MA4YWxkTrZu0gW");
    }

    public Multipart(String boundary) {
        this.boundary = boundary;
    }

    public Multipart file(String field, String filename, byte[] content) {
        header("Content-Disposition: form-data; name=\"" + field + "\"; filename=\"" + filename + "\"\r\n"
                + "Content-Type: application/octet-stream\r\n");
        out.writeBytes(content);
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    public Multipart field(String name, String value) {
        header("Content-Disposition: form-data; name=\"" + name + "\"\r\n");
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    private void header(String headers) {
        out.writeBytes(("--" + boundary + "\r\n" + headers + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The body with its closing boundary. */
    public byte[] build() {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        copy.writeBytes(out.toByteArray());
        copy.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return copy.toByteArray();
    }

    /** The body without its closing boundary (a truncated upload). */
    public byte[] buildUnterminated() {
        return out.toByteArray();
    }

    public String contentType() {
        return "multipart/form-data; boundary=" + boundary;
    }
}
