package io.sluice.processors.forward;

import io.sluice.config.Units;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code forward} processor's options, validated once at start-up.
 *
 * @param urls    http(s) URLs, tried in this order; at least one
 * @param timeout longest wait for one URL's answer (default 30s)
 * @param retries extra passes over the whole list within one attempt (default 0; the job's own retries with
 *                backoff come on top)
 */
public record ForwardOptions(List<URI> urls, Duration timeout, int retries, Send send, String processor,
                             Map<String, Object> processorOptions) {

    /** What is delivered: the uploaded file, or the NDJSON output of {@link #processor} run over it first. */
    public enum Send { FILE, OUTPUT }

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    private static final Set<String> KNOWN = Set.of("urls", "send", "timeout", "retries", "processor",
            "processorOptions");

    public ForwardOptions {
        urls = List.copyOf(urls);
        processorOptions = processorOptions == null ? Map.of() : Map.copyOf(processorOptions);
    }

    /** @throws IllegalArgumentException naming {@code options.<key>} */
    public static ForwardOptions parse(Map<String, Object> options) {
        Map<String, Object> o = options == null ? Map.of() : options;
        for (String key : o.keySet()) {
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("options." + key + ": unknown option (known: urls, send, "
                        + "timeout, retries, processor, processorOptions)");
            }
        }
        Send send = switch (String.valueOf(o.getOrDefault("send", "file"))) {
            case "file" -> Send.FILE;
            case "output" -> Send.OUTPUT;
            default -> throw new IllegalArgumentException("options.send: must be 'file' or 'output'");
        };
        Object processor = o.get("processor");
        Object processorOptions = o.getOrDefault("processorOptions", Map.of());
        if (send == Send.OUTPUT && !(processor instanceof String name && !name.isBlank())) {
            throw new IllegalArgumentException("options.processor: is required with send: output (the processor "
                    + "whose output is delivered, e.g. spreadsheet)");
        }
        if (send == Send.FILE && processor != null) {
            throw new IllegalArgumentException("options.processor: only with send: output");
        }
        if (!(processorOptions instanceof Map<?, ?> po)) {
            throw new IllegalArgumentException("options.processorOptions: must be a mapping");
        }
        Map<String, Object> inner = new LinkedHashMap<>();
        po.forEach((k, v) -> inner.put(String.valueOf(k), v));
        return new ForwardOptions(urls(o.get("urls")), timeout(o.get("timeout")), retries(o.get("retries")), send,
                send == Send.OUTPUT ? ((String) processor).strip() : null, inner);
    }

    private static List<URI> urls(Object value) {
        List<?> items = switch (value) {
            case null -> List.of();
            case List<?> l -> l;
            case String s -> List.of(s.split(","));
            default -> throw new IllegalArgumentException("options.urls: must be a list of http(s) URLs");
        };
        List<URI> out = new ArrayList<>();
        for (Object item : items) {
            String text = item == null ? "" : item.toString().strip();
            if (text.isEmpty()) {
                continue;
            }
            URI uri;
            try {
                uri = new URI(text);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("options.urls: '" + text + "' is not an http(s) URL");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
                throw new IllegalArgumentException("options.urls: '" + text + "' is not an http(s) URL");
            }
            out.add(uri);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("options.urls: at least one http(s) URL is required");
        }
        return out;
    }

    private static Duration timeout(Object value) {
        if (value == null) {
            return DEFAULT_TIMEOUT;
        }
        Duration d;
        try {
            d = value instanceof Number n ? Duration.ofSeconds(n.longValue()) : Units.parseDuration(value.toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("options.timeout: '" + value + "' is not a duration (e.g. 10s)");
        }
        if (d.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("options.timeout: must be at least 100ms");
        }
        return d;
    }

    private static int retries(Object value) {
        if (value == null) {
            return 0;
        }
        int n;
        try {
            n = value instanceof Number num ? Math.toIntExact(num.longValue()) : Integer.parseInt(value.toString().strip());
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("options.retries: must be a whole number");
        }
        if (n < 0 || n > 10) {
            throw new IllegalArgumentException("options.retries: must be between 0 and 10");
        }
        return n;
    }
}
