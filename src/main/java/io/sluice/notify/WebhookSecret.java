package io.sluice.notify;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/** The signing secret: the configured one, or one generated at first start and kept in the data directory. */
public final class WebhookSecret {

    private static final Logger log = LoggerFactory.getLogger(WebhookSecret.class);
    public static final String FILE = "webhook-secret";

    private WebhookSecret() {
    }

    /** Java reports ENOSPC only by its message ({@code FileSystemException} or a plain {@code IOException}). */
    private static boolean diskFull(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t instanceof FileSystemException f ? f.getReason() : t.getMessage();
            if (m != null && m.contains("No space left on device")) {
                return true;
            }
        }
        return false;
    }

    /** {@code configured} when not empty; else the content of {@code <dataDir>/webhook-secret}, created if absent. */
    public static String resolve(String configured, Path dataDir) throws IOException {
        return resolve(configured, dataDir, FILE, "webhooks.secret");
    }

    /**
     * A signing secret: {@code configured} when not empty; else the content of {@code <dataDir>/<fileName>},
     * generated once (also when several processes start on the data directory at the same time).
     *
     * @param settingKey the configuration key that would set it, for the log line
     */
    public static String resolve(String configured, Path dataDir, String fileName, String settingKey)
            throws IOException {
        if (!configured.isEmpty()) {
            return configured;
        }
        Path file = dataDir.resolve(fileName);
        if (!Files.exists(file)) {
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String secret = HexFormat.of().formatHex(random);
            // Written whole under a temporary name, then linked into place (which fails when the file exists): two
            // processes starting on one data directory (serve --no-workers and worker) agree on one secret, and
            // neither can read the file while it is still empty.
            Path temp = dataDir.resolve(fileName + "." + ProcessHandle.current().pid() + "." + System.nanoTime());
            try {
                try {
                    Files.createFile(temp, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
                } catch (UnsupportedOperationException e) {
                    Files.createFile(temp); // not POSIX: the data directory's own permissions protect it
                }
                Files.writeString(temp, secret + "\n", StandardCharsets.UTF_8, StandardOpenOption.WRITE,
                        StandardOpenOption.SYNC);
                try {
                    Files.createLink(file, temp);
                } catch (UnsupportedOperationException | FileSystemException noLinks) {
                    if (noLinks instanceof FileAlreadyExistsException exists) {
                        throw exists;
                    }
                    // A filesystem without hard links: an atomic rename still never shows a half-written file.
                    if (Files.exists(file)) {
                        throw new FileAlreadyExistsException(file.toString());
                    }
                    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
                }
                log.info("generated a signing secret in {} (set {} to use your own)", file.toAbsolutePath(),
                        settingKey);
            } catch (FileAlreadyExistsException e) {
                // Created meanwhile by another process: read it below.
            } catch (IOException e) {
                if (!diskFull(e)) {
                    throw e;
                }
                // A start on a full disk must not fail for want of a few bytes: this process signs with a secret of
                // its own, and the next start with room writes one to keep.
                log.warn("cannot keep a signing secret in {} ({}): using one for this run only (set {} to use your "
                        + "own)", file.toAbsolutePath(), e.getMessage(), settingKey);
                return secret;
            } finally {
                Files.deleteIfExists(temp);
            }
        }
        String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (secret.isEmpty()) {
            throw new IOException(file + " is empty; delete it to generate a new secret");
        }
        return secret;
    }
}
