package io.sluice.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code sluice upload} remembers between runs: a small JSON file mapping a key (server, absolute path, size and
 * modification time of the file) to either the URL of an unfinished upload or the id and sha256 of a finished one.
 * A file that changed gets a new key, so it is never resumed into an old upload nor taken for one already stored.
 * Read and rewritten (atomically, through a temp file) on each change; safe for the threads of one process.
 *
 * <p>Finished entries are what lets a rerun after Ctrl-C skip the files already stored. They are pruned on each
 * write once older than {@link #KEEP_FINISHED}, or as soon as the file they describe is gone or changed (its size
 * or modification time differs), since their key can then never match again.
 */
public final class UploadState {

    /** How long a finished upload is remembered: long enough for any rerun of an interrupted batch. */
    public static final Duration KEEP_FINISHED = Duration.ofDays(30);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Clock clock;

    public UploadState(Path file) {
        this(file, Clock.systemUTC());
    }

    UploadState(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
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

    /** What is known of one local file on one server. */
    public sealed interface Entry permits Unfinished, Finished {
    }

    /** An upload started and not yet complete: ask the server for its offset. */
    public record Unfinished(URI url) implements Entry {
    }

    /** An upload stored and verified; {@code jobId} is null when no pipeline applied. */
    public record Finished(String uploadId, String sha256, String jobId) implements Entry {
    }

    /** The key of a local file as uploaded to a server. */
    public static String key(URI server, Path path) throws IOException {
        Path abs = path.toAbsolutePath().normalize();
        long size = Files.size(abs);
        FileTime mtime = Files.getLastModifiedTime(abs);
        return server + "|" + abs + "|" + size + "|" + mtime.toMillis();
    }

    public synchronized Optional<Entry> find(String key) throws IOException {
        JsonNode e = read().get(key);
        if (e == null) {
            return Optional.empty();
        }
        if (e.hasNonNull("uploadId")) {
            return Optional.of(new Finished(e.path("uploadId").asText(), e.path("sha256").asText(),
                    e.hasNonNull("jobId") ? e.path("jobId").asText() : null));
        }
        return e.hasNonNull("url") ? Optional.of(new Unfinished(URI.create(e.path("url").asText())))
                : Optional.empty();
    }

    /** Remembers an upload just created for {@code path}. */
    public synchronized void put(String key, Path path, URI url) throws IOException {
        ObjectNode all = read();
        describe(all.putObject(key), path).put("url", url.toString()).put("savedAt", clock.instant().toString());
        write(all);
    }

    /** Replaces the entry with the stored upload, so that a rerun skips the file. */
    public synchronized void finished(String key, Path path, Finished done) throws IOException {
        ObjectNode all = read();
        ObjectNode e = describe(all.putObject(key), path).put("uploadId", done.uploadId())
                .put("sha256", done.sha256());
        if (done.jobId() != null) {
            e.put("jobId", done.jobId());
        }
        e.put("savedAt", clock.instant().toString());
        write(all);
    }

    public synchronized void remove(String key) throws IOException {
        ObjectNode all = read();
        if (all.remove(key) != null) {
            write(all);
        }
    }

    /** The path, size and mtime in fields of their own, so pruning need not parse the key (a path may hold '|'). */
    private static ObjectNode describe(ObjectNode e, Path path) throws IOException {
        Path abs = path.toAbsolutePath().normalize();
        return e.put("path", abs.toString()).put("size", Files.size(abs))
                .put("mtime", Files.getLastModifiedTime(abs).toMillis());
    }

    /** Drops finished entries that are too old or whose file is gone or changed. */
    private void prune(ObjectNode all) {
        Instant cutoff = clock.instant().minus(KEEP_FINISHED);
        for (Iterator<Map.Entry<String, JsonNode>> it = all.properties().iterator(); it.hasNext(); ) {
            JsonNode e = it.next().getValue();
            if (!e.hasNonNull("uploadId")) {
                continue;
            }
            if (savedAt(e).isBefore(cutoff) || changed(e)) {
                it.remove();
            }
        }
    }

    private static Instant savedAt(JsonNode e) {
        try {
            return Instant.parse(e.path("savedAt").asText());
        } catch (DateTimeParseException unreadable) {
            return Instant.EPOCH;
        }
    }

    private static boolean changed(JsonNode e) {
        if (!e.hasNonNull("path")) {
            return false;
        }
        try {
            Path p = Path.of(e.path("path").asText());
            return !Files.isRegularFile(p) || Files.size(p) != e.path("size").asLong()
                    || Files.getLastModifiedTime(p).toMillis() != e.path("mtime").asLong();
        } catch (IOException | RuntimeException gone) {
            return true;
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
        prune(all);
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
