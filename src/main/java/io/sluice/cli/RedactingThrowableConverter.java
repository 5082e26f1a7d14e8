package io.sluice.cli;

import ch.qos.logback.classic.pattern.ExtendedThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.sluice.auth.Redaction;

/** {@code %ex} through {@link Redaction}: exception messages quote URLs (a failed webhook's target, for one). */
public final class RedactingThrowableConverter extends ExtendedThrowableProxyConverter {
    @Override
    public String convert(ILoggingEvent event) {
        return Redaction.redact(super.convert(event));
    }
}
