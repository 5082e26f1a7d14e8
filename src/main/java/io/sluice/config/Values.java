package io.sluice.config;

import java.util.Map;

/** Parsed values by key name, and how each was written (as given, or the formatted default). */
record Values(Map<String, Object> parsed, Map<String, String> shown) {

    @SuppressWarnings("unchecked") // every entry was produced by the reader of the same Key<T>
    <T> T get(Key<T> key) {
        return (T) parsed.get(key.name());
    }
}
