package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.sluice.config.ConfigLoader.oneLine;
import static io.sluice.config.Readers.*;

/** The {@code relay:} section. Like pipelines, only the YAML file can hold it. */
final class RelaysSection {

    private RelaysSection() {
    }

    static final String RELAY = "relay";
    static final List<String> RELAY_FIELDS = List.of("targets", "timeout", "maxFiles", "maxFileSize",
            "maxConnections");
    static final Key<List<String>> RELAY_TARGETS = list("targets", Readers::notifyUrl, "");

    /**
     * Reads {@code relay: {<name>: {targets, timeout, maxFiles, maxFileSize, maxConnections}}} in file order;
     * {@code targets} is required and keeps its order (the failover order).
     */
    static List<RelayConfig> read(JsonNode section, Path file) throws ConfigException {
        if (section == null || section.isNull()) {
            return List.of();
        }
        if (!section.isObject()) {
            throw new ConfigException(RELAY, "must map relay names to their settings, e.g. "
                    + "'relay: {ocr: {targets: [http://10.0.0.5:8000/ocr]}}' (in " + file + ")");
        }
        List<RelayConfig> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : section.properties()) {
            String name = entry.getKey();
            String key = RELAY + "." + oneLine(name);
            SectionFields.checkName(name, key, "relay");
            JsonNode body = entry.getValue();
            if (body == null || !body.isObject()) {
                throw new ConfigException(key, "must be a mapping with at least 'targets:' (in " + file + ")");
            }
            SectionFields.checkFields(body, key, RELAY_FIELDS, "relay", file);
            List<String> targets = SectionFields.list(body, key, RELAY_TARGETS);
            if (targets.isEmpty()) {
                throw new ConfigException(key + ".targets", "is required: at least one http(s) URL to relay to "
                        + "(in " + file + ")");
            }
            Duration timeout = SectionFields.value(body, key, "timeout", duration(Duration.ofMillis(100), null),
                    RelayConfig.DEFAULT_TIMEOUT);
            int maxFiles = SectionFields.value(body, key, "maxFiles", integer(0, 1000), RelayConfig.DEFAULT_MAX_FILES);
            long maxFileSize = SectionFields.value(body, key, "maxFileSize", size(1, Long.MAX_VALUE),
                    RelayConfig.DEFAULT_MAX_FILE_SIZE);
            int maxConnections = SectionFields.value(body, key, "maxConnections", integer(1, 100_000),
                    RelayConfig.DEFAULT_MAX_CONNECTIONS);
            out.add(new RelayConfig(name, targets.stream().map(URI::create).toList(), timeout, maxFiles,
                    maxFileSize, maxConnections));
        }
        return List.copyOf(out);
    }
}
