package io.sluice.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Optional;

/**
 * Where unfinished uploads are remembered between runs: a small JSON file mapping a key (server, absolute path,
 * size and modification time of the file) to the upload's URL. A file that changed gets a new key, so it is never
 * resumed into an old upload. Read and rewritten (atomically, through a temp file) on each change; safe for the
 * threads of one process.
 */
public final class UploadState {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    public UploadState(Path file) {
        this.file = file;
    }

    /** {@code $XDG_STATE_HOME/sluice/uploads.json}, else {@code ~/.sluice/uploads.json}. */
    public static Path defaultFile() {
        String xdg = System.getenv("XDG_STATE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "sluice", "uploads.json");
        }
        return Path.of(System.getProperty("user.home"), ".sluice", "uploads.json");
    }

    public Path file() {
        return file;
    }

    /** The key of a local file as uploaded to a server. */
    public static String key(URI server, Path path) throws IOException {
        Path abs = path.toAbsolutePath().normalize();
        long size = Files.size(abs);
        FileTime mtime = Files.getLastModifiedTime(abs);
        return server + "|" + abs + "|" + size + "|" + mtime.toMillis();
    }

    public synchronized Optional<URI> find(String key) throws IOException {
        ObjectNode all = read();
        return all.has(key) ? Optional.of(URI.create(all.path(key).path("url").asText())) : Optional.empty();
    }

    public synchronized void put(String key, URI url) throws IOException {
        ObjectNode all = read();
        all.putObject(key).put("url", url.toString()).put("savedAt", java.time.Instant.now().toString());
        write(all);
    }

    public synchronized void remove(String key) throws IOException {
        ObjectNode all = read();
        if (all.remove(key) != null) {
            write(all);
        }
    }

    private ObjectNode read() throws IOException {
        if (!Files.exists(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile()) instanceof ObjectNode o ? o : JSON.createObjectNode();
        } catch (IOException unreadable) {
            // A damaged state file only costs resumability: start afresh rather than refuse to upload.
            return JSON.createObjectNode();
        }
    }

    private void write(ObjectNode all) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), all);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
