package io.sluice.config;

import java.util.function.Function;

/**
 * One configuration key: its dotted name, default, reader (parse and single-key validation, see {@link Readers}),
 * how a value is printed (messages, the README table) and its documentation.
 */
record Key<T>(String name, T defaultValue, Readers.Reader<T> reader, Function<? super T, String> show, String help) {

    String env() {
        return ConfigLoader.envName(name);
    }

    String shownDefault() {
        return show.apply(defaultValue);
    }
}
