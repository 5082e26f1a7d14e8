package io.sluice.config;

import java.util.List;

/** A value before parsing: a scalar from any source (YAML, environment, command line), or a YAML sequence. */
sealed interface Raw permits Raw.Text, Raw.Items {
    /** The value as the user wrote it, for messages. */
    String shown();

    record Text(String text) implements Raw {
        public String shown() {
            return text.strip();
        }
    }

    record Items(List<String> items) implements Raw {
        public String shown() {
            return "[" + String.join(", ", items) + "]";
        }
    }
}
