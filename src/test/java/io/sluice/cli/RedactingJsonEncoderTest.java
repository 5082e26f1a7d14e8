package io.sluice.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code logging.json: true} lines are valid JSON with every credential masked, message and exception alike. */
class RedactingJsonEncoderTest {

    @Test
    void credentialsInMessagesArgumentsAndExceptionsAreMaskedAndEachLineIsValidJson() throws Exception {
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(new LogbackMDCAdapter());
        ctx.start();
        RedactingJsonEncoder encoder = new RedactingJsonEncoder();
        encoder.setContext(ctx);
        encoder.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(ctx);
        appender.setEncoder(encoder);
        appender.setImmediateFlush(true);
        appender.setOutputStream(out);
        appender.start();
        Logger log = ctx.getLogger("test");
        log.addAppender(appender);

        String key = "sk_01ARZ3NDEKTSV4RRFFQ69G5FAV_s3cr3tSecretValue";
        log.info("GET /api/v1/events?access_token={} 200", "tok-in-argument");
        log.warn("delivery to http://h/hook?token=tok-in-url failed; key {} was pasted", key);
        log.error("request failed", new IllegalStateException("Authorization: Bearer tok-in-exception \"quoted\""));
        appender.stop();

        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).hasSize(3);
        ObjectMapper json = new ObjectMapper();
        for (String line : lines) {
            JsonNode node = json.readTree(line);
            assertThat(node.path("formattedMessage").asText()).isNotEmpty();
            assertThat(node.has("message")).as("the unredacted template is not written").isFalse();
            assertThat(node.has("arguments")).as("nor the raw arguments").isFalse();
            assertThat(node.path("level").asText()).isNotEmpty();
        }
        String all = String.join("\n", lines);
        for (String secret : new String[]{"tok-in-argument", "tok-in-url", "s3cr3tSecretValue", "tok-in-exception"}) {
            assertThat(all).doesNotContain(secret);
        }
        assertThat(json.readTree(lines.get(0)).path("formattedMessage").asText())
                .isEqualTo("GET /api/v1/events?access_token=*** 200");
        assertThat(json.readTree(lines.get(1)).path("formattedMessage").asText()).contains("token=***")
                .contains("key *** was pasted");
        JsonNode error = json.readTree(lines.get(2));
        assertThat(error.path("throwable").asText()).contains("IllegalStateException").contains("Authorization: ***")
                .contains("RedactingJsonEncoderTest");
    }
}
