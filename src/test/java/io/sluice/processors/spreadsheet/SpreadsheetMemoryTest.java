package io.sluice.processors.spreadsheet;

import io.sluice.processors.FileContext;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.ProcessorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Memory does not follow rows, on a real process: a child JVM with a 48 MiB heap (and
 * {@code -XX:+ExitOnOutOfMemoryError}, so running out would end it) processes a 200,000-row workbook whose sheet
 * inflates to 60 MB, scans all of a 2 GiB zip bomb when the limits let it through, and refuses the same bomb when
 * its central directory lies about its size. No heap measurement: the small heap is the assertion.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpreadsheetMemoryTest {

    @TempDir
    Path dir;

    @Test
    void largeWorkbooksAndBombsRunInASmallHeap() throws Exception {
        Path big = Sheets.inventory(dir.resolve("big.xlsx"), 200_000);
        assertThat(child(big, "big.xlsx", "{}")).contains("rows=200000");

        // With size limits loose enough to let it through, the 2 GiB sheet (33 million rows) streams through the
        // small heap until it is refused for its rows (maxRows lowered so that the run stays short on a busy
        // machine: rows are written as they are read, up to the limit).
        Path bomb = Sheets.bomb(dir.resolve("bomb.xlsx"), 2L << 30);
        String loose = "{\"maxInflateRatio\": 100000, \"maxUncompressedSize\": \"4GiB\", \"maxRows\": 100000}";
        assertThat(child(bomb, "bomb.xlsx", loose)).contains("code=too_many_rows");

        Sheets.lieAboutSize(bomb, "xl/worksheets/sheet1.xml", 1 << 20);
        assertThat(child(bomb, "bomb.xlsx", loose)).contains("code=zip_bomb", "declared size");
    }

    private String child(Path file, String name, String optionsJson) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of("-Xmx48m", "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
                Child.class.getName(), file.toString(), name, optionsJson));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(100, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the child JVM did not finish");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    /** Runs the processor once and prints its outcome. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            @SuppressWarnings("unchecked")
            Map<String, Object> options = io.sluice.api.Json.mapper().readValue(args[2], Map.class);
            ProcessorContext.UploadInfo info = new ProcessorContext.UploadInfo("01TEST", args[1], Files.size(file),
                    "0".repeat(64), Sheets.XLSX, Map.of());
            Path work = file.resolveSibling("child-work");
            try (FileContext ctx = new FileContext(info, file, work, file.resolveSibling("child.ndjson"),
                    (percent, stage, eta) -> {
                    }, () -> {
            })) {
                Map<String, Object> summary = new SpreadsheetProcessor().configure(options).run(ctx).summary();
                System.out.println("rows=" + summary.get("rows"));
            } catch (ProcessorException e) {
                System.out.println("code=" + e.code() + " " + e.getMessage());
            }
        }
    }
}
