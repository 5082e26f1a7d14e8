package io.sluice.jobs;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.config.PipelineConfig;
import io.sluice.processors.Processor;
import io.sluice.upload.TypePatterns;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The configured pipelines, each with its processor configured once ({@link Processor#configure}), and the rules
 * that give an upload its pipeline:
 * <ul>
 *   <li>a pipeline the client names must exist (400 {@code unknown_pipeline}) and accept the upload's detected type
 *       (415 {@code pipeline_type_mismatch});</li>
 *   <li>an upload that names none gets the first pipeline, in file order, that is marked {@code default} and
 *       accepts its type; with none, no job is made.</li>
 * </ul>
 * A pipeline accepts a type by the same rule as {@code limits.allowedTypes} ({@link TypePatterns}): an empty
 * {@code types} list accepts all, {@code text/csv} exactly that type, {@code text/*} every text type, and
 * {@code text/plain+subtypes} text/plain and what Tika derives from it. Immutable; safe to share between threads.
 */
public final class Pipelines {

    /**
     * A pipeline ready to run: its configuration, its configured processor task, and whether its jobs run in a
     * child JVM ({@code isolate:} of the pipeline, else the processor's {@link Processor#isolatedByDefault()}).
     */
    public record Pipeline(PipelineConfig config, Processor.Task task, boolean isolated) {

        /** A pipeline that runs in the worker's JVM. */
        public Pipeline(PipelineConfig config, Processor.Task task) {
            this(config, task, false);
        }

        public String name() {
            return config.name();
        }
    }

    private final Map<String, Pipeline> byName;

    private Pipelines(Map<String, Pipeline> byName) {
        this.byName = byName;
    }

    /**
     * Configures every pipeline's processor.
     *
     * @param processors by name (see {@code Processors.available()}); the configuration loader already checked
     *                   that each pipeline's processor exists and accepts its options
     * @throws IllegalStateException when a processor is missing or refuses its options after all
     */
    public static Pipelines configure(List<PipelineConfig> configs, Map<String, Processor> processors) {
        Map<String, Pipeline> byName = new LinkedHashMap<>();
        for (PipelineConfig c : configs) {
            Processor p = processors.get(c.processor());
            if (p == null) {
                throw new IllegalStateException("pipelines." + c.name() + ".processor: '" + c.processor()
                        + "' is not a known processor");
            }
            try {
                boolean isolated = c.isolate() != null ? c.isolate() : p.isolatedByDefault();
                byName.put(c.name(), new Pipeline(c, p.configure(c.options()), isolated));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("pipelines." + c.name() + ": " + e.getMessage(), e);
            }
        }
        return new Pipelines(Collections.unmodifiableMap(byName));
    }

    /** No pipelines: uploads get no jobs, and naming a pipeline is refused. */
    public static Pipelines none() {
        return new Pipelines(Map.of());
    }

    /** In file order. */
    public Collection<Pipeline> all() {
        return byName.values();
    }

    public Optional<Pipeline> find(String name) {
        return Optional.ofNullable(name == null ? null : byName.get(name));
    }

    /** @throws ApiException 400 {@code unknown_pipeline}, listing the configured names in {@code known} */
    public Pipeline require(String name) {
        Pipeline p = name == null ? null : byName.get(name);
        if (p == null) {
            String shown = name == null ? "" : name.length() > 64 ? name.substring(0, 64) + "..." : name;
            throw ErrorCode.UNKNOWN_PIPELINE.error(byName.isEmpty()
                    ? "no pipelines are configured, so '" + shown + "' cannot be used"
                    : "there is no pipeline named '" + shown + "'",
                    Map.of("pipeline", shown, "known", List.copyOf(byName.keySet())));
        }
        return p;
    }

    /**
     * The pipeline for an upload of {@code contentType}: the one named by {@code requested}, or the default for
     * the type, or none.
     *
     * @throws ApiException 400 {@code unknown_pipeline}; 415 {@code pipeline_type_mismatch} with the pipeline's
     *                      {@code acceptedTypes} and the {@code detectedType}
     */
    public Optional<Pipeline> choose(String requested, String contentType) {
        if (requested != null) {
            Pipeline p = require(requested);
            if (!accepts(p.config(), contentType)) {
                throw ErrorCode.PIPELINE_TYPE_MISMATCH.error("pipeline '" + p.name()
                        + "' does not take files of type " + contentType,
                        Map.of("pipeline", p.name(), "detectedType", contentType,
                                "acceptedTypes", p.config().types()));
            }
            return Optional.of(p);
        }
        for (Pipeline p : byName.values()) {
            if (p.config().isDefault() && accepts(p.config(), contentType)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static boolean accepts(PipelineConfig pipeline, String contentType) {
        return new TypePatterns(pipeline.types()).accepts(contentType);
    }
}
