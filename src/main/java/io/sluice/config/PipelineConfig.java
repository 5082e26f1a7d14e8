package io.sluice.config;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One entry of the {@code pipelines:} section of {@code sluice.yaml}: what runs over an upload that chose it (or
 * got it by default). Values are validated and resolved by {@link ConfigLoader}: {@code maxAttempts},
 * {@code timeout} and {@code concurrency} already hold the {@code jobs.*} defaults when the pipeline set none.
 *
 * @param name        {@code [a-z0-9][a-z0-9-]*}, at most 64 characters; what uploads name ({@code pipeline=...})
 *                    and what jobs record
 * @param processor   the {@code Processor} name (found by ServiceLoader) that does the work
 * @param types       lower-case MIME types or {@code type/*} this pipeline accepts; empty accepts every type
 * @param isDefault   uploads that name no pipeline get the first default pipeline (in file order) accepting their
 *                    detected type
 * @param options     passed to the processor's {@code configure}, as read from YAML (maps, lists, strings,
 *                    numbers, booleans, null)
 * @param maxAttempts attempts of one job before it fails for good
 * @param timeout     longest run of one attempt
 * @param concurrency jobs of this pipeline running at once in one process, 1..{@code jobs.workers}
 * @param notifyUrls  the {@code notify:} list: http(s) URLs that receive this pipeline's events as signed
 *                    webhooks, before {@code webhooks.urls} (see {@code EventLog})
 * @param isolate     {@code isolate:}: run the processor in a child JVM ({@code ./sluice run-job}) or not; null
 *                    when the pipeline does not say, so the processor's {@code isolatedByDefault()} decides
 * @param memory      {@code memory:}: the heap ({@code -Xmx}) of that child JVM, in bytes
 */
public record PipelineConfig(String name, String processor, List<String> types, boolean isDefault,
                             Map<String, Object> options, int maxAttempts, Duration timeout, int concurrency,
                             List<String> notifyUrls, Boolean isolate, long memory) {

    /** The child heap when a pipeline sets no {@code memory}. */
    public static final long DEFAULT_MEMORY = 256L * 1024 * 1024;

    /** A pipeline that leaves isolation to its processor and gets the default child heap. */
    public PipelineConfig(String name, String processor, List<String> types, boolean isDefault,
                          Map<String, Object> options, int maxAttempts, Duration timeout, int concurrency,
                          List<String> notifyUrls) {
        this(name, processor, types, isDefault, options, maxAttempts, timeout, concurrency, notifyUrls, null,
                DEFAULT_MEMORY);
    }

    public PipelineConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(processor, "processor");
        Objects.requireNonNull(timeout, "timeout");
        types = List.copyOf(types);
        // Not Map.copyOf: YAML options may hold nulls, and their order is the file's.
        options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
        notifyUrls = List.copyOf(notifyUrls);
    }
}
