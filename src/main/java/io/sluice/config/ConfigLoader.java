package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.sluice.config.ConfigKeys.BY_NAME;
import static io.sluice.config.ConfigKeys.KEYS;
import static io.sluice.config.ConfigKeys.SECRETS;

/**
 * Builds a validated {@link SluiceConfig} from, in increasing precedence: the {@code DEFAULT_*} constants, an
 * optional YAML file, {@code SLUICE_*} environment variables and command-line overrides.
 *
 * <p>Where things are:
 * <ul>
 *   <li>{@link ConfigKeys}: the key table. Every key is one entry (name, default, reader with its range, printed
 *       form, help text) and the section records are built there. Adding a key touches that file.</li>
 *   <li>{@link Readers}: how text becomes a typed value (sizes, durations, booleans, lists, URLs ...).</li>
 *   <li>{@link CrossRules}: rules that involve two keys.</li>
 *   <li>{@link PipelinesSection}, {@link RelaysSection}: the structured YAML-only sections.</li>
 *   <li>{@link YamlSource}, {@link UnknownKeys}: reading the file, and refusing unknown keys with a hint.</li>
 *   <li>this class: sources in order of precedence, resolution, and the public API.</li>
 * </ul>
 * Every rejection is a {@link ConfigException} with a one-line message {@code <key>: '<value>' <rule>}.
 */
public final class ConfigLoader {

    /** The {@link ConfigException#key()} used for problems with the file itself rather than with one key. */
    public static final String CONFIG_FILE_KEY = "config";

    private static final String ENV_PREFIX = "SLUICE_";
    private static final int MAX_SHOWN_VALUE = 80;

    private ConfigLoader() {
    }

    // ---------------------------------------------------------------------------------------------------------
    // Public API.

    /**
     * Loads and validates the configuration.
     *
     * @param configFileOrNull YAML file; {@code null} for none. A path that is given must exist.
     * @param env              environment variables (usually {@link System#getenv()}); only the {@code SLUICE_*}
     *                         names of known keys are read, anything else is ignored. {@code null} = empty.
     * @param overrides        command-line values keyed by dotted key ({@code server.port -> 9000}); unknown
     *                         keys are refused. {@code null} = empty.
     * @throws ConfigException naming the first offending key (or {@value #CONFIG_FILE_KEY} for the file itself)
     */
    public static SluiceConfig load(Path configFileOrNull, Map<String, String> env, Map<String, String> overrides)
            throws ConfigException {
        Map<String, Raw> raw = new LinkedHashMap<>();
        JsonNode pipelines = null;
        JsonNode relays = null;
        if (configFileOrNull != null) {
            YamlSource.YamlFile file = YamlSource.read(configFileOrNull);
            raw.putAll(file.keys());
            pipelines = file.pipelines();
            relays = file.relays();
        }
        if (env != null) {
            for (Key<?> key : KEYS) {
                String value = env.get(key.env());
                if (value != null) {
                    raw.put(key.name(), new Raw.Text(value));
                }
            }
        }
        if (overrides != null) {
            // Sorted so that, with several unknown keys, the one reported does not depend on map order.
            for (Map.Entry<String, String> e : new TreeMap<>(overrides).entrySet()) {
                if (!BY_NAME.containsKey(e.getKey())) {
                    throw UnknownKeys.unknownKey(e.getKey(), "command-line override");
                }
                raw.put(e.getKey(), new Raw.Text(e.getValue() == null ? "" : e.getValue()));
            }
        }
        Values values = resolve(raw);
        CrossRules.apply(values, raw);
        List<PipelineConfig> pipelineList = PipelinesSection.read(pipelines, values, configFileOrNull);
        return ConfigKeys.build(values, pipelineList, RelaysSection.read(relays, configFileOrNull));
    }

    /** Every dotted key, in documentation order. */
    public static List<String> knownKeys() {
        return KEYS.stream().map(Key::name).toList();
    }

    /**
     * The environment variable read for a dotted key: {@code SLUICE_} + the key with camelCase split into
     * UPPER_SNAKE and dots turned into underscores ({@code limits.maxFileSize -> SLUICE_LIMITS_MAX_FILE_SIZE}).
     * Works for any key, known or not.
     */
    public static String envName(String key) {
        StringBuilder out = new StringBuilder(ENV_PREFIX);
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c == '.' || c == '-') {
                out.append('_');
            } else if (Character.isUpperCase(c)) {
                char prev = i > 0 ? key.charAt(i - 1) : '.';
                if (Character.isLowerCase(prev) || Character.isDigit(prev)) {
                    out.append('_');
                }
                out.append(c);
            } else {
                out.append(Character.toUpperCase(c));
            }
        }
        return out.toString();
    }

    /**
     * The Markdown reference table (key | env variable | default | meaning/rule), generated from the key table so
     * that the README's configuration reference can be checked against it.
     */
    static String referenceTable() {
        StringBuilder out = new StringBuilder();
        out.append("| Key | Environment variable | Default | Meaning / rule |\n");
        out.append("|-----|----------------------|---------|----------------|\n");
        for (Key<?> key : KEYS) {
            String shown = key.shownDefault();
            out.append("| `").append(key.name()).append("` | `").append(key.env()).append("` | ")
                    .append(shown.isEmpty() ? "*(empty)*" : "`" + shown + "`").append(" | ")
                    .append(key.help()).append(" |\n");
        }
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Resolution.

    private static Values resolve(Map<String, Raw> raw) throws ConfigException {
        Map<String, Object> parsed = new LinkedHashMap<>();
        Map<String, String> shown = new LinkedHashMap<>();
        for (Key<?> key : KEYS) {
            Raw given = raw.get(key.name());
            if (given == null) {
                parsed.put(key.name(), key.defaultValue());
                shown.put(key.name(), key.shownDefault());
                continue;
            }
            try {
                parsed.put(key.name(), key.reader().read(given));
            } catch (Readers.Rejected r) {
                throw new ConfigException(key.name(),
                        "'" + oneLine(r.value != null ? r.value : given.shown()) + "' " + r.getMessage());
            }
            // A credential is never echoed, not even in another key's message.
            shown.put(key.name(), SECRETS.contains(key) ? showParsed(key, parsed.get(key.name()))
                    : oneLine(given.shown()));
        }
        return new Values(parsed, shown);
    }

    @SuppressWarnings("unchecked") // value was produced by this key's reader
    private static <T> String showParsed(Key<T> key, Object value) {
        return key.show().apply((T) value);
    }

    /** Values come from files and environments: keep the message on one line and of sane length. */
    static String oneLine(String value) {
        String flat = value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t");
        return flat.length() <= MAX_SHOWN_VALUE ? flat : flat.substring(0, MAX_SHOWN_VALUE) + "...";
    }
}
