package io.sluice.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writing a download to a file: the bytes go to {@code FILE.part} beside it, renamed to {@code FILE} only when
 * complete, so an interrupted download never leaves a truncated file under the final name (and {@code uploads
 * download} can take the part up again).
 */
final class Downloads {

    private Downloads() {
    }

    static Path partOf(Path file) {
        return file.resolveSibling(file.getFileName() + ".part");
    }

    /** Streams {@code in} into a fresh {@code FILE.part}, then renames it; returns the bytes written. */
    static long toFile(InputStream in, Path file) throws IOException {
        Path part = partOf(file);
        long n;
        try (OutputStream out = Files.newOutputStream(part)) {
            n = in.transferTo(out);
        }
        complete(part, file);
        return n;
    }

    /** Opens {@code FILE.part} to append to (created when missing). */
    static OutputStream append(Path part) throws IOException {
        return Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
    }

    static void complete(Path part, Path file) throws IOException {
        try {
            Files.move(part, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(part, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
