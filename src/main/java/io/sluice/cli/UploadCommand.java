package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.ErrorCode;
import io.sluice.client.ClientException;
import io.sluice.client.SluiceClient;
import io.sluice.client.TusClient;
import io.sluice.client.UploadState;
import io.sluice.config.Units;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code sluice upload FILE...}: resumable uploads over tus, several files at once, with progress bars. An
 * interrupted run (Ctrl-C, a lost connection) is resumed by running the same command again: the upload URL of each
 * unfinished file is kept in a state file, and the server is asked how far it got; each finished file is kept there
 * too, with its upload id and sha256, so the rerun skips it (once the server confirms it still has it) instead of
 * storing it twice. Each file's line is printed the moment it is known, so an interrupted batch has already said
 * what it stored.
 *
 * <p>Each finished file is checked: the server's sha256 of the upload must equal the one computed here while
 * reading. With {@code --wait}, the jobs the uploads started are followed to their end.
 */
@Command(name = "upload", mixinStandardHelpOptions = true,
        description = {"Upload files over tus (resumable: run the same command again after Ctrl-C;",
                "files already uploaded are then skipped, unfinished ones resumed)."},
        footer = {"", "Exit codes: 0 all uploaded (and, with --wait, all jobs succeeded); 1 an upload or a job failed;"
                + " 2 usage error."})
public final class UploadCommand implements Callable<Integer> {

