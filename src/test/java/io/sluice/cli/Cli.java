package io.sluice.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

/** Runs {@code sluice <args>} in this JVM with captured output, as the client tests need. */
final class Cli {

    private Cli() {
    }

    /** What a run printed and returned. */
    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** A run whose output can be read while it goes on. */
    static final class Live {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();

        synchronized String out() {
            return out.toString();
        }

        Run run(String... args) {
            var cli = Main.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            int exit = cli.execute(args);
            return new Run(exit, out.toString(), err.toString());
        }
    }

    static Run run(String... args) {
        return new Live().run(args);
    }

    /** A file of {@code size} pseudo-random bytes. */
    static Path randomFile(Path dir, String name, int size, long seed) throws Exception {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return Files.write(dir.resolve(name), b);
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
