package io.sluice.cli;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.sluice.auth.Redaction;

/**
 * {@code %msg} through {@link Redaction}: every log line Sluice writes with a pattern (console and
 * {@code <dataDir>/logs}), whoever logged it, Jetty and libraries included, loses its credentials.
 */
public final class RedactingMessageConverter extends MessageConverter {
    @Override
    public String convert(ILoggingEvent event) {
        return Redaction.redact(super.convert(event));
    }
}
