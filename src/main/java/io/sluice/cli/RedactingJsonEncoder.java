package io.sluice.cli;

import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.sluice.auth.Redaction;

/**
 * {@code logging.json: true} through {@link Redaction}, as the pattern layout's {@code %redactedMsg} and
 * {@code %redactedEx} do for plain lines. Logback's {@link JsonEncoder} writes the message template, its arguments,
 * the formatted message and the exception as they are, with no hook to rewrite them; so those four members are
 * switched off and written here instead: {@code formattedMessage} redacted, and {@code throwable} as the redacted
 * stack trace text (one string, as a pattern line would show it). Redacting the encoded line as a whole is not an
 * option: a masked header value runs to the end of its line, which would swallow the JSON's closing braces.
 */
final class RedactingJsonEncoder extends JsonEncoder {

    private final ThrowableProxyConverter stackTrace = new ThrowableProxyConverter();

    RedactingJsonEncoder() {
        setWithMessage(false);
        setWithArguments(false);
        setWithFormattedMessage(false);
        setWithThrowable(false);
    }

    @Override
    public void start() {
        stackTrace.setContext(getContext());
        stackTrace.start();
        super.start();
    }

    @Override
    protected void appendCustomFields(StringBuilder sb, ILoggingEvent event) {
        member(sb, "formattedMessage", event.getFormattedMessage());
        if (event.getThrowableProxy() != null) {
            member(sb, "throwable", stackTrace.convert(event));
        }
    }

    private static void member(StringBuilder sb, String name, String value) {
        // Every member before this one (timestamp, level, logger, ...) is on, so a separator always precedes it.
        sb.append(",\"").append(name).append("\":\"");
        JsonStringEncoder.getInstance().quoteAsString(Redaction.redact(value == null ? "" : value), sb);
        sb.append('"');
    }
}
