package io.sluice.processors.command;

import io.sluice.config.Units;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code command} processor's options, validated once at start-up.
 *
 * @param command the program and its arguments, not passed through a shell; {@code {file}} and {@code {output}}
 *                inside any element are replaced per job
 * @param timeout longest run of the program, or null for the job's own time limit only
 * @param memory  address-space limit of the program in bytes ({@code prlimit --as} or {@code ulimit -v}), or null
 * @param env     variables added to the program's small environment
 */
public record CommandOptions(List<String> command, Duration timeout, Long memory, Map<String, String> env) {

    private static final Set<String> KNOWN = Set.of("command", "timeout", "memory", "env");

    public CommandOptions {
        command = List.copyOf(command);
        env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
    }

    /** @throws IllegalArgumentException naming {@code options.<key>} */
    public static CommandOptions parse(Map<String, Object> options) {
        Map<String, Object> o = options == null ? Map.of() : options;
        for (String key : o.keySet()) {
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("options." + key + ": unknown option (known: command, timeout, "
                        + "memory, env)");
            }
        }
        if (!(o.get("command") instanceof List<?> raw) || raw.isEmpty()) {
            throw new IllegalArgumentException("options.command: required, a list of strings such as "
                    + "[python3, /opt/scripts/parse.py, \"{file}\", \"{output}\"] (no shell is involved)");
        }
        List<String> command = new ArrayList<>();
        for (Object item : raw) {
            if (item == null || item instanceof Map || item instanceof List || item.toString().isEmpty()) {
                throw new IllegalArgumentException("options.command: every item must be a non-empty string, got '"
                        + item + "'");
            }
            command.add(item.toString());
        }
        Duration timeout = null;
        if (o.get("timeout") != null) {
            try {
                timeout = Units.parseDuration(o.get("timeout").toString());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("options.timeout: '" + o.get("timeout")
                        + "' is not a duration (examples: 30s, 5m)");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("options.timeout: must be positive");
            }
        }
        Long memory = null;
        if (o.get("memory") != null) {
            try {
                memory = Units.parseSize(o.get("memory").toString());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("options.memory: '" + o.get("memory")
                        + "' is not a size (examples: 256MiB, 1GiB)");
            }
            if (memory < 1024 * 1024) {
                throw new IllegalArgumentException("options.memory: must be at least 1MiB");
            }
        }
        Map<String, String> env = new LinkedHashMap<>();
        Object rawEnv = o.get("env");
        if (rawEnv != null) {
            if (!(rawEnv instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("options.env: must map variable names to values");
            }
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String name = String.valueOf(e.getKey());
                if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new IllegalArgumentException("options.env." + name + ": not a variable name");
                }
                if (e.getValue() instanceof Map || e.getValue() instanceof List) {
                    throw new IllegalArgumentException("options.env." + name + ": must be a plain value");
                }
                env.put(name, e.getValue() == null ? "" : e.getValue().toString());
            }
        }
        return new CommandOptions(command, timeout, memory, env);
    }
}
