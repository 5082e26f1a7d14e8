package io.sluice.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.client.ClientException;
import io.sluice.client.SluiceClient;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The options and paging every listing shares ({@code uploads list}, {@code jobs list}): it follows the API's
 * {@code nextCursor} until {@code --limit} items (or, with {@code --all}, the last page), and prints a table or,
 * with {@code --json}, {@code {"<items>": [...], "nextCursor": ...}} written item by item as pages arrive, so
 * {@code --all --json} over many pages never holds them all.
 */
final class Listing {

    /** The API's largest page. */
    static final int MAX_PAGE = 500;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--limit", paramLabel = "N", defaultValue = "50",
            description = "At most N items, fetched page by page (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--all", description = "Every item: follow the pages to the last.")
    boolean all;

    @Option(names = "--cursor", paramLabel = "C",
            description = "Start after an earlier listing ended (its nextCursor).")
    String cursor;

    /** Hidden: lets a test follow cursors without storing 500 items first. */
    @Option(names = "--page-size", paramLabel = "N", defaultValue = "500", hidden = true,
            description = "Items asked per request (default: ${DEFAULT-VALUE}, the API's largest page).")
    int pageSize;

    @Option(names = "--json", description = "Print JSON for scripts: {\"<items>\": [...], \"nextCursor\": ...}.")
    boolean json;

    /**
     * Lists {@code path} (which may already hold a query) and prints it.
     *
     * @param field  the array in each page, e.g. {@code uploads}
     * @param header the table's header
     * @param row    one table row per item
     */
    void print(SluiceClient client, String path, String field, String[] header, Function<JsonNode, String[]> row,
               PrintWriter out, PrintWriter err) throws ClientException, InterruptedException {
        if (limit < 1) {
            throw new UsageException("--limit must be at least 1");
        }
        if (pageSize < 1 || pageSize > MAX_PAGE) {
            throw new UsageException("--page-size must be between 1 and " + MAX_PAGE);
        }
        if (json) {
            printJson(client, path, field, out);
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(header);
        String next = pages(client, path, field, item -> rows.add(row.apply(item)));
        Table.print(out, rows);
        if (rows.size() == 1) {
            out.println("(no " + field + ")");
        }
        if (next != null) {
            err.println("sluice: more " + field + " follow: add --cursor " + next + " (or --all)");
        }
    }

    private void printJson(SluiceClient client, String path, String field, PrintWriter out)
            throws ClientException, InterruptedException {
        try {
            JsonGenerator g = JSON.getFactory().createGenerator(out)
                    .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET).useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeArrayFieldStart(field);
            String next = pages(client, path, field, item -> {
                try {
                    g.writeTree(item);
                    g.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            g.writeEndArray();
            g.writeStringField("nextCursor", next);
            g.writeEndObject();
            g.close();
            out.println();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fetches pages until the limit or the end; returns the cursor after the last item given, null at the end. */
    private String pages(SluiceClient client, String path, String field, Consumer<JsonNode> each)
            throws ClientException, InterruptedException {
        long remaining = all ? Long.MAX_VALUE : limit;
        String at = cursor;
        String sep = path.contains("?") ? "&" : "?";
        while (true) {
            long size = Math.min(pageSize, remaining);
            String q = path + sep + "limit=" + size
                    + (at == null ? "" : "&cursor=" + URLEncoder.encode(at, StandardCharsets.UTF_8));
            JsonNode page = client.getJson(q);
            for (JsonNode item : page.path(field)) {
                each.accept(item);
                remaining--;
            }
            JsonNode n = page.path("nextCursor");
            at = n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
            if (at == null || remaining <= 0) {
                return at;
            }
        }
    }
}
