package io.sluice.processors.forward;

import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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
 * Options: {@code urls} (required), {@code send} (only {@code file}), {@code timeout}, {@code retries}.
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
        // Built lazily: configure does no I/O, and a client owns a selector thread.
        return new Task() {
            private volatile HttpClient client;

            @Override
            public Result run(ProcessorContext context) throws Exception {
                return forward(context, o, client());
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

    private static Result forward(ProcessorContext context, ForwardOptions o, HttpClient client) throws Exception {
        ProcessorContext.UploadInfo upload = context.upload();
        List<String> failures = new ArrayList<>();
        int total = (o.retries() + 1) * o.urls().size();
        int tried = 0;
        for (int pass = 0; pass <= o.retries(); pass++) {
            for (URI url : o.urls()) {
                context.checkpoint();
                context.progress(100 * tried / total, "sending to " + url.getHost(), null);
                tried++;
                HttpRequest request = HttpRequest.newBuilder(url).timeout(o.timeout())
                        .header("Content-Type", upload.contentType() == null ? "application/octet-stream"
                                : upload.contentType())
                        .header("Sluice-Upload-Id", upload.id())
                        .header("Sluice-Filename", URLEncoder.encode(upload.filename(), StandardCharsets.UTF_8)
                                .replace("+", "%20"))
                        .POST(HttpRequest.BodyPublishers.ofFile(context.file()))
                        .build();
                try {
                    HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
                    if (response.statusCode() / 100 == 2) {
                        Map<String, Object> summary = new LinkedHashMap<>();
                        summary.put("url", shown(url));
                        summary.put("status", response.statusCode());
                        summary.put("tries", tried);
                        summary.put("bytes", upload.size());
                        return Result.of(summary);
                    }
                    failures.add(shown(url) + " answered " + response.statusCode());
                } catch (IOException e) {
                    failures.add(shown(url) + " failed: " + e.getClass().getSimpleName());
                }
            }
        }
        throw new ProcessorException("forward_failed", "no URL accepted the file: " + String.join("; ", failures),
                true, null);
    }

    /** A URL as it may appear in job records: no user info or query (they may hold secrets). */
    private static String shown(URI u) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "")
                + (u.getRawPath() == null ? "" : u.getRawPath());
    }
}
