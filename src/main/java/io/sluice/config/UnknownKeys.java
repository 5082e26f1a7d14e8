package io.sluice.config;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static io.sluice.config.ConfigKeys.KEYS;
import static io.sluice.config.ConfigLoader.oneLine;
import static io.sluice.config.PipelinesSection.PIPELINES;
import static io.sluice.config.RelaysSection.RELAY;

/** Refusing a key nobody knows, with the nearest known keys as a hint (typos, snake_case, the wrong section). */
final class UnknownKeys {

    private UnknownKeys() {
    }

    static boolean isSection(String name) {
        return KEYS.stream().anyMatch(k -> k.name().startsWith(name + "."));
    }

    static List<String> keysIn(String section) {
        return KEYS.stream().map(Key::name).filter(n -> n.startsWith(section + ".")).toList();
    }

    static ConfigException unknownKey(String name, String where) {
        List<String> suggestions = suggest(name);
        String hint;
        if (!suggestions.isEmpty()) {
            hint = "did you mean " + String.join(" or ", suggestions) + "?";
        } else {
            int dot = name.lastIndexOf('.');
            String section = dot < 0 ? "" : name.substring(0, dot);
            hint = isSection(section)
                    ? "known keys in " + section + ": " + String.join(", ", keysIn(section))
                    : "known top-level keys: " + String.join(", ", topLevelNames());
        }
        if (name.equals(PIPELINES) || name.startsWith(PIPELINES + ".")) {
            hint = "pipelines are configured only in the YAML file, as a 'pipelines:' section";
        }
        if (name.equals(RELAY) || name.startsWith(RELAY + ".")) {
            hint = "relays are configured only in the YAML file, as a 'relay:' section";
        }
        return new ConfigException(oneLine(name), "unknown key (" + where + "); " + hint);
    }

    static Set<String> topLevelNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Key<?> key : KEYS) {
            int dot = key.name().indexOf('.');
            names.add(dot < 0 ? key.name() : key.name().substring(0, dot));
        }
        names.add(PIPELINES);
        names.add(RELAY);
        return names;
    }

    /**
     * Close known keys: a small edit distance after ignoring case, '_' and '-' (typos, snake_case), else the same
     * last segment in another section (e.g. server.maxFileSize).
     */
    static List<String> suggest(String unknown) {
        String wanted = normalise(unknown);
        int best = Integer.MAX_VALUE;
        List<String> close = new ArrayList<>();
        for (Key<?> key : KEYS) {
            String candidate = normalise(key.name());
            int distance = levenshtein(wanted, candidate);
            if (distance > Math.max(2, candidate.length() / 6)) {
                continue;
            }
            if (distance < best) {
                best = distance;
                close.clear();
            }
            if (distance == best) {
                close.add(key.name());
            }
        }
        if (!close.isEmpty()) {
            return List.copyOf(close);
        }
        String last = normalise(unknown.substring(unknown.lastIndexOf('.') + 1));
        return KEYS.stream().map(Key::name)
                .filter(n -> normalise(n.substring(n.lastIndexOf('.') + 1)).equals(last))
                .toList();
    }

    static String normalise(String key) {
        return key.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] swap = prev;
            prev = cur;
            cur = swap;
        }
        return prev[b.length()];
    }
}
