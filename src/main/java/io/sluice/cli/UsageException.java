package io.sluice.cli;

/**
 * A mistake in how a command was called that only the command itself can see (a {@code --server} that is not a
 * URL): answered like picocli's own parameter errors, one line naming the mistake, then the command's usage, exit 2.
 */
final class UsageException extends RuntimeException {

    UsageException(String message) {
        super(message);
    }
}
