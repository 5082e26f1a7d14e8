package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.config.Readers.Conv;
import io.sluice.config.Readers.Rejected;
import io.sluice.processors.Processors;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.sluice.config.ConfigLoader.oneLine;
import static io.sluice.config.UnknownKeys.levenshtein;
import static io.sluice.config.UnknownKeys.normalise;

/**
 * Reading the named entries of a structured YAML section ({@code pipelines:}, {@code relay:}): each entry's name,
 * its known fields, and its values, read with the same {@link Readers} and worded like top-level keys.
 */
final class SectionFields {

    private SectionFields() {
    }

    /** An entry's name: the same rule as a processor's. {@code what} is "pipeline" or "relay". */
    static void checkName(String name, String key, String what) throws ConfigException {
        if (!Processors.NAME.matcher(name).matches()) {
            throw new ConfigException(key, "'" + oneLine(name) + "' is not a " + what + " name (lower-case letters, "
                    + "digits and '-', starting with a letter or digit, at most 64 characters)");
        }
    }

    /** Refuses a field the entry does not take, with the closest one as a hint. */
    static void checkFields(JsonNode body, String key, List<String> fields, String what, Path file)
            throws ConfigException {
        for (Map.Entry<String, JsonNode> field : body.properties()) {
            if (!fields.contains(field.getKey())) {
                String close = fields.stream()
                        .filter(f -> levenshtein(normalise(f), normalise(field.getKey())) <= 2)
                        .findFirst().map(f -> "did you mean " + f + "? ").orElse("");
                throw new ConfigException(key + "." + oneLine(field.getKey()), "unknown key (in " + file + "); "
                        + close + "a " + what + " takes " + String.join(", ", fields));
            }
        }
    }

    /** One scalar of an entry, read like a top-level key; {@code absent} when missing or null. */
    static <T> T value(JsonNode body, String key, String field, Conv<T> conv, T absent)
            throws ConfigException {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return absent;
        }
        if (node.isContainerNode()) {
            throw new ConfigException(key + "." + field, "expected a value but got '" + oneLine(node.toString())
                    + "'");
        }
        String text = node.asText().strip();
        try {
            return conv.from(text);
        } catch (Rejected r) {
            throw new ConfigException(key + "." + field, "'" + oneLine(r.value != null ? r.value : text) + "' "
                    + r.getMessage());
        }
    }

    /** A list of an entry (a YAML sequence or a comma-separated string), read like a top-level list key. */
    static List<String> list(JsonNode body, String key, Key<List<String>> list)
            throws ConfigException {
        JsonNode node = body.get(list.name());
        if (node == null || node.isNull()) {
            return List.of();
        }
        Raw raw;
        if (node.isArray()) {
            List<String> items = new ArrayList<>();
            for (JsonNode item : node) {
                if (item.isContainerNode()) {
                    throw new ConfigException(key + "." + list.name(), "'" + oneLine(item.toString())
                            + "' list items must be plain values");
                }
                items.add(item.isNull() ? "" : item.asText());
            }
            raw = new Raw.Items(items);
        } else if (node.isObject()) {
            throw new ConfigException(key + "." + list.name(), "expected a list but got a mapping");
        } else {
            raw = new Raw.Text(node.asText());
        }
        try {
            return list.reader().read(raw);
        } catch (Rejected r) {
            throw new ConfigException(key + "." + list.name(), "'" + oneLine(r.value != null ? r.value
                    : raw.shown()) + "' " + r.getMessage());
        }
    }
}
