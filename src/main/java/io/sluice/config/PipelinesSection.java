package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.processors.Processor;
import io.sluice.processors.Processors;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.sluice.config.ConfigKeys.JOBS_MAX_ATTEMPTS;
import static io.sluice.config.ConfigKeys.JOBS_TIMEOUT;
import static io.sluice.config.ConfigKeys.JOBS_WORKERS;
import static io.sluice.config.ConfigLoader.oneLine;
import static io.sluice.config.Readers.*;

/**
 * The {@code pipelines:} section. Only the YAML file can hold it: a pipeline is a structure (types, options, notify
 * targets), which environment variables and {@code --set} cannot express.
 */
final class PipelinesSection {

    private PipelinesSection() {
    }

    static final String PIPELINES = "pipelines";
    static final List<String> PIPELINE_FIELDS = List.of("processor", "types", "default", "options",
            "maxAttempts", "timeout", "concurrency", "notify", "isolate", "memory");
    static final Key<List<String>> PIPELINE_TYPES = list("types", Readers::mimeType, "");
    static final Key<List<String>> PIPELINE_NOTIFY = list("notify", Readers::notifyUrl, "");

    /**
     * Reads {@code pipelines: {<name>: {processor, types, default, options, maxAttempts, timeout, concurrency,
     * notify, isolate, memory}}} in file order. Each processor must be known (ServiceLoader) and accept its options; an option it
     * refuses is reported under {@code pipelines.<name>.options...}.
     */
    static List<PipelineConfig> read(JsonNode section, Values v, Path file) throws ConfigException {
        if (section == null || section.isNull()) {
            return List.of();
        }
        if (!section.isObject()) {
            throw new ConfigException(PIPELINES, "must map pipeline names to their settings, e.g. "
                    + "'pipelines: {reports: {processor: spreadsheet}}' (in " + file + ")");
        }
        Map<String, Processor> processors = null; // loaded only when a pipeline needs one
        List<PipelineConfig> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : section.properties()) {
            String name = entry.getKey();
            String key = PIPELINES + "." + oneLine(name);
            SectionFields.checkName(name, key, "pipeline");
            JsonNode body = entry.getValue();
            if (body == null || !body.isObject()) {
                throw new ConfigException(key, "must be a mapping with at least 'processor:' (in " + file + ")");
            }
            SectionFields.checkFields(body, key, PIPELINE_FIELDS, "pipeline", file);
            String processorName = SectionFields.value(body, key, "processor", Readers::nonBlank, null);
            if (processorName == null) {
                throw new ConfigException(key + ".processor", "is required: the processor that runs this "
                        + "pipeline's jobs (in " + file + ")");
            }
            if (processors == null) {
                try {
                    processors = Processors.available();
                } catch (IllegalStateException e) {
                    throw new ConfigException(key + ".processor", oneLine(e.getMessage()));
                }
            }
            Processor processor = processors.get(processorName);
            if (processor == null) {
                throw new ConfigException(key + ".processor", "'" + oneLine(processorName)
                        + "' is not a known processor (known: " + String.join(", ", processors.keySet()) + ")");
            }
            List<String> types = SectionFields.list(body, key, PIPELINE_TYPES);
            boolean isDefault = SectionFields.value(body, key, "default", Readers::bool, false);
            int maxAttempts = SectionFields.value(body, key, "maxAttempts", integer(1, 100), v.get(JOBS_MAX_ATTEMPTS));
            Duration timeout = SectionFields.value(body, key, "timeout", duration(Duration.ofSeconds(1), null),
                    v.get(JOBS_TIMEOUT));
            int workers = v.get(JOBS_WORKERS);
            int concurrency = SectionFields.value(body, key, "concurrency", integer(1, Integer.MAX_VALUE), workers);
            if (concurrency > workers) {
                throw new ConfigException(key + ".concurrency", "'" + concurrency + "' must not exceed "
                        + JOBS_WORKERS.name() + " ('" + v.shown().get(JOBS_WORKERS.name()) + "')");
            }
            List<String> notify = SectionFields.list(body, key, PIPELINE_NOTIFY);
            Map<String, Object> options = options(body.get("options"), key, file);
            configure(processor, options, key);
            // null: the processor's isolatedByDefault() decides when the pipeline is built.
            Boolean isolate = SectionFields.value(body, key, "isolate", Readers::bool, null);
            // A floor of 16 MiB: a JVM with less fails at start-up, which would read as a crash of every job.
            long memory = SectionFields.value(body, key, "memory", size(16L * 1024 * 1024, 64L * 1024 * 1024 * 1024),
                    PipelineConfig.DEFAULT_MEMORY);
            out.add(new PipelineConfig(name, processorName, types, isDefault, options, maxAttempts, timeout,
                    concurrency, notify, isolate, memory));
        }
        return List.copyOf(out);
    }

    static Map<String, Object> options(JsonNode node, String key, Path file) throws ConfigException {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new ConfigException(key + ".options", "must be a mapping of option names to values (in "
                    + file + ")");
        }
        @SuppressWarnings("unchecked") // a YAML mapping converts to a map with string keys
        Map<String, Object> options = new ObjectMapper()
                .convertValue(node, LinkedHashMap.class);
        return options;
    }

    /**
     * Lets the processor judge its options now, so a bad one stops start-up (exit 2) instead of failing every job.
     * Its message names the option ({@code options.maxRows: must be >= 1}); the key becomes
     * {@code pipelines.<name>.options.maxRows}.
     */
    static void configure(Processor processor, Map<String, Object> options, String key)
            throws ConfigException {
        try {
            processor.configure(options);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage() == null ? "refused its options" : oneLine(e.getMessage());
            int colon = message.indexOf(':');
            if (message.startsWith("options.") && colon > "options.".length()) {
                throw new ConfigException(key + "." + message.substring(0, colon).strip(),
                        message.substring(colon + 1).strip());
            }
            throw new ConfigException(key + ".options", message);
        } catch (RuntimeException e) {
            throw new ConfigException(key + ".options", "processor '" + processor.name()
                    + "' failed on its options: " + oneLine(e.toString()));
        }
    }
}
