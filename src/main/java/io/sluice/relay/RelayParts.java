package io.sluice.relay;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.StrictPartsListener;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A multipart/form-data request received for relaying: file parts spooled to temp files under the relay's temp
 * directory, small fields in memory. Fed by Jetty's push parser; as in the upload path, the parser swallows
 * listener exceptions, so the first failure is kept and {@link #throwIfFailed()} is checked after every chunk.
 * {@link #close()} deletes every temp file, whatever happened.
 */
final class RelayParts extends StrictPartsListener implements AutoCloseable {

    static final int MAX_FIELD_BYTES = 64 * 1024;

    /** One received part: its name, filename (null for a field), content type, and bytes or spooled file. */
    record Part(String name, String fileName, String contentType, byte[] value, Path file) {
    }

    private final Path tmpDir;
    private final long maxFileSize;
    private final List<Part> parts = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();
    private FileChannel channel;
    private Path currentFile;
    private long currentSize;
    private ByteArrayOutputStream field;

    RelayParts(Path tmpDir, int maxFiles, long maxFileSize) {
        super(maxFiles);
        this.tmpDir = tmpDir;
        this.maxFileSize = maxFileSize;
    }

    @Override
    public void onPartHeaders() {
        if (failed()) {
            return;
        }
        try {
            if (getName() == null || getName().isEmpty()) {
                throw ErrorCode.MALFORMED_MULTIPART.error("a form part has no name");
            }
            if (getFileName() != null && getFileName().isEmpty()) {
                return; // a browser form's file input left empty: not a file, nothing to relay
            }
            if (getFileName() != null) {
                if (files.size() >= maxFiles) {
                    throw ErrorCode.TOO_MANY_FILES.error("at most " + maxFiles
                            + " files may be relayed in one request", Map.of("limit", maxFiles));
                }
                currentFile = tmpDir.resolve("relay-" + UUID.randomUUID() + ".part");
                files.add(currentFile); // before creating it: close() must find it whatever fails next
                channel = FileChannel.open(currentFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                currentSize = 0;
            } else {
                if (parts.size() - files.size() >= MAX_FIELDS) {
                    throw tooManyFields();
                }
                field = new ByteArrayOutputStream();
            }
        } catch (Exception e) {
            fail(e);
        }
    }

    @Override
    public void onPartContent(Content.Chunk chunk) {
        try {
            if (failed() || !chunk.hasRemaining()) {
                return;
            }
            ByteBuffer bytes = chunk.getByteBuffer().slice();
            if (channel != null) {
                currentSize += bytes.remaining();
                if (currentSize > maxFileSize) {
                    throw ErrorCode.FILE_TOO_LARGE.error("a relayed file may be at most " + maxFileSize
                            + " bytes", Map.of("limit", maxFileSize));
                }
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            } else if (field != null) {
                if (field.size() + bytes.remaining() > MAX_FIELD_BYTES) {
                    throw ErrorCode.FIELD_TOO_LARGE.error("form field '" + getName()
                            + "' is longer than " + MAX_FIELD_BYTES + " bytes", Map.of("limit", MAX_FIELD_BYTES));
                }
                byte[] tmp = new byte[bytes.remaining()];
                bytes.get(tmp);
                field.write(tmp);
            }
        } catch (Exception e) {
            fail(e);
        }
    }

    @Override
    public void onPart(String name, String fileName, HttpFields headers) {
        if (failed()) {
            return;
        }
        try {
            String type = headers.get(HttpHeader.CONTENT_TYPE);
            if (channel != null) {
                channel.close();
                channel = null;
                parts.add(new Part(name, fileName, type == null ? "application/octet-stream" : type, null,
                        currentFile));
            } else if (field != null) {
                parts.add(new Part(name, null, type, field.toByteArray(), null));
            }
            // An empty file input (filename="") is dropped, as browsers send one for a file field left empty.
        } catch (Exception e) {
            fail(e);
        } finally {
            field = null;
            currentFile = null;
        }
    }

    /** The parts, once the whole body parsed. */
    List<Part> parts() throws IOException {
        requireComplete();
        return List.copyOf(parts);
    }

    /**
     * A fresh request body (it can be sent again to the next target): each part's headers, then its bytes
     * streamed from the temp file. Every piece has a known length, so the target gets a Content-Length.
     */
    static HttpRequest.BodyPublisher body(List<Part> parts, String boundary) throws IOException {
        List<HttpRequest.BodyPublisher> pieces = new ArrayList<>();
        for (Part p : parts) {
            StringBuilder head = new StringBuilder("--").append(boundary).append("\r\n")
                    .append("Content-Disposition: form-data; name=\"").append(quote(p.name())).append('"');
            if (p.fileName() != null) {
                head.append("; filename=\"").append(quote(p.fileName())).append('"');
            }
            head.append("\r\n");
            if (p.contentType() != null) {
                head.append("Content-Type: ").append(p.contentType().replaceAll("[\r\n]", "")).append("\r\n");
            }
            head.append("\r\n");
            pieces.add(HttpRequest.BodyPublishers.ofByteArray(head.toString().getBytes(StandardCharsets.UTF_8)));
            pieces.add(p.file() != null ? HttpRequest.BodyPublishers.ofFile(p.file())
                    : HttpRequest.BodyPublishers.ofByteArray(p.value()));
            pieces.add(HttpRequest.BodyPublishers.ofByteArray("\r\n".getBytes(StandardCharsets.US_ASCII)));
        }
        pieces.add(HttpRequest.BodyPublishers.ofByteArray(("--" + boundary + "--\r\n")
                .getBytes(StandardCharsets.US_ASCII)));
        return HttpRequest.BodyPublishers.concat(pieces.toArray(HttpRequest.BodyPublisher[]::new));
    }

    /** Quoted-string content as browsers write it (WHATWG): quote and newlines percent-encoded. */
    private static String quote(String s) {
        return s.replace("\"", "%22").replace("\r", "%0D").replace("\n", "%0A");
    }

    @Override
    public void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // deleting it next is what matters
            }
        }
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException ignored) {
                // swept at the next start
            }
        }
    }
}
