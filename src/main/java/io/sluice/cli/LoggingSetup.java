package io.sluice.cli;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.util.FileSize;
import io.sluice.auth.Redaction;
import io.sluice.config.LoggingConfig;
import io.sluice.config.SluiceConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * Replaces the bootstrap console logging (logback.xml) once the configuration is known: console plus a file in
 * {@code <dataDir>/logs} rolled by size and day and capped in total. Both sit behind bounded
 * {@code neverBlock} async appenders, so a slow disk or terminal can neither block a request nor grow memory.
 */
final class LoggingSetup {

    static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} - %redactedMsg%n%redactedEx";
    static final int QUEUE_SIZE = 8192;
    static final int MAX_HISTORY_DAYS = 14;

    private LoggingSetup() {
    }

    static void apply(SluiceConfig config) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.reset();
        registerRedaction(ctx);
        LoggingConfig lc = config.logging();

        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(ctx);
        console.setName("console");
        console.setEncoder(encoder(ctx, lc.json()));
        console.start();

        RollingFileAppender<ILoggingEvent> file = new RollingFileAppender<>();
        file.setContext(ctx);
        file.setName("file");
        String dir = config.dataDir().resolve("logs").toAbsolutePath().toString();
        file.setFile(dir + "/sluice.log");
        SizeAndTimeBasedRollingPolicy<ILoggingEvent> policy = new SizeAndTimeBasedRollingPolicy<>();
        policy.setContext(ctx);
        policy.setParent(file);
        policy.setFileNamePattern(dir + "/sluice.%d{yyyy-MM-dd}.%i.log.gz");
        policy.setMaxFileSize(new FileSize(lc.maxFileSize()));
        policy.setTotalSizeCap(new FileSize(lc.totalSizeCap()));
        policy.setMaxHistory(MAX_HISTORY_DAYS);
        policy.start();
        file.setRollingPolicy(policy);
        file.setEncoder(encoder(ctx, lc.json()));
        file.start();

        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(lc.level(), Level.INFO));
        root.addAppender(async(ctx, "async-console", console));
        root.addAppender(async(ctx, "async-file", file));
        // Jetty and Hikari are chatty at INFO about internals an operator does not act on.
        ctx.getLogger("org.eclipse.jetty").setLevel(Level.WARN);
        ctx.getLogger("com.zaxxer.hikari").setLevel(Level.WARN);
        ctx.getLogger("org.flywaydb").setLevel(Level.WARN);
        // PDFBox warns about every recoverable oddity of a PDF, per page (a missing font: once for each page that
        // uses it); the pdf processor reports what matters to the user in the job's outcome.
        ctx.getLogger("org.apache.pdfbox").setLevel(Level.ERROR);
    }

    /**
     * The conversion words of {@link #PATTERN} that pass messages and exceptions through
     * {@link Redaction}; reset() dropped what logback.xml registered.
     */
    @SuppressWarnings("unchecked")
    private static void registerRedaction(LoggerContext ctx) {
        Map<String, String> rules = (Map<String, String>) ctx.getObject(
                ch.qos.logback.core.CoreConstants.PATTERN_RULE_REGISTRY);
        if (rules == null) {
            rules = new HashMap<>();
            ctx.putObject(ch.qos.logback.core.CoreConstants.PATTERN_RULE_REGISTRY, rules);
        }
        rules.put("redactedMsg", RedactingMessageConverter.class.getName());
        rules.put("redactedEx", RedactingThrowableConverter.class.getName());
    }

    private static Encoder<ILoggingEvent> encoder(LoggerContext ctx, boolean json) {
        if (json) {
            JsonEncoder e = new RedactingJsonEncoder();
            e.setContext(ctx);
            e.start();
            return e;
        }
        PatternLayoutEncoder e = new PatternLayoutEncoder();
        e.setContext(ctx);
        e.setPattern(PATTERN);
        e.start();
        return e;
    }

    private static AsyncAppender async(LoggerContext ctx, String name,
                                       ch.qos.logback.core.Appender<ILoggingEvent> target) {
        AsyncAppender a = new AsyncAppender();
        a.setContext(ctx);
        a.setName(name);
        a.setQueueSize(QUEUE_SIZE);
        a.setNeverBlock(true);
        a.setDiscardingThreshold(QUEUE_SIZE / 5);
        a.addAppender(target);
        a.start();
        return a;
    }

    /** Drains the async queues before the process exits. */
    static void flush() {
        ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
    }
}
