package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * {@code sluice jobs list|show|cancel|retry|output}: the jobs API from the command line. Exit 1 when the server
 * refuses.
 */
@Command(name = "jobs", mixinStandardHelpOptions = true,
        description = "List, show, cancel and retry jobs; fetch a job's output.",
        subcommands = {JobsCommand.ListJobs.class, JobsCommand.Show.class, JobsCommand.Cancel.class,
                JobsCommand.Retry.class, JobsCommand.Output.class})
public final class JobsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List jobs, newest first.")
    static final class ListJobs extends ClientCall {
        @Option(names = "--state", paramLabel = "S",
                description = "Only jobs in this state (queued, running, succeeded, failed, cancelled).")
        String state;

        @Option(names = "--pipeline", paramLabel = "P", description = "Only jobs of this pipeline.")
        String pipeline;

        @Mixin
        Listing listing;

        @Override
        int run(SluiceClient client, PrintWriter out, PrintWriter err) throws ClientException, InterruptedException {
            StringBuilder q = new StringBuilder("/api/v1/jobs");
            String sep = "?";
            if (state != null) {
                q.append(sep).append("state=").append(URLEncoder.encode(state, StandardCharsets.UTF_8));
                sep = "&";
            }
            if (pipeline != null) {
                q.append(sep).append("pipeline=").append(URLEncoder.encode(pipeline, StandardCharsets.UTF_8));
            }
            listing.print(client, q.toString(), "jobs",
                    new String[]{"ID", "STATE", "PIPELINE", "PROGRESS", "STAGE", "UPLOAD", "CREATED"},
                    j -> new String[]{j.path("id").asText(), j.path("state").asText(), j.path("pipeline").asText(),
                            j.path("progress").asInt() + "%", j.path("stage").asText("-"),
                            j.path("uploadId").asText(), j.path("createdAt").asText()}, out, err);
            return ClientExit.OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one job.")
    static final class Show extends ClientCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--json", description = "Print the job as JSON.")
        boolean json;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            JsonNode job = client.getJson("/api/v1/jobs/" + id);
            if (json) {
                out.println(job.toPrettyString());
                return;
            }
            printReadable(job, out);
        }
    }

    /** {@code key: value} lines, nested objects flattened as {@code error.code}. */
    static void printReadable(JsonNode job, PrintWriter out) {
        List<String[]> rows = new ArrayList<>();
        flatten("", job, rows);
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        for (String[] r : rows) {
            out.println(String.format("%-" + (width + 1) + "s %s", r[0] + ":", r[1]));
        }
    }

    private static void flatten(String prefix, JsonNode node, List<String[]> rows) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            if (e.getValue().isObject()) {
                flatten(key + ".", e.getValue(), rows);
            } else {
                rows.add(new String[]{key, e.getValue().isTextual() ? e.getValue().asText()
                        : e.getValue().toString()});
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a queued or running job.")
    static final class Cancel extends ClientCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            JsonNode job = client.postJson("/api/v1/jobs/" + id + "/cancel");
            out.println("job " + id + ": cancel requested, now " + job.path("state").asText());
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true, description = "Run a failed or cancelled job again.")
    static final class Retry extends ClientCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            JsonNode job = client.postJson("/api/v1/jobs/" + id + "/retry");
            out.println("job " + id + ": retrying, now " + job.path("state").asText());
        }
    }

    @Command(name = "output", mixinStandardHelpOptions = true,
            description = {"Fetch the NDJSON output of a succeeded job, streamed (never held whole),",
                    "to stdout or to -o FILE (written aside and renamed when complete)."})
    static final class Output extends ClientCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
        Path file;

        @Override
        int run(SluiceClient client, PrintWriter out, PrintWriter err)
                throws ClientException, IOException, InterruptedException {
            HttpResponse<InputStream> r = client.stream("/api/v1/jobs/" + id + "/output", Map.of());
            try (InputStream in = r.body()) {
                if (file == null) {
                    // Text: through the command's writer, so that it meets whatever stdout the caller gave.
                    Reader text = new InputStreamReader(in, StandardCharsets.UTF_8);
                    text.transferTo(out);
                    out.flush();
                    return ClientExit.OK;
                }
                long n = Downloads.toFile(in, file);
                out.println("saved " + file + " (" + Progress.human(n) + ")");
            }
            return ClientExit.OK;
        }
    }
}
