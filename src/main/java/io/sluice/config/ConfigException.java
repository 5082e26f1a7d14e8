package io.sluice.config;

/** A configuration that must not start: the message is one line naming the key and the rule. */
public final class ConfigException extends Exception {
    private final String key;

    public ConfigException(String key, String message) {
        super(key + ": " + message);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