    /** How often one file's transfer is taken up again after a lost connection or an offset mismatch. */
    static final int MAX_RESYNCS = 5;

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions clientOptions;

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "Files to upload.")
    List<Path> files;

    @Option(names = "--pipeline", paramLabel = "P", description = "Pipeline to run on each upload.")
    String pipeline;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "2",
            description = "Files uploaded at once (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--chunk-size", paramLabel = "S", defaultValue = "8MiB",
            description = "Bytes per PATCH request, e.g. 1MiB (default: ${DEFAULT-VALUE}).")
    String chunkSize;

    @Option(names = "--wait", description = "Follow the jobs the uploads start; fail when one fails.")
    boolean waitForJobs;

    @Option(names = "--tus-path", paramLabel = "PATH", defaultValue = "/files/", hidden = true,
            description = "The server's tus.basePath (default: ${DEFAULT-VALUE}).")
    String tusPath;

    @Option(names = "--state-file", paramLabel = "FILE",
            description = {"Where unfinished and finished uploads are remembered.",
                    "Default: $XDG_STATE_HOME/sluice/uploads.json", "or ~/.sluice/uploads.json"})
    Path stateFile;

    @Option(names = "--no-progress", description = "Print no progress bars.")
    boolean noProgress;

    /** What became of one file. */
    record Outcome(Path file, String uploadId, String sha256, String jobId, String error, boolean skipped) {
        Outcome(Path file, String uploadId, String sha256, String jobId, String error) {
            this(file, uploadId, sha256, jobId, error, false);
        }

        boolean ok() {
            return error == null;
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int chunk;
        try {
            long c = Units.parseSize(chunkSize);
            if (c < 1 || c > 512L * 1024 * 1024) {
                throw new IllegalArgumentException("must be between 1B and 512MiB");
            }
            chunk = (int) c;
        } catch (RuntimeException e) {
            err.println("sluice: --chunk-size '" + chunkSize + "': " + e.getMessage());
            return ClientExit.USAGE;
        }
        if (parallel < 1) {
            err.println("sluice: --parallel must be at least 1");
            return ClientExit.USAGE;
        }
        for (Path f : files) {
            if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
                err.println("sluice: " + f + ": not a readable file");
                return ClientExit.USAGE;
            }
        }
        boolean tty = !noProgress && System.console() != null && System.console().isTerminal();
        List<Progress.Bar> bars = new ArrayList<>();
        for (Path f : files) {
            bars.add(new Progress.Bar(f.getFileName().toString(), Files.size(f)));
        }
        UploadState state = new UploadState(stateFile != null ? stateFile : UploadState.defaultFile());
        List<Outcome> outcomes = new ArrayList<>();
        Progress progress = new Progress(out, tty, !noProgress, bars);
        SluiceClient client = clientOptions.client(new PrintWriter(new Writer() {
            // Retry notices go above the bars, not through them.
            private final StringBuilder line = new StringBuilder();

            @Override
            public void write(char[] c, int off, int len) {
                line.append(c, off, len);
            }

            @Override
            public void flush() {
                String s = line.toString().stripTrailing();
                line.setLength(0);
                if (!s.isEmpty()) {
                    progress.note(s);
                }
            }

            @Override
            public void close() {
            }
        }, true));
        TusClient tus = new TusClient(client, tusPath);
        // Ctrl-C ends the JVM; the state file already holds every upload URL, so say how to go on.
        Thread hint = new Thread(() -> err.println("\nsluice: interrupted; run the same command again to resume"
                + " (state in " + state.file() + ")"));
        Runtime.getRuntime().addShutdownHook(hint);
        try (progress; ExecutorService pool = Executors.newFixedThreadPool(parallel, Thread.ofVirtual().factory())) {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                Path f = files.get(i);
                Progress.Bar bar = bars.get(i);
                futures.add(pool.submit(() -> {
                    Outcome o = uploadOne(f, bar, chunk, client, tus, state, progress);
                    progress.note(line(o));
                    return o;
                }));
            }
            for (Future<Outcome> fu : futures) {
                try {
                    outcomes.add(fu.get());
                } catch (ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hint);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: let it say its line
            }
        }
        boolean ok = outcomes.stream().allMatch(Outcome::ok);
        out.flush();
        if (ok && waitForJobs) {
            ok = new JobFollower(client, out).follow(outcomes);
        }
        return ok ? ClientExit.OK : ClientExit.FAILED;
    }

    private Outcome uploadOne(Path file, Progress.Bar bar, int chunk, SluiceClient client, TusClient tus,
                              UploadState state, Progress progress) throws InterruptedException {
        String name = file.getFileName().toString();
        try {
            long size = Files.size(file);
            if (size == 0) {
                return failed(file, bar, "the file is empty; the server takes no empty uploads");
            }
            String key = UploadState.key(client.server(), file);
            if (state.find(key).orElse(null) instanceof UploadState.Finished done) {
                bar.status = "checking";
                if (stillStored(done, client)) {
                    bar.done.set(size);
                    bar.status = "already uploaded";
                    return new Outcome(file, done.uploadId(), done.sha256(), done.jobId(), null, true);
                }
                progress.note(name + ": upload " + done.uploadId() + " is gone from the server; uploading again");
                state.remove(key);
            }
            ClientException last = null;
            for (int round = 1; round <= MAX_RESYNCS; round++) {
                URI url = state.find(key).orElse(null) instanceof UploadState.Unfinished u ? u.url() : null;
                long offset = 0;
                if (url != null) {
                    bar.status = "checking";
                    OptionalLong o = tus.offset(url);
                    if (o.isEmpty()) {
                        progress.note(name + ": the earlier upload is gone from the server; starting over");
                        state.remove(key);
                        url = null;
                    } else {
                        offset = o.getAsLong();
                        if (offset > 0) {
                            progress.note(name + ": resuming at " + offset + " bytes");
                        }
                    }
                }
                if (url == null) {
                    bar.status = "creating";
                    Map<String, String> metadata = new LinkedHashMap<>();
                    metadata.put("filename", name);
                    if (pipeline != null && !pipeline.isBlank()) {
                        metadata.put("pipeline", pipeline);
                    }
                    url = tus.create(size, metadata);
                    state.put(key, file, url);
                }
                try {
                    Outcome o = verify(transfer(file, url, offset, size, chunk, tus, bar), client, bar);
                    if (o.ok()) {
                        // Remembered before it is reported: a Ctrl-C after the line is printed never sends it again.
                        state.finished(key, file, new UploadState.Finished(o.uploadId(), o.sha256(), o.jobId()));
                    } else {
                        state.remove(key);
                    }
                    return o;
                } catch (ClientException e) {
                    // A lost connection or an offset that moved: ask the server again where it is.
                    if (e.status() != 0 && !ErrorCode.OFFSET_MISMATCH.code().equals(e.code())) {
                        throw e;
                    }
                    last = e;
                    progress.note(name + ": " + e.getMessage() + "; taking it up again");
                }
            }
            throw last;
        } catch (ClientException | IOException e) {
            return failed(file, bar, e.getMessage());
        }
    }

    /** Whether the server still has a finished upload with the sha256 we verified (a 404 means deleted since). */
    private static boolean stillStored(UploadState.Finished done, SluiceClient client)
            throws ClientException, InterruptedException {
        try {
            return client.getJson("/api/v1/uploads/" + done.uploadId()).path("sha256").asText("")
                    .equalsIgnoreCase(done.sha256());
        } catch (ClientException e) {
            if (e.status() == 404) {
                return false;
            }
            throw e;
        }
    }

    /** The line that tells what became of a file, printed the moment it is known. */
    static String line(Outcome o) {
        if (!o.ok()) {
            return o.file() + "  FAILED: " + o.error();
        }
        return o.file() + "  id=" + o.uploadId() + "  sha256=" + o.sha256()
                + (o.jobId() == null ? "" : "  job=" + o.jobId()) + (o.skipped() ? "  (already uploaded)" : "");
    }

    private static Outcome failed(Path file, Progress.Bar bar, String error) {
        bar.status = "failed";
        return new Outcome(file, null, null, null, error);
    }

    /** Sends {@code [offset, size)}, hashing the whole file on the way (the first {@code offset} bytes unsent). */
    private static Outcome transfer(Path file, URI url, long offset, long size, int chunk, TusClient tus,
                                    Progress.Bar bar) throws IOException, ClientException, InterruptedException {
        MessageDigest sha = sha256();
        byte[] buf = new byte[(int) Math.min(chunk, size)];
        String uploadId = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
        String jobId = null;
        try (InputStream in = Files.newInputStream(file)) {
            long hashed = 0;
            bar.status = offset > 0 ? "hashing" : "uploading";
            while (hashed < offset) {
                int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, offset - hashed));
                if (n <= 0) {
                    throw new IOException(file + " is shorter than the server's offset " + offset);
                }
                sha.update(buf, 0, n);
                hashed += n;
            }
            bar.done.set(offset);
            bar.status = "uploading";
            long at = offset;
            while (at < size) {
                int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, size - at));
                if (n <= 0) {
                    throw new IOException(file + " shrank while being uploaded");
                }
                TusClient.Patched p = tus.patch(url, at, buf, n);
                if (p.offset() != at + n) {
                    throw new ClientException(ErrorCode.OFFSET_MISMATCH.status(), ErrorCode.OFFSET_MISMATCH.code(),
                            "the server is at " + p.offset()
                            + " instead of " + (at + n));
                }
                sha.update(buf, 0, n);
                at += n;
                bar.done.set(at);
                if (p.uploadId() != null) {
                    uploadId = p.uploadId();
                }
                if (p.jobId() != null) {
                    jobId = p.jobId();
                }
            }
        }
        return new Outcome(file, uploadId, HexFormat.of().formatHex(sha.digest()), jobId, null);
    }

    /** Compares the server's sha256 with ours. */
    private static Outcome verify(Outcome o, SluiceClient client, Progress.Bar bar)
            throws ClientException, InterruptedException {
        bar.status = "verifying";
        JsonNode upload = client.getJson("/api/v1/uploads/" + o.uploadId());
        String theirs = upload.path("sha256").asText("");
        if (!theirs.equalsIgnoreCase(o.sha256())) {
            return failed(o.file(), bar, "sha256 mismatch: the server stored " + theirs + ", the file has "
                    + o.sha256());
        }
        bar.status = "done";
        return o;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
