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

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** {@code sluice jobs list|show|cancel|retry}: the jobs API from the command line. Exit 1 when the server refuses. */
@Command(name = "jobs", mixinStandardHelpOptions = true, description = "List, show, cancel and retry jobs.",
        subcommands = {JobsCommand.ListJobs.class, JobsCommand.Show.class, JobsCommand.Cancel.class,
                JobsCommand.Retry.class})
public final class JobsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Runs a call against the server, turning a refusal into one line on stderr and exit 1. */
    abstract static class JobCall implements java.util.concurrent.Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ClientOptions clientOptions;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                run(clientOptions.client(err), out);
                out.flush();
                return ClientExit.OK;
            } catch (ClientException e) {
                err.println("sluice: " + e.getMessage());
                err.flush();
                return ClientExit.FAILED;
            }
        }

        abstract void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List jobs, newest first.")
    static final class ListJobs extends JobCall {
        @Option(names = "--state", paramLabel = "S",
                description = "Only jobs in this state (queued, running, succeeded, failed, cancelled).")
        String state;

        @Option(names = "--pipeline", paramLabel = "P", description = "Only jobs of this pipeline.")
        String pipeline;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "50",
                description = "At most N jobs (default: ${DEFAULT-VALUE}).")
        int limit;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            StringBuilder q = new StringBuilder("/api/v1/jobs?limit=" + limit);
            if (state != null) {
                q.append("&state=").append(URLEncoder.encode(state, StandardCharsets.UTF_8));
            }
            if (pipeline != null) {
                q.append("&pipeline=").append(URLEncoder.encode(pipeline, StandardCharsets.UTF_8));
            }
            JsonNode page = client.getJson(q.toString());
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[]{"ID", "STATE", "PIPELINE", "PROGRESS", "STAGE", "UPLOAD", "CREATED"});
            for (JsonNode j : page.path("jobs")) {
                rows.add(new String[]{j.path("id").asText(), j.path("state").asText(), j.path("pipeline").asText(),
                        j.path("progress").asInt() + "%", j.path("stage").asText("-"), j.path("uploadId").asText(),
                        j.path("createdAt").asText()});
            }
            Table.print(out, rows);
            if (rows.size() == 1) {
                out.println("(no jobs)");
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one job.")
    static final class Show extends JobCall {
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
    static final class Cancel extends JobCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            JsonNode job = client.postJson("/api/v1/jobs/" + id + "/cancel");
            out.println("job " + id + ": cancel requested, now " + job.path("state").asText());
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true, description = "Run a failed or cancelled job again.")
    static final class Retry extends JobCall {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        void run(SluiceClient client, PrintWriter out) throws ClientException, InterruptedException {
            JsonNode job = client.postJson("/api/v1/jobs/" + id + "/retry");
            out.println("job " + id + ": retrying, now " + job.path("state").asText());
        }
    }
}
