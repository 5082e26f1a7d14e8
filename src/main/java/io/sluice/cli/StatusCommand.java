package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.client.ClientException;
import io.sluice.client.SluiceClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code sluice status}: {@code /health/detailed} for people, plus readiness. Exit 0 when the server is ready
 * ({@code /health/ready} 200: database and storage up, state ACCEPTING), 1 otherwise or when unreachable.
 */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the server's health and load.",
        footer = {"", "Exit codes: 0 ready (ACCEPTING); 1 not ready or unreachable; 2 usage error."})
public final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions clientOptions;

    @Option(names = "--json", description = "Print /health/detailed as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        SluiceClient client = clientOptions.client(err);
        JsonNode d;
        SluiceClient.Response ready;
        try {
            d = client.getJson("/health/detailed");
            ready = client.getAny("/health/ready");
        } catch (ClientException e) {
            err.println("sluice: " + e.getMessage());
            err.flush();
            return ClientExit.FAILED;
        }
        boolean ok = ready.status() == 200;
        if (json) {
            out.println(d.toPrettyString());
        } else {
            render(d, ready, out);
        }
        out.flush();
        return ok ? ClientExit.OK : ClientExit.FAILED;
    }

    private void render(JsonNode d, SluiceClient.Response ready, PrintWriter out) {
        JsonNode r = ready.body();
        out.println("server:      " + client() + " (sluice " + d.path("version").asText() + ")");
        out.println("state:       " + d.path("state").asText() + (ready.status() == 200 ? ", ready" : ", NOT ready")
                + checks(r));
        out.println("uptime:      " + uptime(d.path("uptimeSeconds").asLong()));
        JsonNode s = d.path("shedding");
        out.println("shedding:    " + s.path("state").asText() + ", refused " + s.path("refusedTotal").asLong()
                + (s.path("lastReason").asText("null").equals("null") ? "" : ", last reason: "
                + s.path("lastReason").asText()));
        JsonNode m = d.path("memory");
        out.println("memory:      heap " + size(m.path("heapUsed")) + " of " + size(m.path("heapMax"))
                + ", direct " + size(m.path("directUsed")) + ", rss " + size(m.path("rss"))
                + ", system available " + size(m.path("systemAvailable")) + " of " + size(m.path("systemTotal")));
        JsonNode c = d.path("connections");
        out.println("connections: " + c.path("open").asLong() + " open of " + c.path("limit").asLong());
        JsonNode u = d.path("uploads");
        out.println("uploads:     " + u.path("active").asLong() + " active, " + u.path("slotsAvailable").asLong()
                + " of " + u.path("slots").asLong() + " slots free, " + u.path("staged").asLong() + " staged, "
                + u.at("/buffers/inUse").asLong() + " of " + u.at("/buffers/capacity").asLong() + " buffers in use");
        JsonNode disk = d.path("disk");
        out.println("disk:        " + size(disk.path("free")) + " free, reserve " + size(disk.path("reserve")));
    }

    private String client() {
        return clientOptions.server;
    }

    private static String checks(JsonNode ready) {
        JsonNode c = ready.path("checks");
        if (c.isMissingNode()) {
            return "";
        }
        return " (database " + c.path("database").asText("?") + ", storage " + c.path("storage").asText("?")
                + (ready.hasNonNull("reason") ? ", " + ready.path("reason").asText() : "") + ")";
    }

    private static String size(JsonNode n) {
        long v = n.asLong(-1);
        return v < 0 ? "n/a" : Progress.human(v);
    }

    static String uptime(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        if (d.toDays() > 0) {
            return d.toDays() + "d " + d.toHoursPart() + "h " + d.toMinutesPart() + "m";
        }
        if (d.toHours() > 0) {
            return d.toHours() + "h " + d.toMinutesPart() + "m " + d.toSecondsPart() + "s";
        }
        return d.toMinutes() > 0 ? d.toMinutes() + "m " + d.toSecondsPart() + "s" : seconds + "s";
    }
}
