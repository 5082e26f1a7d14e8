package io.sluice.processors.forward;

import io.sluice.api.Json;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.Processors;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code forward}: POSTs the stored file (its detected content type as Content-Type, headers
 * {@code Sluice-Upload-Id} and {@code Sluice-Filename}, the latter percent-encoded UTF-8) to the first of
 * {@code urls} that answers 2xx, trying them in order, {@code 1 + retries} passes. When none does the attempt
 * fails with retryable {@code forward_failed}, so the job backs off and tries again up to its attempts. A receiver
 * must be idempotent per {@code Sluice-Upload-Id}: a retried job, or a timed-out but delivered POST, sends again.
 * Options: {@code urls} (required), {@code send} ({@code file} or {@code output}), {@code timeout},
 * {@code retries}, and with {@code send: output} the {@code processor} (and its {@code processorOptions}) that runs
 * first: its rows become this job's output too, and the NDJSON file is what is delivered
 * ({@code Content-Type: application/x-ndjson}). The inner processor's precheck runs at upload time as its own would.
 */
public final class ForwardProcessor implements Processor {

    public static final String NAME = "forward";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Task configure(Map<String, Object> options) {
        ForwardOptions o = ForwardOptions.parse(options);
        Task inner = o.send() == ForwardOptions.Send.OUTPUT ? inner(o) : null;
        // Built lazily: configure does no I/O, and a client owns a selector thread.
        return new Task() {
            private volatile HttpClient client;

            @Override
            public void precheck(Path file, String contentType) throws Exception {
                if (inner != null) {
                    inner.precheck(file, contentType);
                }
            }

            @Override
            public Result run(ProcessorContext context) throws Exception {
                if (inner == null) {
                    ProcessorContext.UploadInfo u = context.upload();
                    return forward(context, o, client(), context.file(),
                            u.contentType() == null ? "application/octet-stream" : u.contentType(), u.size(), Map.of());
                }
                Path rows = context.workDir().resolve("forward-output.ndjson");
                Result produced;
                // The inner processor gets 80% of the progress bar; delivery the rest.
                try (FileContext innerContext = new FileContext(context.upload(), context.file(),
                        context.workDir().resolve("inner"), rows,
                        (percent, stage, eta) -> context.progress(percent * 80 / 100, stage, eta),
                        context::checkpoint, context::start)) {
                    produced = inner.run(innerContext);
                }
                // The rows are this job's output as well, so GET /api/v1/jobs/{id}/output shows what was sent.
                try (BufferedReader in = Files.newBufferedReader(rows, StandardCharsets.UTF_8)) {
                    for (String line; (line = in.readLine()) != null; ) {
                        context.output().write(Json.mapper().readTree(line));
                    }
                }
                return forward(context, o, client(), rows, "application/x-ndjson", Files.size(rows),
                        Map.of("processor", produced.summary()));
            }

            private HttpClient client() {
                HttpClient c = client;
                if (c == null) {
                    synchronized (this) {
                        if (client == null) {
                            client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                                    .followRedirects(HttpClient.Redirect.NEVER)
                                    .connectTimeout(o.timeout().compareTo(Duration.ofSeconds(10)) < 0 ? o.timeout()
                                            : Duration.ofSeconds(10))
                                    .build();
                        }
                        c = client;
                    }
                }
                return c;
            }
        };
    }

    /** Configures the processor whose output is delivered; its option errors name {@code options.processorOptions}. */
    private static Task inner(ForwardOptions o) {
        Processor p = Processors.available().get(o.processor());
        if (p == null || p.name().equals(NAME)) {
            throw new IllegalArgumentException("options.processor: '" + o.processor() + "' is not a processor "
                    + "whose output can be forwarded (known: " + String.join(", ", Processors.available().keySet()) + ")");
        }
        try {
            return p.configure(o.processorOptions());
        } catch (IllegalArgumentException e) {
            String m = e.getMessage() == null ? "" : e.getMessage();
            throw new IllegalArgumentException(m.startsWith("options.")
                    ? "options.processorOptions." + m.substring("options.".length()) : "options.processorOptions: " + m, e);
        }
    }

    private static Result forward(ProcessorContext context, ForwardOptions o, HttpClient client, Path body,
                                  String contentType, long bytes, Map<String, Object> extra) throws Exception {
        ProcessorContext.UploadInfo upload = context.upload();
        List<String> failures = new ArrayList<>();
        int total = (o.retries() + 1) * o.urls().size();
        int base = o.send() == ForwardOptions.Send.OUTPUT ? 80 : 0;
        int tried = 0;
        for (int pass = 0; pass <= o.retries(); pass++) {
            for (URI url : o.urls()) {
                context.checkpoint();
                context.progress(base + (100 - base) * tried / total, "sending to " + url.getHost(), null);
                tried++;
                HttpRequest request = HttpRequest.newBuilder(url).timeout(o.timeout())
                        .header("Content-Type", contentType)
                        .header("Sluice-Upload-Id", upload.id())
                        .header("Sluice-Filename", URLEncoder.encode(upload.filename(), StandardCharsets.UTF_8)
                                .replace("+", "%20"))
                        .POST(HttpRequest.BodyPublishers.ofFile(body))
                        .build();
                try {
                    HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
                    if (response.statusCode() / 100 == 2) {
                        Map<String, Object> summary = new LinkedHashMap<>();
                        summary.put("url", shown(url));
                        summary.put("status", response.statusCode());
                        summary.put("tries", tried);
                        summary.put("bytes", bytes);
                        summary.putAll(extra);
                        return Result.of(summary);
                    }
                    failures.add(shown(url) + " answered " + response.statusCode());
                } catch (IOException e) {
                    failures.add(shown(url) + " failed: " + e.getClass().getSimpleName());
                }
            }
        }
        throw new ProcessorException("forward_failed", "no URL accepted the " + (base > 0 ? "output" : "file") + ": "
                + String.join("; ", failures),
                true, null);
    }

    /** A URL as it may appear in job records: no user info or query (they may hold secrets). */
    private static String shown(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "")
                + (u.getRawPath() == null ? "" : u.getRawPath());
    }
}
