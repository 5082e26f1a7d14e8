package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.client.ClientException;
import io.sluice.client.SluiceClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * {@code sluice uploads list|show|download|delete}: stored uploads from the command line, over the uploads API.
 * Exit 1 when the server refuses (an unknown id is {@code 404 not_found}).
 */
@Command(name = "uploads", mixinStandardHelpOptions = true,
        description = "List, show, download and delete stored uploads.",
        subcommands = {UploadsCommand.ListUploads.class, UploadsCommand.Show.class, UploadsCommand.Download.class,
                UploadsCommand.Delete.class})
public final class UploadsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static String size(long bytes, boolean exact) {
        return exact ? Long.toString(bytes) : Progress.human(bytes);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List stored uploads, newest first.")
    static final class ListUploads extends ClientCall {
        @Mixin
        Listing listing;

        @Option(names = "--bytes", description = "Sizes in bytes, not as 12.4 MiB.")
        boolean bytes;

        @Override
        int run(SluiceClient client, PrintWriter out, PrintWriter err) throws ClientException, InterruptedException {
            listing.print(client, "/api/v1/uploads", "uploads",
                    new String[]{"ID", "NAME", "SIZE", "TYPE", "CREATED"},
                    u -> new String[]{u.path("id").asText(), u.path("filename").asText(),
                            size(u.path("size").asLong(), bytes), u.path("contentType").asText(),
                            u.path("createdAt").asText()}, out, err);
            return ClientExit.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one upload's record.")
    static final class Show extends ClientCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--json", description = "Print the record as JSON (the API's answer).")
        boolean json;

        @Option(names = "--bytes", description = "The size in bytes only, not as 12.4 MiB.")
        boolean bytes;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            JsonNode upload = client.getJson("/api/v1/uploads/" + id);
            if (json) {
                out.println(upload.toPrettyString());
                return;
            }
            ObjectNode shown = upload.deepCopy();
            long n = upload.path("size").asLong();
            if (!bytes) {
                shown.put("size", Progress.human(n) + " (" + n + " bytes)");
            }
            JobsCommand.printReadable(shown, out);
        }
    }

    @Command(name = "download", mixinStandardHelpOptions = true,
            description = {"Download an upload's bytes, streamed, to stdout or to -o FILE;",
                    "checked against the sha256 the server recorded.",
                    "With -o, the bytes go to FILE.part, renamed to FILE when complete and verified;",
                    "an interrupted download is taken up again from FILE.part by the same command."})
    static final class Download extends ClientCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
        Path file;

        @Override
        int run(SluiceClient client, PrintWriter out, PrintWriter err)
                throws ClientException, IOException, InterruptedException {
            JsonNode upload = client.getJson("/api/v1/uploads/" + id);
            String expected = upload.path("sha256").asText("");
            long size = upload.path("size").asLong();
            String content = "/api/v1/uploads/" + id + "/content";
            MessageDigest sha = sha256();
            if (file == null) {
                // Raw bytes, not through the command's (text) writer.
                HttpResponse<InputStream> r = client.stream(content, Map.of());
                try (InputStream in = r.body()) {
                    OutputStream stdout = System.out;
                    in.transferTo(new DigestOutputStream(stdout, sha));
                    stdout.flush();
                }
                return checked(sha, expected, null, err);
            }
            Path part = Downloads.partOf(file);
            long have = Files.isRegularFile(part) ? Files.size(part) : 0;
            if (have >= size) {
                have = 0; // complete but never verified, or longer than the upload: fetch it whole again
            }
            Map<String, String> headers = have > 0
                    // If-Range: should the id ever name other bytes, the server answers 200 with all of them
                    ? Map.of("Range", "bytes=" + have + "-", "If-Range", "\"" + expected + "\"") : Map.of();
            HttpResponse<InputStream> r = client.stream(content, headers);
            boolean resumed = have > 0 && r.statusCode() == 206;
            if (resumed) {
                try (InputStream earlier = Files.newInputStream(part)) {
                    earlier.transferTo(new DigestOutputStream(OutputStream.nullOutputStream(), sha));
                }
            } else {
                Files.deleteIfExists(part);
            }
            try (InputStream in = r.body(); OutputStream o = Downloads.append(part)) {
                in.transferTo(new DigestOutputStream(o, sha));
            }
            if (checked(sha, expected, part, err) != ClientExit.OK) {
                return ClientExit.FAILED;
            }
            Downloads.complete(part, file);
            out.println("saved " + file + " (" + Progress.human(size) + ", sha256 " + expected + " verified"
                    + (resumed ? ", resumed at " + have + " bytes" : "") + ")");
            return ClientExit.OK;
        }

        /** Compares the bytes' sha256 with the server's record; a mismatch removes {@code part}. */
        private int checked(MessageDigest sha, String expected, Path part, PrintWriter err) throws IOException {
            String got = HexFormat.of().formatHex(sha.digest());
            if (got.equalsIgnoreCase(expected)) {
                return ClientExit.OK;
            }
            if (part != null) {
                Files.deleteIfExists(part);
            }
            err.println("sluice: sha256 mismatch: the server recorded " + expected + ", the bytes received have "
                    + got);
            return ClientExit.FAILED;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete uploads and their bytes (no confirmation: this is for scripts too).")
    static final class Delete extends ClientCall {
        @Parameters(arity = "1..*", paramLabel = "ID")
        List<String> ids;

        @Override
        int run(SluiceClient client, PrintWriter out, PrintWriter err) throws ClientException, InterruptedException {
            int code = ClientExit.OK;
            for (String id : ids) {
                try {
                    client.delete("/api/v1/uploads/" + id);
                    out.println("deleted " + id);
                } catch (ClientException e) {
                    if (e.status() == 0) {
                        throw e; // the server is unreachable: the rest would fail the same way
                    }
                    err.println("sluice: " + id + ": " + e.getMessage());
                    code = ClientExit.FAILED;
                }
            }
            return code;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
