package io.sluice.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.sluice.config.ConfigKeys.BY_NAME;
import static io.sluice.config.ConfigLoader.CONFIG_FILE_KEY;
import static io.sluice.config.ConfigLoader.oneLine;
import static io.sluice.config.UnknownKeys.isSection;
import static io.sluice.config.UnknownKeys.keysIn;
import static io.sluice.config.UnknownKeys.unknownKey;

/**
 * The YAML file: its nested mappings flattened to dotted keys (each must be known), and the {@code pipelines:} and
 * {@code relay:} sections set aside for {@link PipelinesSection} and {@link RelaysSection}.
 */
final class YamlSource {

    private YamlSource() {
    }

    /** A YAML file: its dotted keys, and the {@code pipelines:} section (null when absent), read separately. */
    record YamlFile(Map<String, Raw> keys, JsonNode pipelines, JsonNode relays) {
    }

    static YamlFile read(Path file) throws ConfigException {
        if (!Files.exists(file)) {
            throw new ConfigException(CONFIG_FILE_KEY, "file not found: " + file);
        }
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(CONFIG_FILE_KEY, "not a regular file: " + file);
        }
        // A fresh mapper per load: loading happens once, and the loader keeps no shared state.
        YAMLMapper mapper = YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        JsonNode root;
        try {
            root = mapper.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new ConfigException(CONFIG_FILE_KEY, "malformed YAML in " + file + describe(e));
        } catch (IOException e) {
            throw new ConfigException(CONFIG_FILE_KEY, "cannot read " + file + ": " + e.getMessage());
        }
        Map<String, Raw> out = new LinkedHashMap<>();
        if (root == null || root.isMissingNode() || root.isNull()) {
            return new YamlFile(out, null, null); // an empty file configures nothing
        }
        if (!root.isObject()) {
            throw new ConfigException(CONFIG_FILE_KEY, file + " must hold a mapping of keys, e.g. 'server:'");
        }
        JsonNode pipelines = ((ObjectNode) root).remove(PipelinesSection.PIPELINES);
        JsonNode relays = ((ObjectNode) root).remove(RelaysSection.RELAY);
        flatten("", root, out, file);
        return new YamlFile(out, pipelines, relays);
    }

    /**
     * " at line N: problem". SnakeYAML's own exception knows where the problem is (Jackson's location is where the
     * parser stood, often the start of the enclosing block) and keeps context and problem apart.
     */
    static String describe(JsonProcessingException e) {
        int line = 0;
        String problem = null;
        if (e.getCause() instanceof MarkedYAMLException yaml) {
            if (yaml.getProblemMark() != null) {
                line = yaml.getProblemMark().getLine() + 1;
            }
            problem = yaml.getProblem();
        }
        JsonLocation at = e.getLocation();
        if (line == 0 && at != null && at.getLineNr() > 0) {
            line = at.getLineNr();
        }
        if (problem == null || problem.isBlank()) {
            problem = e.getOriginalMessage() == null ? e.getClass().getSimpleName()
                    : e.getOriginalMessage().lines().findFirst().orElse("");
        }
        return (line > 0 ? " at line " + line : "") + ": " + oneLine(problem.strip());
    }

    static void flatten(String prefix, JsonNode node, Map<String, Raw> out, Path file)
            throws ConfigException {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            String name = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            JsonNode value = field.getValue();
            boolean known = BY_NAME.containsKey(name);
            if (!known && isSection(name)) {
                if (value.isObject()) {
                    flatten(name, value, out, file);
                } else if (!value.isNull()) { // "server:" with nothing under it is harmless
                    throw new ConfigException(name, "is a section, not a value ('" + oneLine(value.isValueNode() ? value.asText() : value.toString())
                            + "'); put keys below it such as " + keysIn(name).getFirst() + " (in " + file + ")");
                }
                continue;
            }
            if (!known) {
                throw unknownKey(name, file.toString());
            }
            Raw raw;
            if (value.isObject()) {
                throw new ConfigException(name, "expected a value but got a mapping (in " + file + ")");
            } else if (value.isArray()) {
                List<String> items = new ArrayList<>();
                for (JsonNode item : value) {
                    if (item.isContainerNode()) {
                        throw new ConfigException(name, "'" + oneLine(item.toString())
                                + "' list items must be plain values (in " + file + ")");
                    }
                    items.add(item.isNull() ? "" : item.asText());
                }
                raw = new Raw.Items(items);
            } else {
                raw = new Raw.Text(value.isNull() ? "" : value.asText());
            }
            if (out.put(name, raw) != null) {
                throw new ConfigException(name, "is set twice in " + file);
            }
        }
    }
}
