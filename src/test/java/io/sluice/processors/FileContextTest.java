package io.sluice.processors;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.Json;
import io.sluice.storage.local.Writeback;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The NDJSON output: values that serialise themselves (JsonNode, a spreadsheet row) are streamed through one
 * generator, others are serialised whole first; either way one value is one line, in the order written, with the
 * bytes {@code writeValueAsBytes} gives.
 */
class FileContextTest {

    @TempDir
    Path dir;

    @Test
    void streamedAndWholeValuesKeepTheirOrderAndBytes() throws Exception {
        Path out = dir.resolve("out.ndjson");
        List<Object> rows = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("i", i);
            m.put("text", "line\nbreak \"quoted\" ü 😀");
            m.put("none", null); // whatever the mapper makes of a null, both paths must agree
            rows.add(m);
            JsonNode node = Json.mapper().readTree("{\"i\":" + i + ",\"n\":null,\"d\":1.50,\"s\":\"é\\u0001\"}");
            rows.add(node);
            if (i % 7 == 0) {
                rows.add(node); // several streamed values in a row
            }
        }
        try (FileContext ctx = context(out)) {
            for (Object row : rows) {
                ctx.output().write(row);
            }
            assertThat(ctx.output().lines()).isEqualTo(rows.size());
        }
        StringBuilder expected = new StringBuilder();
        for (Object row : rows) {
            expected.append(new String(Json.mapper().writeValueAsBytes(row), StandardCharsets.UTF_8)).append('\n');
        }
        assertThat(Files.readString(out)).isEqualTo(expected.toString());
    }

    @Test
    void aValueThatCannotBeSerialisedIsNotWrittenAtAll() throws Exception {
        Path out = dir.resolve("out.ndjson");
        try (FileContext ctx = context(out)) {
            ctx.output().write(Json.mapper().readTree("{\"a\":1}"));
            assertThatThrownBy(() -> ctx.output().write(new Object())).isInstanceOf(Exception.class);
            ctx.output().write(Map.of("b", 2));
            assertThat(ctx.output().lines()).isEqualTo(2);
        }
        assertThat(Files.readString(out)).isEqualTo("{\"a\":1}\n{\"b\":2}\n");
    }

    @Test
    void theOutputIsHandedToWriteBackWhileItGrowsAndKeepsEveryByte() throws Exception {
        Writeback linux = Writeback.linux();
        Assumptions.assumeTrue(linux.available(),
                "sync_file_range is not reachable here (not Linux, or native access refused): nothing to check");
        Path out = dir.resolve("big.ndjson");
        ProcessorContext.UploadInfo info = new ProcessorContext.UploadInfo("01CTX", "x.bin", 0, "0".repeat(64),
                "application/octet-stream", Map.of());
        int rows = 40_000; // about 3.5 intervals of output
        try (FileContext ctx = new FileContext(info, dir.resolve("in.bin"), dir.resolve("work"), out,
                (p, s, e) -> { }, () -> { }, b -> { throw new AssertionError("no programs here"); }, null, linux)) {
            for (int i = 0; i < rows; i++) {
                ctx.output().write(Map.of("row", i, "text", "a line of output that is not short " + i));
            }
        }
        assertThat(linux.requests()).as("write-back requested once per whole interval written")
                .isGreaterThanOrEqualTo(Files.size(out) / Writeback.INTERVAL - 1).isPositive();
        List<String> lines = Files.readAllLines(out);
        assertThat(lines).hasSize(rows);
        assertThat(lines.getLast()).isEqualTo(Json.mapper().writeValueAsString(
                Map.of("row", rows - 1, "text", "a line of output that is not short " + (rows - 1))));
    }

    private FileContext context(Path out) throws Exception {
        ProcessorContext.UploadInfo info = new ProcessorContext.UploadInfo("01CTX", "x.bin", 0, "0".repeat(64),
                "application/octet-stream", Map.of());
        return new FileContext(info, dir.resolve("in.bin"), dir.resolve("work"), out, (p, s, e) -> {
        }, () -> {
        });
    }
}
