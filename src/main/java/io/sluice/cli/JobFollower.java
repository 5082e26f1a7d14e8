package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.client.ClientException;
import io.sluice.client.SluiceClient;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Follows the jobs of finished uploads by polling {@code GET /api/v1/jobs/{id}}, printing a line whenever a job's
 * state, stage or progress changes, until every job has ended.
 */
final class JobFollower {

    static final Duration POLL = Duration.ofMillis(500);
    private static final Set<String> ENDED = Set.of("succeeded", "failed", "cancelled");

    private final SluiceClient client;
    private final PrintWriter out;

    JobFollower(SluiceClient client, PrintWriter out) {
        this.client = client;
        this.out = out;
    }

    /** @return true when every job succeeded (files without a job count as fine) */
    boolean follow(Iterable<UploadCommand.Outcome> outcomes) throws InterruptedException {
        Map<String, String> jobs = new LinkedHashMap<>(); // job id -> file name
        for (UploadCommand.Outcome o : outcomes) {
            if (o.jobId() == null) {
                out.println(o.file().getFileName() + ": no job (no pipeline applies)");
            } else {
                jobs.put(o.jobId(), o.file().getFileName().toString());
            }
        }
        out.flush();
        boolean allOk = true;
        Map<String, String> lastLine = new LinkedHashMap<>();
        while (!jobs.isEmpty()) {
            for (var it = jobs.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                JsonNode job;
                try {
                    job = client.getJson("/api/v1/jobs/" + e.getKey());
                } catch (ClientException ex) {
                    out.println(e.getValue() + ": job " + e.getKey() + ": " + ex.getMessage());
                    allOk = false;
                    it.remove();
                    continue;
                }
                String line = e.getValue() + ": job " + e.getKey() + " " + describe(job);
                if (!line.equals(lastLine.get(e.getKey()))) {
                    out.println(line);
                    lastLine.put(e.getKey(), line);
                }
                String state = job.path("state").asText();
                if (ENDED.contains(state)) {
                    allOk &= state.equals("succeeded");
                    it.remove();
                }
            }
            out.flush();
            if (!jobs.isEmpty()) {
                Thread.sleep(POLL);
            }
        }
        return allOk;
    }

    /** {@code running 40% writing (eta 3s)}, {@code failed: test_failure: ...}. */
    static String describe(JsonNode job) {
        StringBuilder s = new StringBuilder(job.path("state").asText("?"));
        String state = job.path("state").asText();
        if (!ENDED.contains(state)) {
            s.append(' ').append(job.path("progress").asInt()).append('%');
            if (job.hasNonNull("stage")) {
                s.append(' ').append(job.path("stage").asText());
            }
            if (job.hasNonNull("etaSeconds")) {
                s.append(" (eta ").append(job.path("etaSeconds").asLong()).append("s)");
            }
        }
        if (job.has("error") && !state.equals("succeeded")) {
            s.append(state.equals("queued") ? " (retrying after " : ": ")
                    .append(job.at("/error/code").asText()).append(": ").append(job.at("/error/message").asText());
            if (state.equals("queued")) {
                s.append(')');
            }
        }
        return s.toString();
    }
}
